/**
 * Responses of the client API of a node (docs/key-directory.md) that are not protocol messages
 * in their own right: what a client learns about its own account. Shared by the node, which
 * documents and produces them, and the SDK, which parses them.
 */
import { z } from 'zod';
import { AddressSchema, KeyIdSchema } from './wire.js';

/** Answer to a successful registration. */
export const RegistrationResponseSchema = z.strictObject({
  address: AddressSchema,
  /** `identityFingerprint(identityKey)`. */
  fingerprint: z.string(),
  /** The node's base URL the registration proof was bound to. */
  node: z.string(),
});
export type RegistrationResponse = z.infer<typeof RegistrationResponseSchema>;

const CurrentKeySchema = z.strictObject({
  id: KeyIdSchema,
  /** When the node accepted it (ISO 8601). */
  publishedAt: z.iso.datetime({ offset: true }),
});

/** What the owner of an account sees about it (signed `GET /api/v1/accounts/me`). */
export const AccountStatusSchema = z.strictObject({
  address: AddressSchema,
  fingerprint: z.string(),
  /** Remaining one-time X25519 prekeys. */
  oneTimePrekeys: z.int().min(0),
  /** Remaining one-time ML-KEM-768 prekeys. */
  pqOneTimePrekeys: z.int().min(0),
  /** Most one-time prekeys of each kind the node stores for one account. */
  maxOneTimePrekeys: z.int().min(0),
  signedPrekey: CurrentKeySchema.nullable(),
  pqLastResort: z.strictObject({ id: KeyIdSchema }).nullable(),
});
export type AccountStatus = z.infer<typeof AccountStatusSchema>;
