/**
 * The messages of the exchange API (docs/protocol.md, "Client exchange API" and
 * "Federation"): what a client sends its own node, what the node answers, and what one node
 * delivers to another. Shared by the node, which validates and documents them, and the SDK,
 * which builds and parses them. Objects are strict; byte strings and addresses follow
 * src/protocol/wire.ts.
 */
import { z } from 'zod';
import { parseAddress, parseDomain } from './address.js';
import { KeyPearsError } from './errors.js';
import {
  AddressSchema,
  ExchangeConfirmationSchema,
  ExchangeIdSchema,
  ExchangeInitiationSchema,
  MlKemKeyRecordSchema,
  PrekeyBundleSchema,
  PublicIdentitySchema,
  X25519KeyRecordSchema,
} from './wire.js';

/** States of an exchange (docs/protocol.md, "State machine"). */
export const EXCHANGE_STATUSES = ['pending', 'delivered', 'confirmed', 'failed', 'expired'] as const;
export type ExchangeStatus = (typeof EXCHANGE_STATUSES)[number];

/** True for the statuses an exchange never leaves: `confirmed`, `failed` and `expired`. */
export const isSettled = (status: ExchangeStatus): boolean => status !== 'pending' && status !== 'delivered';
export type ExchangeRole = 'initiator' | 'responder';

// --- Client -> own node ------------------------------------------------------------------

/** `POST /api/v1/exchanges/bundle`: claim a prekey bundle for any address, local or remote. */
export const BundleRequestSchema = z.strictObject({ address: AddressSchema });
export type BundleRequest = z.infer<typeof BundleRequestSchema>;

/**
 * `POST /api/v1/exchanges`: the initiation plus the bundle it was derived from, so that the
 * node can check the initiation before carrying it (and pass on the responder's signed
 * prekeys, see `ResponderPrekeysSchema`).
 */
export const StartExchangeRequestSchema = z.strictObject({
  initiation: ExchangeInitiationSchema,
  bundle: PrekeyBundleSchema,
});
export type StartExchangeRequest = z.infer<typeof StartExchangeRequestSchema>;

/** `POST /api/v1/exchanges/{id}/confirmation`. */
export const ConfirmExchangeRequestSchema = z.strictObject({ confirmation: ExchangeConfirmationSchema });
export type ConfirmExchangeRequest = z.infer<typeof ConfirmExchangeRequestSchema>;

/** One exchange as its local participant sees it. `id` is the exchange id, the same on both sides. */
export const ExchangeViewSchema = z.strictObject({
  id: ExchangeIdSchema,
  role: z.enum(['initiator', 'responder']),
  /** The other participant's address. */
  peer: AddressSchema,
  status: z.enum(EXCHANGE_STATUSES),
  /** True when the responder had no post-quantum one-time prekey left (last-resort key used). */
  usedLastResort: z.boolean(),
  initiation: ExchangeInitiationSchema,
  confirmation: ExchangeConfirmationSchema.nullable(),
  /** The peer's public identity as the node verified it (null for an initiator whose peer is unknown yet). */
  peerIdentity: PublicIdentitySchema.nullable(),
  failureReason: z.string().nullable(),
  createdAt: z.iso.datetime({ offset: true }),
  expiresAt: z.iso.datetime({ offset: true }),
  confirmedAt: z.iso.datetime({ offset: true }).nullable(),
});
export type ExchangeView = z.infer<typeof ExchangeViewSchema>;

/** `GET /api/v1/exchanges/inbox`: incoming exchanges not yet accepted, oldest first. */
export const InboxResponseSchema = z.strictObject({ exchanges: z.array(ExchangeViewSchema).max(1000) });
export type InboxResponse = z.infer<typeof InboxResponseSchema>;

/** The longest a long-polling request may wait, in seconds. */
export const MAX_POLL_WAIT_SECONDS = 30;

/** `wait`: whole seconds from 0 to MAX_POLL_WAIT_SECONDS, as a query parameter (no sign, no fraction). */
const WaitSecondsSchema = z
  .string()
  .regex(/^\d{1,2}$/, `wait must be a whole number of seconds from 0 to ${MAX_POLL_WAIT_SECONDS}`)
  .transform(Number)
  .refine(
    (n) => n <= MAX_POLL_WAIT_SECONDS,
    `wait must be a whole number of seconds from 0 to ${MAX_POLL_WAIT_SECONDS}`,
  );

/**
 * `GET /api/v1/exchanges/inbox?wait=S`: with `wait`, an empty inbox is answered only when an
 * exchange arrives or after S seconds (long polling).
 */
export const InboxQuerySchema = z.strictObject({ wait: WaitSecondsSchema.optional() });

/**
 * `GET /api/v1/exchanges/{id}?wait=S&status=X`: with `wait`, the answer comes when the
 * exchange's status is no longer X (without `status`: once it is `confirmed`, `failed` or
 * `expired`), or after S seconds, whichever is first.
 */
export const ExchangeQuerySchema = z.strictObject({
  wait: WaitSecondsSchema.optional(),
  status: z.enum(EXCHANGE_STATUSES).optional(),
});

/** `POST /api/v1/exchanges` and `.../confirmation` answer with the exchange's new state. */
export const ExchangeStatusResponseSchema = z.strictObject({
  id: ExchangeIdSchema,
  status: z.enum(EXCHANGE_STATUSES),
  usedLastResort: z.boolean(),
});
export type ExchangeStatusResponse = z.infer<typeof ExchangeStatusResponseSchema>;

/**
 * A block pattern: a canonical address (`alice@a.example`) or a domain (`a.example`), which
 * blocks every address of the domain.
 */
export const BlockPatternSchema = z
  .string()
  .max(320)
  .superRefine((text, ctx) => {
    try {
      const canonical = text.includes('@') ? parseAddress(text).canonical : parseDomain(text);
      if (canonical !== text) ctx.addIssue({ code: 'custom', message: `pattern must be canonical (${canonical})` });
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: e instanceof KeyPearsError ? e.message : 'invalid pattern' });
    }
  });

export const BlockRequestSchema = z.strictObject({ pattern: BlockPatternSchema });
export type BlockRequest = z.infer<typeof BlockRequestSchema>;
export const BlockListSchema = z.strictObject({ blocks: z.array(BlockPatternSchema) });
export type BlockList = z.infer<typeof BlockListSchema>;

// --- Node -> node ------------------------------------------------------------------------

/** `POST /api/v1/federation/claim`: a bundle for a local `address`, on behalf of a remote `requester`. */
export const FederationClaimRequestSchema = z.strictObject({
  requester: AddressSchema,
  address: AddressSchema,
});
export type FederationClaimRequest = z.infer<typeof FederationClaimRequestSchema>;

/**
 * The responder's signed prekeys that an initiation names by id, copied from the bundle the
 * initiator used. Each carries the responder's own signature, so the responder's node can
 * check them against the responder's identity key and recompute the transcript, even after a
 * one-time prekey was deleted at claim or the signed prekey was rotated.
 */
export const ResponderPrekeysSchema = z.strictObject({
  signedPrekey: X25519KeyRecordSchema,
  oneTimePrekey: X25519KeyRecordSchema.optional(),
  pqPrekey: MlKemKeyRecordSchema,
});
export type ResponderPrekeys = z.infer<typeof ResponderPrekeysSchema>;

/** An initiation as carried from the initiator's node to the responder's node. */
export const InitiationMessageSchema = z.strictObject({
  type: z.literal('initiation'),
  initiation: ExchangeInitiationSchema,
  /** The initiator's public identity, vouched for by the initiator's node (the origin). */
  initiatorIdentity: PublicIdentitySchema,
  responderPrekeys: ResponderPrekeysSchema,
});
export type InitiationMessage = z.infer<typeof InitiationMessageSchema>;

/** A confirmation as carried from the responder's node to the initiator's node. */
export const ConfirmationMessageSchema = z.strictObject({
  type: z.literal('confirmation'),
  confirmation: ExchangeConfirmationSchema,
});
export type ConfirmationMessage = z.infer<typeof ConfirmationMessageSchema>;

/** `POST /api/v1/federation/messages`. */
export const FederationMessageSchema = z.discriminatedUnion('type', [
  InitiationMessageSchema,
  ConfirmationMessageSchema,
]);
export type FederationMessage = z.infer<typeof FederationMessageSchema>;

/** The answer to a delivered message: what the receiving node now holds. */
export const FederationAckSchema = z.strictObject({
  exchangeId: ExchangeIdSchema,
  status: z.enum(EXCHANGE_STATUSES),
});
export type FederationAck = z.infer<typeof FederationAckSchema>;

/**
 * Most messages in one `POST /api/v1/federation/batch` (docs/protocol.md §9.5); a node that
 * announces the feature takes at least this many, and at most its `maxMessages`.
 */
export const MAX_BATCH_MESSAGES = 64;
/** Largest batch body this node takes (its body limit for every request, 512 KiB); larger is `payload_too_large`. */
export const MAX_BATCH_BYTES = 512 * 1024;

/** `POST /api/v1/federation/batch`: several messages of §9.3 in one signed request. */
export const FederationBatchSchema = z.strictObject({
  messages: z.array(FederationMessageSchema).min(1).max(MAX_BATCH_MESSAGES),
});
export type FederationBatch = z.infer<typeof FederationBatchSchema>;

/** One message's outcome in a batch: its ack, or the error it alone would have been answered with. */
export const FederationBatchResultSchema = z.union([
  FederationAckSchema,
  z.strictObject({
    error: z.strictObject({ code: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/), message: z.string().max(1000) }),
  }),
]);
export type FederationBatchResult = z.infer<typeof FederationBatchResultSchema>;

/** The answer to a batch: one result per message, in the order of the messages. */
export const FederationBatchAnswerSchema = z.strictObject({
  results: z.array(FederationBatchResultSchema).max(MAX_BATCH_MESSAGES),
});
export type FederationBatchAnswer = z.infer<typeof FederationBatchAnswerSchema>;
