/**
 * What the nodes check about the exchange messages they carry (docs/protocol.md, "What each
 * node checks"). A node never sees a secret, but it can check every signature: the initiator's
 * node checks the initiation against the bundle it was derived from, the responder's node
 * checks it against the responder's own identity and the signed prekeys it names, and the
 * initiator's node checks the responder's signature on the confirmation. Pure functions.
 */
import { equalBytes, fromB64u } from './encoding.js';
import { KeyPearsError } from './errors.js';
import { verifyInitiationSignature, type ResponderPublicKeys } from './exchange.js';
import type { ResponderPrekeys } from './exchange-api.js';
import { verifyPrekey, type PrekeyKind } from './keys.js';
import {
  decodeBundle,
  decodePublicIdentity,
  type DecodedPublicIdentity,
  type ExchangeInitiation,
  type PrekeyBundle,
  type PublicKeyRecord,
} from './wire.js';

/** The responder as their own node knows them. */
export interface LocalResponder {
  address: string;
  identityKey: Uint8Array;
  identityDhKey: Uint8Array;
}

const invalid = (message: string): never => {
  throw new KeyPearsError('invalid_exchange', message);
};

/**
 * The initiator's node, before carrying an initiation: the bundle must verify, the initiation
 * must name exactly the bundle's keys, come from `initiator` with its registered keys, and
 * carry a valid signature over the transcript. Returns the responder's signed prekeys to
 * forward and the responder's identity.
 *
 * @throws KeyPearsError `invalid_exchange` or `bad_signature`.
 */
export function checkOutgoingInitiation(
  initiation: ExchangeInitiation,
  bundle: PrekeyBundle,
  initiator: { address: string; identityKey: Uint8Array; identityDhKey: Uint8Array },
): { responderPrekeys: ResponderPrekeys; responderIdentity: DecodedPublicIdentity } {
  if (initiation.from !== initiator.address) invalid(`the initiation is from ${initiation.from}, not from you`);
  if (
    !equalBytes(fromB64u(initiation.identityKey), initiator.identityKey) ||
    !equalBytes(fromB64u(initiation.identityDhKey), initiator.identityDhKey)
  ) {
    invalid('the initiation does not carry your registered identity keys');
  }
  let decoded;
  try {
    decoded = decodeBundle(bundle, initiation.to);
  } catch (e) {
    if (e instanceof KeyPearsError && e.code === 'invalid_bundle') invalid(e.message);
    throw e;
  }
  const pq = initiation.pqPrekeyKind === 'pq-one-time' ? bundle.pqOneTimePrekey : bundle.pqLastResort;
  if (initiation.signedPrekeyId !== bundle.signedPrekey.id)
    invalid('signedPrekeyId does not name the bundle signed prekey');
  if (initiation.oneTimePrekeyId !== bundle.oneTimePrekey?.id) {
    invalid('oneTimePrekeyId does not name the bundle one-time prekey');
  }
  if (!pq || pq.id !== initiation.pqPrekeyId) return invalid('pqPrekeyId does not name the bundle post-quantum prekey');
  if (initiation.pqPrekeyKind === 'pq-last-resort' && bundle.pqOneTimePrekey) {
    invalid('the bundle has a post-quantum one-time prekey; the last-resort key must not be used');
  }
  const responderPrekeys: ResponderPrekeys = {
    signedPrekey: bundle.signedPrekey,
    ...(bundle.oneTimePrekey ? { oneTimePrekey: bundle.oneTimePrekey } : {}),
    pqPrekey: pq,
  };
  const keys: ResponderPublicKeys = {
    identityKey: decoded.identityKey,
    identityDhKey: decoded.identityDhKey.publicKey,
    signedPrekey: fromB64u(responderPrekeys.signedPrekey.publicKey),
    oneTimePrekey: responderPrekeys.oneTimePrekey && fromB64u(responderPrekeys.oneTimePrekey.publicKey),
    pqPrekey: fromB64u(responderPrekeys.pqPrekey.publicKey),
  };
  if (!verifyInitiationSignature(initiation, keys)) {
    throw new KeyPearsError('bad_signature', 'the initiation signature does not verify');
  }
  return { responderPrekeys, responderIdentity: decoded };
}

/**
 * The responder's node, before storing an initiation: the initiator's identity must verify and
 * be the one the initiation carries; every forwarded prekey must be signed by the responder's
 * identity key for the responder's address and be the one the initiation names; and the
 * initiator's signature must verify over the transcript rebuilt from those keys. Any changed
 * byte of any field fails one of these checks.
 *
 * @throws KeyPearsError `invalid_exchange` or `bad_signature`.
 */
export function checkIncomingInitiation(
  initiation: ExchangeInitiation,
  initiatorIdentity: unknown,
  responderPrekeys: ResponderPrekeys,
  responder: LocalResponder,
): DecodedPublicIdentity {
  if (initiation.to !== responder.address) invalid(`the initiation is for ${initiation.to}`);
  let identity: DecodedPublicIdentity;
  try {
    identity = decodePublicIdentity(initiatorIdentity, initiation.from);
  } catch (e) {
    if (e instanceof KeyPearsError && e.code === 'invalid_identity') invalid(`initiatorIdentity: ${e.message}`);
    throw e;
  }
  if (
    !equalBytes(fromB64u(initiation.identityKey), identity.identityKey) ||
    !equalBytes(fromB64u(initiation.identityDhKey), identity.identityDhKey.publicKey)
  ) {
    invalid(`the initiation's keys are not the published identity of ${initiation.from}`);
  }
  const check = (record: PublicKeyRecord | undefined, kind: PrekeyKind, id: number | undefined, field: string) => {
    if (record === undefined && id === undefined) return undefined;
    if (record === undefined || id === undefined || record.id !== id) {
      return invalid(`responderPrekeys.${field} is not the key the initiation names`);
    }
    const publicKey = fromB64u(record.publicKey);
    const statement = { kind, address: responder.address, keyId: record.id, publicKey };
    if (!verifyPrekey(statement, fromB64u(record.signature), responder.identityKey)) {
      throw new KeyPearsError('bad_signature', `responderPrekeys.${field} is not signed by ${responder.address}`);
    }
    return publicKey;
  };
  const signedPrekey = check(responderPrekeys.signedPrekey, 'signed-prekey', initiation.signedPrekeyId, 'signedPrekey');
  const oneTimePrekey = check(
    responderPrekeys.oneTimePrekey,
    'one-time-prekey',
    initiation.oneTimePrekeyId,
    'oneTimePrekey',
  );
  const pqPrekey = check(responderPrekeys.pqPrekey, initiation.pqPrekeyKind, initiation.pqPrekeyId, 'pqPrekey');
  const keys: ResponderPublicKeys = {
    identityKey: responder.identityKey,
    identityDhKey: responder.identityDhKey,
    signedPrekey: signedPrekey!,
    oneTimePrekey,
    pqPrekey: pqPrekey!,
  };
  if (!verifyInitiationSignature(initiation, keys)) {
    throw new KeyPearsError('bad_signature', 'the initiation signature does not verify');
  }
  return identity;
}
