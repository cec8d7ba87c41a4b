/**
 * The exchanges section of the keystore (docs/keystore.md, "exchanges"): what a client keeps
 * about each exchange it took part in. The shared secret never leaves the client; the node
 * only ever sees public messages.
 */
import { z } from 'zod';
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
  /** The 32-byte shared secret; absent once the exchange is forgotten. */
  secret?: Uint8Array;
  /** SHA-256 of the exchange transcript; absent once the exchange is forgotten. */
  transcriptHash?: Uint8Array;
  /** Unix seconds when the client forgot the exchange's secret (`keypears exchange forget`, or the retention setting). */
  forgottenAt?: number;
  /** True when the responder's last-resort post-quantum key was used (no one-time key was left). */
  usedLastResort: boolean;
  /** Unix seconds. */
  createdAt: number;
  /** Initiator only: the key of the confirmation MAC, kept until the confirmation verifies, then deleted. */
  confirmKey?: Uint8Array;
  /** Initiator only: the responder's identity key from the bundle used. */
  responderIdentityKey?: Uint8Array;
  /** Initiator only: the initiation sent (the confirmation is checked against it). */
  initiation?: ExchangeInitiation;
  /** Responder only: the confirmation, kept so that it can be sent again. */
  confirmation?: ExchangeConfirmation;
}

const b64u = z.string().max(64);

export const StoredExchangeJson = z.strictObject({
  role: z.enum(['initiator', 'responder']),
  peer: AddressSchema,
  status: z.enum(EXCHANGE_STATUSES),
  secret: b64u.optional(),
  transcriptHash: b64u.optional(),
  usedLastResort: z.boolean(),
  createdAt: z.int().min(0),
  forgottenAt: z.int().min(0).optional(),
  confirmKey: b64u.optional(),
  responderIdentityKey: b64u.optional(),
  initiation: ExchangeInitiationSchema.optional(),
  confirmation: ExchangeConfirmationSchema.optional(),
  // Written by earlier clients (the one-time secret keys a responder used); read and dropped.
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
      ...(e.secret ? { secret: toB64u(e.secret) } : {}),
      ...(e.transcriptHash ? { transcriptHash: toB64u(e.transcriptHash) } : {}),
      usedLastResort: e.usedLastResort,
      createdAt: e.createdAt,
      ...(e.forgottenAt !== undefined ? { forgottenAt: e.forgottenAt } : {}),
      ...(e.confirmKey ? { confirmKey: toB64u(e.confirmKey) } : {}),
      ...(e.responderIdentityKey ? { responderIdentityKey: toB64u(e.responderIdentityKey) } : {}),
      ...(e.initiation ? { initiation: e.initiation } : {}),
      ...(e.confirmation ? { confirmation: e.confirmation } : {}),
    };
  }
  return out;
}

/**
 * The exchanges of a keystore's contents. One-time secret keys that earlier clients kept with
 * an accepted exchange (`usedOneTimeKeys`) are dropped here, so the next write deletes them.
 *
 * @throws KeyPearsError `invalid_keystore`.
 */
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
      ...(e.secret ? { secret: bytes(e.secret, `${field}.secret`) } : {}),
      ...(e.transcriptHash ? { transcriptHash: bytes(e.transcriptHash, `${field}.transcriptHash`) } : {}),
      usedLastResort: e.usedLastResort,
      createdAt: e.createdAt,
      ...(e.forgottenAt !== undefined ? { forgottenAt: e.forgottenAt } : {}),
      ...(e.confirmKey ? { confirmKey: bytes(e.confirmKey, `${field}.confirmKey`) } : {}),
      ...(e.responderIdentityKey
        ? { responderIdentityKey: bytes(e.responderIdentityKey, `${field}.responderIdentityKey`) }
        : {}),
      ...(e.initiation ? { initiation: e.initiation } : {}),
      ...(e.confirmation ? { confirmation: e.confirmation } : {}),
    });
  }
  return map;
}
