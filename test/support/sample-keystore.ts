/** A keystore with every kind of key (a few prekeys), for the keystore format's unit tests. */
import type { AccountStatus } from '../../src/protocol/client-api.js';
import { buildPrekeyUpload, createKeystore, planTopUp } from '../../src/sdk/identity.js';
import type { Keystore } from '../../src/sdk/keystore-format.js';

/** The scrypt cost of test keystores: the format records it, so a reader takes what the file says. */
export const CHEAP_SCRYPT = { logN: 10, r: 8, p: 1 };

/** What a node reports for an account with no prekeys yet (changed by `over`). */
export const emptyAccountStatus = (over: Partial<AccountStatus> = {}): AccountStatus => ({
  address: 'alice@a.example',
  fingerprint: '',
  oneTimePrekeys: 0,
  pqOneTimePrekeys: 0,
  maxOneTimePrekeys: 1000,
  signedPrekey: null,
  pqLastResort: null,
  ...over,
});

export function sampleKeystore(now = 1_800_000_000): Keystore {
  const ks = createKeystore('alice@a.example', 'https://kp.a.example', now);
  buildPrekeyUpload(ks, planTopUp(ks, emptyAccountStatus(), 3, now), now);
  ks.registeredAt = now + 1;
  return ks;
}
