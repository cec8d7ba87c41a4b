/**
 * The headers every node-to-node request carries and signs (docs/protocol.md, "Federation
 * requests"), besides the base components of the signature profile.
 */
/** Base URL of the sending node. */
export const ORIGIN_HEADER = 'keypears-origin';
/** Base URL of the node the request is for. */
export const DESTINATION_HEADER = 'keypears-destination';
/** The domain the sending node acts for in this request; discovery of it must lead to the origin. */
export const DOMAIN_HEADER = 'keypears-domain';

/** Covered by the signature, in this order, after `@method`, `@target-uri` and `content-digest`. */
export const FEDERATION_COVERED_HEADERS = [ORIGIN_HEADER, DESTINATION_HEADER, DOMAIN_HEADER];

/** Nonces of node-to-node requests are kept apart from client nonces. */
export const FEDERATION_NONCE_SCOPE = 'federation';
