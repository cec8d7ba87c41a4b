/**
 * Errors in words a person understands, with the stable code kept beside them (for support
 * and for docs/errors.md). Anything without its own sentence shows the error's own message.
 */
import { isKeyPearsError } from '../../protocol/errors.js';

const PLAIN: Record<string, string> = {
  wrong_passphrase: 'That passphrase does not unlock this identity. Check it and try again.',
  invalid_keystore: 'This is not a KeyPears keystore, or it is damaged.',
  invalid_address: 'That is not an address. An address looks like name@example.com.',
  invalid_domain: 'That domain name is not valid.',
  invite_required:
    'This node accepts new people only with an invite. Ask its operator for an invite code and enter it.',
  invalid_invite: 'That invite code is not valid: it may be mistyped, used already, or expired.',
  registration_closed: 'This node is not accepting new people.',
  address_taken: 'Someone already has this address on this node. Choose another name.',
  domain_not_served: 'This node does not serve that domain.',
  not_found: 'Nothing was found under that address.',
  no_node_for_domain: 'No KeyPears node serves that domain.',
  discovery_unavailable: 'The node serving that domain cannot be found right now. Try again later.',
  peer_unavailable: 'The other person’s node cannot be reached right now. Try again later.',
  node_unavailable: 'Your node cannot be reached. Check your connection and try again.',
  rate_limited: 'Too many attempts in a short time. Wait a little and try again.',
  blocked: 'That person does not accept exchanges from you.',
  exchange_expired: 'This exchange has expired. Start a new one.',
  not_confirmed: 'This exchange is not confirmed yet, so its secret cannot be used.',
  exchange_forgotten: 'The secret of this exchange was forgotten: it is no longer in this browser.',
  safety_number_changed:
    'This person’s key is not the one from your first exchange with them: the safety number changed. Compare the new one with them under “Verify a contact”, and accept it there if it is theirs.',
  conflict: 'That cannot be done in this exchange’s current state.',
  invalid_bundle: 'The other person’s keys did not pass the checks. Do not continue with this address.',
  bad_signature: 'A signature did not verify. Do not continue with this address.',
  invalid_identity: 'The other person’s identity did not pass the checks. Do not continue with this address.',
  prekey_limit: 'The node holds as many keys for you as it can.',
  unauthorized: 'Your node did not recognise you. Is this identity registered here?',
  request_signature_invalid: 'Your node did not accept this identity’s signature. Is it registered here?',
  signature_expired: 'Your device’s clock seems wrong: the node refused the request as too old.',
  signature_future: 'Your device’s clock seems wrong: the node refused the request as dated in the future.',
  invalid_argument: 'That value cannot be used here.',
};

export interface Explained {
  text: string;
  code?: string;
  /** The error's own message, when the sentence shown is another one. */
  detail?: string;
}

/** The sentence to show for `error`, and its code when it has one. */
export function explain(error: unknown): Explained {
  if (isKeyPearsError(error)) {
    let text = PLAIN[error.code] ?? error.message;
    const retry = error.details?.retryAfterSeconds;
    if (error.code === 'rate_limited' && typeof retry === 'number') text += ` (about ${retry} s)`;
    return { text, code: error.code, ...(text.startsWith(error.message) ? {} : { detail: error.message }) };
  }
  return { text: error instanceof Error ? error.message : String(error) };
}
