/**
 * Creating an identity and the keys a client publishes: the registration request and prekey
 * uploads, with their secret halves recorded in the keystore. Secrets must be saved before
 * the matching upload is sent, so that the node never hands out a key the client has lost.
 */
import { parseAddress } from '../protocol/address.js';
import type { AccountStatus } from '../protocol/client-api.js';
import { ed25519Keygen, ed25519PublicKey, mlkem768Keygen, x25519Keygen, x25519PublicKey } from '../protocol/crypto.js';
import { toB64u } from '../protocol/encoding.js';
import { KeyPearsError } from '../protocol/errors.js';
import { signPrekey, signRegistration, type PrekeyKind } from '../protocol/keys.js';
import {
  MAX_PREKEYS_PER_UPLOAD,
  type PrekeyUpload,
  type PublicKeyRecord,
  type RegistrationRequest,
} from '../protocol/wire.js';
import type { Keystore, StoredKey } from './keystore.js';

/** A signed prekey older than this is replaced by `planTopUp`. */
export const SIGNED_PREKEY_ROTATION_SECONDS = 7 * 86_400;
/** Retired signed prekeys are kept this long for exchanges still in flight, then forgotten. */
export const RETIRED_SIGNED_PREKEY_RETENTION_SECONDS = 30 * 86_400;
/** The default number of one-time prekeys of each kind to keep on the node. */
export const DEFAULT_ONE_TIME_PREKEYS = 100;

/** A fresh keystore for `address` (any spelling; stored canonical), with new identity keys. */
export function createKeystore(address: string, node: string, now: number): Keystore {
  const identity = ed25519Keygen();
  return {
    address: parseAddress(address).canonical,
    node,
    createdAt: now,
    nextKeyId: 2,
    identitySecretKey: identity.secretKey,
    identityDh: { id: 1, secretKey: x25519Keygen().secretKey, createdAt: now },
    signedPrekeys: [],
    pqLastResortKeys: [],
    oneTimePrekeys: new Map(),
    pqOneTimePrekeys: new Map(),
  };
}

function record(ks: Keystore, kind: PrekeyKind, id: number, publicKey: Uint8Array): PublicKeyRecord {
  const signature = signPrekey({ kind, address: ks.address, keyId: id, publicKey }, ks.identitySecretKey);
  return { id, publicKey: toB64u(publicKey), signature: toB64u(signature) };
}

/** The registration request for the keystore's node, proven now. */
export function buildRegistration(ks: Keystore, now: number, invite?: string): RegistrationRequest {
  const identityKey = ed25519PublicKey(ks.identitySecretKey);
  const identityDhKey = x25519PublicKey(ks.identityDh.secretKey);
  const proof = signRegistration(
    { address: ks.address, nodeBaseUrl: ks.node, identityKey, identityDhKey, timestamp: now },
    ks.identitySecretKey,
  );
  return {
    address: ks.address,
    identityKey: toB64u(identityKey),
    identityDhKey: record(ks, 'identity-dh', ks.identityDh.id, identityDhKey),
    timestamp: now,
    proof: toB64u(proof),
    ...(invite !== undefined ? { invite } : {}),
  };
}

/** What one upload should contain. */
export interface UploadPlan {
  oneTimePrekeys: number;
  pqOneTimePrekeys: number;
  /** Generate a new signed prekey. */
  newSignedPrekey: boolean;
  /** Send the current signed prekey (new or because the node does not have it). */
  sendSignedPrekey: boolean;
  newPqLastResort: boolean;
  sendPqLastResort: boolean;
}

export const isEmptyPlan = (p: UploadPlan): boolean =>
  p.oneTimePrekeys === 0 && p.pqOneTimePrekeys === 0 && !p.sendSignedPrekey && !p.sendPqLastResort;

const current = (keys: StoredKey[]): StoredKey | undefined => keys[keys.length - 1];

/**
 * The next upload needed to bring the node to `target` one-time prekeys of each kind (at most
 * 100 per kind and upload: call again after each upload until the plan is empty), with a
 * current signed prekey (rotated after 7 days) and a last-resort key.
 */
export function planTopUp(ks: Keystore, status: AccountStatus, target: number, now: number): UploadPlan {
  const signed = current(ks.signedPrekeys);
  const newSignedPrekey = signed === undefined || now - signed.createdAt >= SIGNED_PREKEY_ROTATION_SECONDS;
  const lastResort = current(ks.pqLastResortKeys);
  const newPqLastResort = lastResort === undefined;
  const wanted = Math.min(target, status.maxOneTimePrekeys);
  return {
    oneTimePrekeys: Math.min(MAX_PREKEYS_PER_UPLOAD, Math.max(0, wanted - status.oneTimePrekeys)),
    pqOneTimePrekeys: Math.min(MAX_PREKEYS_PER_UPLOAD, Math.max(0, wanted - status.pqOneTimePrekeys)),
    newSignedPrekey,
    sendSignedPrekey: newSignedPrekey || status.signedPrekey?.id !== signed?.id,
    newPqLastResort,
    sendPqLastResort: newPqLastResort || status.pqLastResort?.id !== lastResort?.id,
  };
}

/**
 * Generates the keys of a plan, records their secrets in `ks` (mutated) and returns the
 * upload. Save the keystore before sending it.
 */
export function buildPrekeyUpload(ks: Keystore, plan: UploadPlan, now: number): PrekeyUpload {
  const nextId = () => {
    const id = ks.nextKeyId;
    if (id >= 0xffffffff) throw new KeyPearsError('invalid_keystore', 'prekey ids are exhausted');
    ks.nextKeyId = id + 1;
    return id;
  };
  const upload: PrekeyUpload = {};
  if (plan.newSignedPrekey) {
    const pair = x25519Keygen();
    ks.signedPrekeys.push({ id: nextId(), secretKey: pair.secretKey, createdAt: now });
    // Keep retired keys while an exchange might still name them.
    ks.signedPrekeys = ks.signedPrekeys.filter(
      (k, i, all) => i === all.length - 1 || now - all[i + 1].createdAt < RETIRED_SIGNED_PREKEY_RETENTION_SECONDS,
    );
  }
  if (plan.sendSignedPrekey || plan.newSignedPrekey) {
    const signed = current(ks.signedPrekeys)!;
    upload.signedPrekey = record(ks, 'signed-prekey', signed.id, x25519PublicKey(signed.secretKey));
  }
  if (plan.newPqLastResort) {
    ks.pqLastResortKeys.push({ id: nextId(), secretKey: mlkem768Keygen().secretKey, createdAt: now });
  }
  if (plan.sendPqLastResort || plan.newPqLastResort) {
    const lastResort = current(ks.pqLastResortKeys)!;
    upload.pqLastResort = record(ks, 'pq-last-resort', lastResort.id, mlkemPublicKey(lastResort.secretKey));
  }
  if (plan.oneTimePrekeys > 0) {
    upload.oneTimePrekeys = Array.from({ length: plan.oneTimePrekeys }, () => {
      const pair = x25519Keygen();
      const id = nextId();
      ks.oneTimePrekeys.set(id, pair.secretKey);
      return record(ks, 'one-time-prekey', id, pair.publicKey);
    });
  }
  if (plan.pqOneTimePrekeys > 0) {
    upload.pqOneTimePrekeys = Array.from({ length: plan.pqOneTimePrekeys }, () => {
      const pair = mlkem768Keygen();
      const id = nextId();
      ks.pqOneTimePrekeys.set(id, pair.secretKey);
      return record(ks, 'pq-one-time', id, pair.publicKey);
    });
  }
  return upload;
}

/**
 * The encapsulation (public) key inside an ML-KEM-768 decapsulation key: FIPS 203 lays it out
 * as dk_PKE (1152 bytes) || ek (1184) || H(ek) (32) || z (32).
 */
export function mlkemPublicKey(secretKey: Uint8Array): Uint8Array {
  return secretKey.slice(1152, 1152 + 1184);
}
