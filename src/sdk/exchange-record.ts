/**
 * The exchanges section of the keystore (docs/keystore.md, "exchanges"): what a client keeps
 * about each exchange it took part in. The shared secret never leaves the client; the node
 * only ever sees public messages.
 */
import { z } from 'zod';
import { MLKEM768_SECRET_KEY_LENGTH, X25519_KEY_LENGTH } from '../protocol/crypto.js';
import { fromB64uSized, toB64u } from '../protocol/encoding.js';
import { EXCHANGE_STATUSES, type ExchangeRole, type ExchangeStatus } from '../protocol/exchange-api.js';
import {
  AddressSchema,
  ExchangeConfirmationSchema,
  ExchangeIdSchema,
  ExchangeInitiationSchema,
  KeyIdSchema,
  type ExchangeConfirmation,
  type ExchangeInitiation,
} from '../protocol/wire.js';

export interface StoredExchange {
  /** The exchange id (the same on both sides). */
  id: string;
  role: ExchangeRole;
  /** The other participant's canonical address. */
  peer: string;
  /**
   * As this client knows it: an initiator is `confirmed` only once the confirmation MAC
   * verified here; a responder is `confirmed` once it derived the secret and sent its
   * confirmation to its node.
   */
  status: ExchangeStatus;
  /** The 32-byte shared secret. */
  secret: Uint8Array;
  /** SHA-256 of the exchange transcript. */
  transcriptHash: Uint8Array;
  /** True when the responder's last-resort post-quantum key was used (no one-time key was left). */
  usedLastResort: boolean;
  /** Unix seconds. */
  createdAt: number;
  /** Initiator only: the key of the confirmation MAC, kept until the confirmation verifies. */
  confirmKey?: Uint8Array;
  /** Initiator only: the responder's identity key from the bundle used. */
  responderIdentityKey?: Uint8Array;
  /** Initiator only: the initiation sent (the confirmation is checked against it). */
  initiation?: ExchangeInitiation;
  /** Responder only: the confirmation, kept so that it can be sent again. */
  confirmation?: ExchangeConfirmation;
  /**
   * Responder only: the one-time secret keys this exchange used. They are removed from the
   * keystore's pools, so no other exchange can use them, and kept only next to the secret they
   * produced, which they reveal nothing beyond; with them the secret can be derived again from
   * the public messages (docs/keystore.md). Forgetting the exchange forgets them.
   */
  usedOneTimeKeys?: UsedOneTimeKeys;
}

export interface UsedOneTimeKeys {
  /** X25519 one-time prekey. */
  oneTimePrekey?: { id: number; secretKey: Uint8Array };
  /** ML-KEM-768 one-time decapsulation key. */
  pqOneTimePrekey?: { id: number; secretKey: Uint8Array };
}

const b64u = z.string().max(64);

export const StoredExchangeJson = z.strictObject({
  role: z.enum(['initiator', 'responder']),
  peer: AddressSchema,
  status: z.enum(EXCHANGE_STATUSES),
  secret: b64u,
  transcriptHash: b64u,
  usedLastResort: z.boolean(),
  createdAt: z.int().min(0),
  confirmKey: b64u.optional(),
  responderIdentityKey: b64u.optional(),
  initiation: ExchangeInitiationSchema.optional(),
  confirmation: ExchangeConfirmationSchema.optional(),
  usedOneTimeKeys: z
    .strictObject({
      oneTimePrekey: z.strictObject({ id: KeyIdSchema, secretKey: b64u }).optional(),
      pqOneTimePrekey: z.strictObject({ id: KeyIdSchema, secretKey: z.string().max(4096) }).optional(),
    })
    .optional(),
});
export type StoredExchangeJson = z.infer<typeof StoredExchangeJson>;

/** Keys of the `exchanges` object: exchange ids. */
export const ExchangeIdKey = ExchangeIdSchema;

export function serializeExchanges(
  exchanges: Map<string, StoredExchange> | undefined,
): Record<string, StoredExchangeJson> {
  const out: Record<string, StoredExchangeJson> = {};
  for (const [id, e] of exchanges ?? []) {
    out[id] = {
      role: e.role,
      peer: e.peer,
      status: e.status,
      secret: toB64u(e.secret),
      transcriptHash: toB64u(e.transcriptHash),
      usedLastResort: e.usedLastResort,
      createdAt: e.createdAt,
      ...(e.confirmKey ? { confirmKey: toB64u(e.confirmKey) } : {}),
      ...(e.responderIdentityKey ? { responderIdentityKey: toB64u(e.responderIdentityKey) } : {}),
      ...(e.initiation ? { initiation: e.initiation } : {}),
      ...(e.confirmation ? { confirmation: e.confirmation } : {}),
      ...(e.usedOneTimeKeys ? { usedOneTimeKeys: encodeUsed(e.usedOneTimeKeys) } : {}),
    };
  }
  return out;
}

/** @throws KeyPearsError `invalid_keystore`. */
export function parseExchanges(json: Record<string, StoredExchangeJson> | undefined): Map<string, StoredExchange> {
  const bytes = (text: string, field: string) => fromB64uSized(text, 32, field, 'invalid_keystore');
  const map = new Map<string, StoredExchange>();
  for (const [id, e] of Object.entries(json ?? {})) {
    const field = `exchanges.${id}`;
    map.set(id, {
      id,
      role: e.role,
      peer: e.peer,
      status: e.status,
      secret: bytes(e.secret, `${field}.secret`),
      transcriptHash: bytes(e.transcriptHash, `${field}.transcriptHash`),
      usedLastResort: e.usedLastResort,
      createdAt: e.createdAt,
      ...(e.confirmKey ? { confirmKey: bytes(e.confirmKey, `${field}.confirmKey`) } : {}),
      ...(e.responderIdentityKey
        ? { responderIdentityKey: bytes(e.responderIdentityKey, `${field}.responderIdentityKey`) }
        : {}),
      ...(e.initiation ? { initiation: e.initiation } : {}),
      ...(e.confirmation ? { confirmation: e.confirmation } : {}),
      ...(e.usedOneTimeKeys ? { usedOneTimeKeys: decodeUsed(e.usedOneTimeKeys, `${field}.usedOneTimeKeys`) } : {}),
    });
  }
  return map;
}

function encodeUsed(used: UsedOneTimeKeys): NonNullable<StoredExchangeJson['usedOneTimeKeys']> {
  const key = (k: { id: number; secretKey: Uint8Array }) => ({ id: k.id, secretKey: toB64u(k.secretKey) });
  return {
    ...(used.oneTimePrekey ? { oneTimePrekey: key(used.oneTimePrekey) } : {}),
    ...(used.pqOneTimePrekey ? { pqOneTimePrekey: key(used.pqOneTimePrekey) } : {}),
  };
}

function decodeUsed(json: NonNullable<StoredExchangeJson['usedOneTimeKeys']>, field: string): UsedOneTimeKeys {
  const sized = (text: string, length: number, name: string) => fromB64uSized(text, length, name, 'invalid_keystore');
  return {
    ...(json.oneTimePrekey
      ? {
          oneTimePrekey: {
            id: json.oneTimePrekey.id,
            secretKey: sized(json.oneTimePrekey.secretKey, X25519_KEY_LENGTH, `${field}.oneTimePrekey`),
          },
        }
      : {}),
    ...(json.pqOneTimePrekey
      ? {
          pqOneTimePrekey: {
            id: json.pqOneTimePrekey.id,
            secretKey: sized(json.pqOneTimePrekey.secretKey, MLKEM768_SECRET_KEY_LENGTH, `${field}.pqOneTimePrekey`),
          },
        }
      : {}),
  };
}
