/**
 * A user of another node, as that node would publish them: a keystore, the public identity and
 * the prekey bundles their node would serve, built with the SDK and protocol functions a node
 * and a client use. For tests of the checks a node makes on what other nodes send it.
 */
import { fromB64u } from '../../src/protocol/encoding.js';
import { initiateExchange, type InitiatorKeys } from '../../src/protocol/exchange.js';
import type { InitiationMessage } from '../../src/protocol/exchange-api.js';
import { identityFingerprint } from '../../src/protocol/fingerprint.js';
import { decodeBundle, type PrekeyBundle, type PublicIdentity, type PublicKeyRecord } from '../../src/protocol/wire.js';
import { buildPrekeyUpload, buildRegistration, createKeystore } from '../../src/sdk/identity.js';
import type { Keystore } from '../../src/sdk/keystore.js';

export interface RemoteUser {
  ks: Keystore;
  identity: PublicIdentity;
  /** The next bundle the user's node would hand out: one-time prekeys until they run out, then the last-resort keys. */
  bundle(): PrekeyBundle;
}

export function remoteUser(address: string, nodeUrl: string, now: number, prekeys = 1): RemoteUser {
  const ks = createKeystore(address, nodeUrl, now);
  return publishedAs(ks, now, prekeys);
}

/** The identity and bundles of `ks` (a fresh keystore, or a copy with some keys replaced). */
export function publishedAs(ks: Keystore, now: number, prekeys = 1): RemoteUser {
  const registration = buildRegistration(ks, now);
  const upload = buildPrekeyUpload(
    ks,
    {
      oneTimePrekeys: prekeys,
      pqOneTimePrekeys: prekeys,
      newSignedPrekey: true,
      sendSignedPrekey: true,
      newPqLastResort: true,
      sendPqLastResort: true,
    },
    now,
  );
  const identity: PublicIdentity = {
    address: ks.address,
    identityKey: registration.identityKey,
    identityDhKey: registration.identityDhKey,
    signedPrekey: upload.signedPrekey!,
    pqLastResort: upload.pqLastResort!,
    fingerprint: identityFingerprint(fromB64u(registration.identityKey)),
  };
  const oneTime: PublicKeyRecord[] = [...(upload.oneTimePrekeys ?? [])];
  const pqOneTime: PublicKeyRecord[] = [...(upload.pqOneTimePrekeys ?? [])];
  return {
    ks,
    identity,
    bundle() {
      const oneTimePrekey = oneTime.shift();
      const pqOneTimePrekey = pqOneTime.shift();
      return {
        ...identity,
        ...(oneTimePrekey ? { oneTimePrekey } : {}),
        ...(pqOneTimePrekey ? { pqOneTimePrekey } : {}),
        usedLastResort: pqOneTimePrekey === undefined,
      };
    },
  };
}

/** The keys `initiateExchange` needs of the keystore's owner. */
export const initiatorKeys = (ks: Keystore): InitiatorKeys => ({
  address: ks.address,
  identitySecretKey: ks.identitySecretKey,
  identityDhSecretKey: ks.identityDh.secretKey,
});

/**
 * The initiation message `from` would have its node deliver for an exchange derived from
 * `bundle` (the recipient's), created at `createdAt`, with `initiatorIdentity` as its node
 * publishes it; `exchangeId` is random unless given.
 */
export function initiationMessage(
  from: { ks: Keystore; identity: PublicIdentity },
  bundle: PrekeyBundle,
  createdAt: number,
  exchangeId?: string,
): { message: InitiationMessage; secret: Uint8Array } {
  const { initiation, secret } = initiateExchange({
    self: initiatorKeys(from.ks),
    peerBundle: decodeBundle(bundle, bundle.address),
    createdAt,
    exchangeId,
  });
  const pqPrekey = initiation.pqPrekeyKind === 'pq-one-time' ? bundle.pqOneTimePrekey! : bundle.pqLastResort;
  return {
    message: {
      type: 'initiation',
      initiation,
      initiatorIdentity: from.identity,
      responderPrekeys: {
        signedPrekey: bundle.signedPrekey,
        ...(bundle.oneTimePrekey ? { oneTimePrekey: bundle.oneTimePrekey } : {}),
        pqPrekey,
      },
    },
    secret,
  };
}
