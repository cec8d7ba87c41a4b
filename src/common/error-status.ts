import type { ApiErrorCode, ErrorCode } from '../protocol/errors.js';

/**
 * The HTTP status of every error code the node can answer with (docs/errors.md, whose table
 * a spec keeps in step with this one). Typed over the closed set of API codes: a code without
 * a status, or a status for a code that does not exist, does not compile.
 */
export const ERROR_STATUS: Readonly<Record<ApiErrorCode, number>> = {
  // 400: the request itself is wrong
  invalid_request: 400,
  invalid_json: 400,
  invalid_address: 400,
  invalid_domain: 400,
  // 401: who is asking could not be established
  unauthorized: 401,
  signature_missing: 401,
  signature_malformed: 401,
  signature_expired: 401,
  signature_future: 401,
  digest_mismatch: 401,
  unknown_key: 401,
  request_signature_invalid: 401,
  replayed_request: 401,
  // 403: known, but not allowed
  forbidden: 403,
  registration_closed: 403,
  invite_required: 403,
  invalid_invite: 403,
  domain_not_served: 403,
  wrong_destination: 403,
  origin_not_authorized: 403,
  blocked: 403,
  // 404
  not_found: 404,
  no_node_for_domain: 404,
  // 405
  method_not_allowed: 405,
  // 408: the request did not arrive in time (KEYPEARS_REQUEST_TIMEOUT_MS)
  request_timeout: 408,
  // 409
  address_taken: 409,
  prekey_limit: 409,
  conflict: 409,
  // 413 / 415
  payload_too_large: 413,
  unsupported_media_type: 415,
  // 431
  headers_too_large: 431,
  // 422: well-formed, but the cryptography does not hold
  bad_signature: 422,
  invalid_key: 422,
  invalid_exchange: 422,
  exchange_expired: 422,
  proof_expired: 422,
  // 429
  rate_limited: 429,
  too_many_pending: 429,
  // 502 / 503 / 504: something we depend on
  peer_error: 502,
  destination_forbidden: 502,
  // discovery and outbound fetches (docs/discovery.md): the remote side is misconfigured
  insecure_scheme: 502,
  redirect_refused: 502,
  response_too_large: 502,
  invalid_response: 502,
  invalid_node_url: 502,
  discovery_record_invalid: 502,
  discovery_record_ambiguous: 502,
  discovery_conflict: 502,
  well_known_invalid: 502,
  node_document_invalid: 502,
  domain_not_listed: 502,
  invalid_bundle: 502,
  invalid_identity: 502,
  // key transparency (docs/transparency.md): a peer's answer is not proven by its log
  kt_proof_missing: 502,
  kt_proof_invalid: 502,
  kt_log_inconsistent: 502,
  kt_stale: 502,
  kt_log_reset: 502,
  kt_entry_mismatch: 500,
  fetch_failed: 503,
  fetch_timeout: 504,
  database_unavailable: 503,
  discovery_unavailable: 503,
  peer_unavailable: 503,
  shutting_down: 503,
  // 500
  internal_error: 500,
};

/** The status of an API code; undefined for a local code (which must not reach the boundary). */
export const statusForCode = (code: ErrorCode): number | undefined =>
  (ERROR_STATUS as Readonly<Partial<Record<ErrorCode, number>>>)[code];
