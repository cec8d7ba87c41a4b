import { describe, expect, it } from '@jest/globals';
import { mlkem768Keygen } from '../protocol/crypto.js';
import { equalBytes } from '../protocol/encoding.js';
import { decodePrekeyUpload, decodeRegistrationRequest } from '../protocol/wire.js';
import {
  buildPrekeyUpload,
  buildRegistration,
  createKeystore,
  isEmptyPlan,
  mlkemPublicKey,
  planTopUp,
  SIGNED_PREKEY_ROTATION_SECONDS,
} from './identity.js';
import { emptyAccountStatus } from '../../test/support/sample-keystore.js';
import { identityPublicKey } from './keystore.js';

const NOW = 1_800_000_000;
const NODE = 'https://kp.a.example';

const status = emptyAccountStatus;

describe('mlkemPublicKey', () => {
  it('finds the encapsulation key inside a decapsulation key', () => {
    const pair = mlkem768Keygen();
    expect(equalBytes(mlkemPublicKey(pair.secretKey), pair.publicKey)).toBe(true);
  });
});

describe('buildRegistration', () => {
  it('makes a request the node accepts for its own URL only', () => {
    const ks = createKeystore('Alice@A.Example', NODE, NOW);
    expect(ks.address).toBe('alice@a.example');
    const request = buildRegistration(ks, NOW, 'invite-token');
    const decoded = decodeRegistrationRequest(request, NODE);
    expect(equalBytes(decoded.identityKey, identityPublicKey(ks))).toBe(true);
    expect(decoded.invite).toBe('invite-token');
    expect(() => decodeRegistrationRequest(request, 'https://other.example')).toThrow(/proof/);
  });
});

describe('planTopUp and buildPrekeyUpload', () => {
  it('first publishes a signed prekey, a last-resort key and up to 100 one-time keys of each kind', () => {
    const ks = createKeystore('alice@a.example', NODE, NOW);
    const plan = planTopUp(ks, status(), 150, NOW);
    expect(plan).toMatchObject({
      oneTimePrekeys: 100,
      pqOneTimePrekeys: 100,
      newSignedPrekey: true,
      newPqLastResort: true,
    });
    const upload = buildPrekeyUpload(ks, plan, NOW);
    const decoded = decodePrekeyUpload(upload, ks.address, identityPublicKey(ks));
    expect(decoded.oneTimePrekeys).toHaveLength(100);
    expect(decoded.pqOneTimePrekeys).toHaveLength(100);
    expect(ks.oneTimePrekeys.size).toBe(100);
    expect(ks.pqOneTimePrekeys.size).toBe(100);
    const ids = [decoded.signedPrekey!.id, decoded.pqLastResort!.id, ...decoded.oneTimePrekeys.map((k) => k.id)];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('does nothing when the node is up to date, and rotates the signed prekey after 7 days', () => {
    const ks = createKeystore('alice@a.example', NODE, NOW);
    buildPrekeyUpload(ks, planTopUp(ks, status(), 10, NOW), NOW);
    const upToDate = status({
      oneTimePrekeys: 10,
      pqOneTimePrekeys: 10,
      signedPrekey: { id: ks.signedPrekeys[0].id, publishedAt: new Date(NOW * 1000).toISOString() },
      pqLastResort: { id: ks.pqLastResortKeys[0].id },
    });
    expect(isEmptyPlan(planTopUp(ks, upToDate, 10, NOW + 60))).toBe(true);
    const later = planTopUp(ks, upToDate, 10, NOW + SIGNED_PREKEY_ROTATION_SECONDS);
    expect(later).toMatchObject({
      newSignedPrekey: true,
      oneTimePrekeys: 0,
      newPqLastResort: false,
      sendPqLastResort: false,
    });
    buildPrekeyUpload(ks, later, NOW + SIGNED_PREKEY_ROTATION_SECONDS);
    // The retired key stays for exchanges in flight.
    expect(ks.signedPrekeys).toHaveLength(2);
  });

  it('re-sends the current signed prekey when the node lacks it', () => {
    const ks = createKeystore('alice@a.example', NODE, NOW);
    buildPrekeyUpload(ks, planTopUp(ks, status(), 0, NOW), NOW);
    const plan = planTopUp(ks, status({ pqLastResort: { id: ks.pqLastResortKeys[0].id } }), 0, NOW);
    expect(plan).toMatchObject({ newSignedPrekey: false, sendSignedPrekey: true, sendPqLastResort: false });
  });
});
