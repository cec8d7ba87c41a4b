/** Paths of the federation API (docs/protocol.md, "Federation"). */
export const FEDERATION_CLAIM_PATH = '/api/v1/federation/claim';
export const FEDERATION_MESSAGES_PATH = '/api/v1/federation/messages';
export const FEDERATION_BATCH_PATH = '/api/v1/federation/batch';
