/**
 * The one error type of the project and the closed set of its codes. Every failure that
 * reaches a user carries a stable snake_case `code` (part of the public API, docs/errors.md)
 * and a human message; a code outside the set does not compile. The HTTP layer maps codes to
 * statuses in one place (src/common/error-status.ts), which must name every API code.
 */

/**
 * The codes a node answers with over HTTP: each has a status in src/common/error-status.ts
 * and a row in the table of docs/errors.md. The protocol core, the SDK and the CLI raise
 * them too (an invalid address is `invalid_address` wherever it is found).
 */
export const API_ERROR_CODES = [
  'invalid_request',
  'invalid_json',
  'invalid_address',
  'invalid_domain',
  'unauthorized',
  'signature_missing',
  'signature_malformed',
  'signature_expired',
  'signature_future',
  'digest_mismatch',
  'unknown_key',
  'request_signature_invalid',
  'replayed_request',
  'forbidden',
  'registration_closed',
  'invite_required',
  'invalid_invite',
  'domain_not_served',
  'wrong_destination',
  'origin_not_authorized',
  'blocked',
  'not_found',
  'no_node_for_domain',
  'method_not_allowed',
  'request_timeout',
  'address_taken',
  'prekey_limit',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'headers_too_large',
  'bad_signature',
  'invalid_key',
  'invalid_exchange',
  'exchange_expired',
  'proof_expired',
  'rate_limited',
  'too_many_pending',
  'peer_error',
  'destination_forbidden',
  'insecure_scheme',
  'redirect_refused',
  'response_too_large',
  'invalid_response',
  'invalid_node_url',
  'discovery_record_invalid',
  'discovery_record_ambiguous',
  'discovery_conflict',
  'well_known_invalid',
  'node_document_invalid',
  'domain_not_listed',
  'invalid_bundle',
  'invalid_identity',
  // key transparency (docs/transparency.md): a peer's answer is not proven by its log
  'kt_proof_missing',
  'kt_proof_invalid',
  'kt_log_inconsistent',
  'kt_stale',
  'kt_log_reset',
  // the node's own check: an account row no longer matches its log entry
  'kt_entry_mismatch',
  'fetch_failed',
  'fetch_timeout',
  'database_unavailable',
  'discovery_unavailable',
  'peer_unavailable',
  'shutting_down',
  'internal_error',
] as const;

/**
 * The codes that never leave the program that raised them: the CLI's and the SDK's own
 * failures, and the node's start-up and tooling failures (docs/errors.md, second table). A
 * node that meets one of these at its error boundary has a bug: it answers 500 and logs it.
 */
export const LOCAL_ERROR_CODES = [
  // A caller passed an argument the function cannot work with (a bug, or a CLI option).
  'invalid_argument',
  // Configuration and the node's own database (start-up, `npm run admin`, `npm run db:migrate`).
  'invalid_config',
  'data_dir_in_use',
  'migration_modified',
  'migration_failed',
  'database_unreachable',
  'database_missing',
  'listen_failed',
  'public_url_mismatch',
  // The client side: the keystore, the user's node, the CLI's commands.
  'no_keystore',
  'invalid_keystore',
  'insecure_keystore',
  'keystore_exists',
  'passphrase_required',
  'wrong_passphrase',
  'not_registered',
  'not_confirmed',
  'exchange_forgotten',
  'safety_number_changed',
  'insecure_node_url',
  'node_unavailable',
  // Key transparency on the client: a contact's key moved in its log, or the owner's own label
  // has an entry this device did not make (docs/transparency.md §8.1, §8.2).
  'kt_key_changed',
  'kt_foreign_entry',
] as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[number];
export type LocalErrorCode = (typeof LOCAL_ERROR_CODES)[number];
/** Every code a KeyPearsError may carry. */
export type ErrorCode = ApiErrorCode | LocalErrorCode;

const API_CODES: ReadonlySet<string> = new Set(API_ERROR_CODES);

/**
 * Whether `value` is one of the codes a node answers with. For codes read off the wire (a
 * peer's or a node's error answer) or out of storage: they are untrusted input and become a
 * code of ours only through this check; anything else stays data (`details.peerCode`).
 */
export const isApiErrorCode = (value: unknown): value is ApiErrorCode =>
  typeof value === 'string' && API_CODES.has(value);

export class KeyPearsError extends Error {
  override readonly name = 'KeyPearsError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra, non-secret facts for the client (e.g. `retryAfterSeconds`, a peer's `peerCode`). */
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

export const isKeyPearsError = (e: unknown): e is KeyPearsError => e instanceof KeyPearsError;

/** The JSON shape of every error answer (docs/errors.md). */
export interface ErrorBody {
  error: { code: string; message: string; retryAfterSeconds?: number };
}

export const errorBody = (code: ErrorCode, message: string, retryAfterSeconds?: number): ErrorBody => ({
  error: retryAfterSeconds === undefined ? { code, message } : { code, message, retryAfterSeconds },
});

/** Longest message kept from another program's error answer. */
const MAX_FOREIGN_MESSAGE = 300;

/**
 * Reads another node's error answer: its code when the body has the documented shape (still
 * untrusted: see `isApiErrorCode`) and its message, cut short and with control and format
 * characters replaced, so it can go into a log line or onto a terminal.
 *
 * @returns undefined when the body is not an error answer.
 */
export function readErrorBody(json: unknown): { code: string; message: string } | undefined {
  const error = (json as { error?: { code?: unknown; message?: unknown } } | null | undefined)?.error;
  if (typeof error?.code !== 'string' || !/^[a-z0-9_]{1,64}$/.test(error.code)) return undefined;
  const message = typeof error.message === 'string' ? error.message.slice(0, MAX_FOREIGN_MESSAGE) : '';
  return { code: error.code, message: message.replace(/[\p{Cc}\p{Cf}]/gu, '?') };
}
