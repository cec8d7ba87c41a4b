/**
 * The exchange from a client's side (docs/protocol.md, "The exchange"): start, accept,
 * follow, read and forget the secret. The client talks only to its own node. Every secret is
 * written to the keystore before the message that depends on it leaves, and the one-time
 * secret keys an accepted exchange used are deleted from the keystore in the same write that
 * records the secret, so nothing is lost on a crash, nothing is used twice, and a later copy
 * of the keystore cannot derive the secret again once it is forgotten (docs/keystore.md).
 */
import { parseAddress } from '../protocol/address.js';
import { loadFastMlkem768 } from '../protocol/crypto.js';
import { toHex } from '../protocol/encoding.js';
import { KeyPearsError } from '../protocol/errors.js';
import {
  acceptExchange as acceptDerivation,
  initiateExchange,
  verifyConfirmation,
  type ResponderKeys,
} from '../protocol/exchange.js';
import { isSettled, type ExchangeStatus, type ExchangeView } from '../protocol/exchange-api.js';
import { decodePublicIdentity } from '../protocol/wire.js';
import type { NodeClient } from './client.js';
import { checkContactKey, pinContact } from './contacts.js';
import { nowOf, type UserContext } from './context.js';
import type { StoredExchange } from './exchange-record.js';
import type { Keystore } from './keystore.js';
import { knownSize, readTransparency, verifyIdentityForClient, writeTransparency } from './transparency.js';

export interface ExchangeSummary {
  id: string;
  status: ExchangeStatus;
  peer: string;
  role: StoredExchange['role'];
  usedLastResort: boolean;
  /** Why the exchange failed, when it did. */
  failureReason?: string;
}

function exchangesOf(ks: Keystore): Map<string, StoredExchange> {
  ks.exchanges ??= new Map();
  return ks.exchanges;
}

const summary = (e: StoredExchange, failureReason?: string): ExchangeSummary => ({
  id: e.id,
  status: e.status,
  peer: e.peer,
  role: e.role,
  usedLastResort: e.usedLastResort,
  ...(failureReason ? { failureReason } : {}),
});

/**
 * Starts an exchange with `address`: claims a bundle through the user's node, verifies it,
 * derives the secret, records it, and hands the signed initiation to the node.
 *
 * @throws KeyPearsError from the node (`not_found`, `rate_limited`, `blocked`, ...) or from
 *   the bundle checks (`invalid_bundle`, `bad_signature`, `invalid_key`).
 */
export async function startExchange(
  ctx: UserContext,
  address: string,
  /** Verify the bundle in its node's log (docs/transparency.md §8.1); `nodeUrlOf` discovers the node of a domain. */
  kt?: { nodeUrlOf: (domain: string) => Promise<string> },
): Promise<ExchangeSummary> {
  const { ks, client } = ctx;
  const [{ bundle, decoded }] = await Promise.all([
    kt ? verifiedBundle(ctx, address, kt.nodeUrlOf) : client.exchangeBundle(address),
    loadFastMlkem768(),
  ]);
  await checkPinned(ctx, decoded.address, decoded.identityKey);
  const started = initiateExchange({
    self: {
      address: ks.address,
      identitySecretKey: ks.identitySecretKey,
      identityDhSecretKey: ks.identityDh.secretKey,
    },
    peerBundle: decoded,
    createdAt: nowOf(ctx),
  });
  const { initiation } = started;
  const record: StoredExchange = {
    id: initiation.exchangeId,
    role: 'initiator',
    peer: initiation.to,
    status: 'pending',
    secret: started.secret,
    transcriptHash: started.transcriptHash,
    usedLastResort: initiation.pqPrekeyKind === 'pq-last-resort',
    createdAt: initiation.createdAt,
    confirmKey: started.confirmKey,
    responderIdentityKey: decoded.identityKey,
    initiation,
  };
  exchangesOf(ks).set(record.id, record);
  await ctx.save(ks);
  const answer = await client.startExchange({ initiation, bundle });
  record.status = answer.status;
  await ctx.save(ks);
  return summary(record);
}

/**
 * A bundle claimed through the user's node and verified here against the serving node's log
 * (docs/transparency.md §8.1): the client discovers that node itself, so its own node's relay
 * is checked, not trusted. The keystore is saved either way (pins, or the evidence).
 */
async function verifiedBundle(ctx: UserContext, address: string, nodeUrlOf: (domain: string) => Promise<string>) {
  const { ks, client } = ctx;
  const { canonical, domain } = parseAddress(address);
  const state = readTransparency(ks);
  const nodeUrl = await nodeUrlOf(domain);
  const claimed = await client.exchangeBundle(canonical, { ktKnown: knownSize(state, domain) });
  try {
    verifyIdentityForClient(state, {
      address: canonical,
      domain,
      nodeUrl,
      identity: { identityKey: claimed.decoded.identityKey, identityDhKey: claimed.decoded.identityDhKey },
      member: claimed.transparency,
      now: nowOf(ctx),
    });
  } finally {
    writeTransparency(ks, state);
    await ctx.save(ks);
  }
  return claimed;
}

/**
 * Accepts an incoming exchange: verifies the initiation against the initiator's identity and
 * this user's own keys, derives the secret, deletes the one-time secret keys it used, records
 * the secret, then sends the key confirmation through the node. Running it again for an
 * exchange already accepted re-sends the same confirmation (after a failed send).
 *
 * @throws KeyPearsError `not_found`, `conflict` (not an incoming exchange waiting for an
 *   answer), `invalid_exchange`, `bad_signature`, `exchange_expired`.
 */
export async function acceptExchange(ctx: UserContext, id: string): Promise<ExchangeSummary> {
  const { ks, client } = ctx;
  await loadFastMlkem768();
  const known = exchangesOf(ks).get(id);
  if (known) {
    if (known.role !== 'responder' || !known.confirmation) {
      throw new KeyPearsError('conflict', `exchange ${id} is not an incoming exchange`);
    }
    if (known.status !== 'confirmed') {
      const answer = await client.confirmExchange(id, known.confirmation);
      known.status = answer.status;
      await ctx.save(ks);
    }
    return summary(known);
  }
  const view = await client.getExchange(id);
  if (view.role !== 'responder') throw new KeyPearsError('conflict', `exchange ${id} was started by you`);
  if (view.status !== 'delivered') {
    throw new KeyPearsError('conflict', `exchange ${id} is ${view.status}, not waiting for an answer`);
  }
  if (!view.peerIdentity) throw new KeyPearsError('invalid_response', 'the node sent no identity for the initiator');
  const initiatorIdentity = decodePublicIdentity(view.peerIdentity, view.peer);
  await checkPinned(ctx, view.peer, initiatorIdentity.identityKey);
  const accepted = acceptDerivation({
    self: responderKeys(ks),
    initiation: view.initiation,
    initiatorIdentity,
    now: nowOf(ctx),
  });
  const { initiation } = view;
  // The one-time secrets are deleted now: the secret they produced is all that is kept.
  if (initiation.oneTimePrekeyId !== undefined) ks.oneTimePrekeys.delete(initiation.oneTimePrekeyId);
  if (initiation.pqPrekeyKind === 'pq-one-time') ks.pqOneTimePrekeys.delete(initiation.pqPrekeyId);
  const record: StoredExchange = {
    id,
    role: 'responder',
    peer: view.peer,
    status: 'delivered',
    secret: accepted.secret,
    transcriptHash: accepted.transcriptHash,
    usedLastResort: initiation.pqPrekeyKind === 'pq-last-resort',
    createdAt: initiation.createdAt,
    confirmation: accepted.confirmation,
  };
  exchangesOf(ks).set(id, record);
  await ctx.save(ks);
  const answer = await client.confirmExchange(id, accepted.confirmation);
  record.status = answer.status;
  if (record.status === 'confirmed') pinContact(ks, view.peer, initiatorIdentity.identityKey, nowOf(ctx));
  await ctx.save(ks);
  return summary(record);
}

/**
 * Refuses a peer whose identity key is not the one pinned for it, recording the key met so
 * that the user can accept it (`safety_number_changed`, src/sdk/contacts.ts).
 */
async function checkPinned(ctx: UserContext, address: string, identityKey: Uint8Array): Promise<void> {
  try {
    checkContactKey(ctx.ks, address, identityKey, nowOf(ctx));
  } catch (e) {
    await ctx.save(ctx.ks);
    throw e;
  }
}

/**
 * The exchange's current status, from the node, checked here: an initiator's exchange
 * becomes `confirmed` only when the confirmation's MAC verifies with the locally derived key
 * (a MAC that does not verify makes it `failed`: the two sides hold different keys).
 */
export async function refreshExchange(
  ctx: UserContext,
  id: string,
  wait: { waitSeconds?: number; status?: ExchangeStatus } = {},
): Promise<ExchangeSummary> {
  const { ks, client } = ctx;
  const record = exchangesOf(ks).get(id);
  let view: ExchangeView;
  try {
    view = await client.getExchange(id, wait);
  } catch (e) {
    if (record && e instanceof KeyPearsError && e.code === 'not_found') return summary(record);
    throw e;
  }
  if (!record) {
    return { id, status: view.status, peer: view.peer, role: view.role, usedLastResort: view.usedLastResort };
  }
  const settled = record.status === 'failed' || (record.status === 'confirmed' && view.status !== 'failed');
  // A forgotten exchange has nothing left to check a confirmation with.
  if (settled || record.forgottenAt !== undefined) return summary(record, view.failureReason ?? undefined);
  let next: ExchangeStatus = view.status;
  let reason = view.failureReason ?? undefined;
  if (record.role === 'initiator' && view.status === 'confirmed') {
    try {
      verifyConfirmation({
        confirmation: view.confirmation,
        initiation: record.initiation!,
        responderIdentityKey: record.responderIdentityKey!,
        confirmKey: record.confirmKey!,
        transcriptHash: record.transcriptHash!,
      });
      // Its only use is over: the MAC key goes. The first completed exchange pins the peer's key.
      delete record.confirmKey;
      pinContact(ks, record.peer, record.responderIdentityKey!, nowOf(ctx));
    } catch (e) {
      next = 'failed';
      reason = `the confirmation does not verify: ${(e as Error).message}`;
    }
  }
  if (next !== record.status) {
    record.status = next;
    await ctx.save(ks);
  }
  return summary(record, reason);
}

export interface WaitOptions {
  timeoutMs: number;
  /**
   * The longest one request may wait at the node for a change (long polling); default 10 s,
   * so that `onProgress` is called at least that often.
   */
  pollSeconds?: number;
  /** The least time between two requests when a node answers without a change; default 500 ms. */
  intervalMs?: number;
  /** Called after every check (for a progress indicator). */
  onProgress?: (status: ExchangeSummary, elapsedMs: number) => void;
}

/**
 * Follows an exchange until it is confirmed, failed or expired, or until the timeout. Each
 * request waits at the node until the status changes (long polling); a node that answers at
 * once is asked again no sooner than `intervalMs` later.
 */
export async function waitForExchange(ctx: UserContext, id: string, options: WaitOptions): Promise<ExchangeSummary> {
  const started = Date.now();
  let known: ExchangeStatus | undefined;
  for (;;) {
    const asked = Date.now();
    // The first request reads the status; every later one waits for it to change.
    const waitSeconds =
      known === undefined
        ? 0
        : Math.min(options.pollSeconds ?? 10, Math.floor((options.timeoutMs - (asked - started)) / 1000));
    const current = await refreshExchange(ctx, id, { waitSeconds, status: known });
    const elapsed = Date.now() - started;
    options.onProgress?.(current, elapsed);
    if (isSettled(current.status) || elapsed >= options.timeoutMs) return current;
    const unchanged = current.status === known;
    known = current.status;
    if (unchanged) await pauseAfter(asked, options.intervalMs, started + options.timeoutMs);
  }
}

/**
 * Incoming exchanges waiting for an answer; when there are none, waits up to `timeoutMs` for
 * one to arrive, each request held by the node until one does (long polling). A node that
 * answers at once is asked again no sooner than `intervalMs` (default 500 ms) later.
 */
export async function waitForInbox(
  client: NodeClient,
  options: { timeoutMs: number; intervalMs?: number; beforeEachRound?: () => Promise<void> },
): Promise<ExchangeView[]> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    await options.beforeEachRound?.();
    const asked = Date.now();
    const { exchanges } = await client.inbox({ waitSeconds: Math.floor((deadline - asked) / 1000) });
    if (exchanges.length > 0 || Date.now() >= deadline - 1000) return exchanges;
    await pauseAfter(asked, options.intervalMs, deadline);
  }
}

/** Sleeps out what is left of `intervalMs` (default 500) since `askedAt`, never past `deadline`. */
async function pauseAfter(askedAt: number, intervalMs = 500, deadline: number): Promise<void> {
  const pause = Math.min(intervalMs - (Date.now() - askedAt), deadline - Date.now());
  if (pause > 0) await new Promise((r) => setTimeout(r, pause));
}

/**
 * The 32-byte secret of a confirmed exchange, as 64 lower-case hex characters.
 *
 * @throws KeyPearsError `not_found` (not in this keystore) or `not_confirmed`.
 */
export function exchangeSecret(ks: Keystore, id: string): string {
  const record = exchangesOf(ks).get(id);
  if (!record) throw new KeyPearsError('not_found', `no exchange ${id} in this keystore`);
  if (record.forgottenAt !== undefined || !record.secret) {
    throw new KeyPearsError('exchange_forgotten', `the secret of exchange ${id} with ${record.peer} was forgotten`, {
      forgottenAt: record.forgottenAt ?? null,
    });
  }
  if (record.status !== 'confirmed') {
    throw new KeyPearsError('not_confirmed', `exchange ${id} is ${record.status}; its key is not confirmed yet`);
  }
  return toHex(record.secret);
}

/**
 * Forgets an exchange's secret: deletes the secret, the transcript hash, the confirmation MAC
 * key and the messages, keeping only who, when and how it ended (so that a later question
 * about it gets `exchange_forgotten`, not `not_found`). Returns whether anything was deleted.
 * The caller saves the keystore.
 *
 * @throws KeyPearsError `not_found`.
 */
export function forgetExchange(ks: Keystore, id: string, now: number): boolean {
  const record = exchangesOf(ks).get(id);
  if (!record) throw new KeyPearsError('not_found', `no exchange ${id} in this keystore`);
  if (record.forgottenAt !== undefined) return false;
  exchangesOf(ks).set(id, {
    id,
    role: record.role,
    peer: record.peer,
    status: record.status,
    usedLastResort: record.usedLastResort,
    createdAt: record.createdAt,
    forgottenAt: now,
  });
  return true;
}

/**
 * The retention setting (`settings.forgetAfterDays`): forgets every confirmed exchange created
 * that many days before `now` or earlier. Returns the ids forgotten; the caller saves.
 */
export function applyRetention(ks: Keystore, now: number): string[] {
  const days = ks.settings?.forgetAfterDays;
  if (days === undefined) return [];
  const cutoff = now - days * 86_400;
  const due = [...exchangesOf(ks).values()].filter(
    (e) => e.status === 'confirmed' && e.forgottenAt === undefined && e.createdAt <= cutoff,
  );
  for (const e of due) forgetExchange(ks, e.id, now);
  return due.map((e) => e.id);
}

/** The responder's secret keys by id, as the derivation asks for them. */
export function responderKeys(ks: Keystore): ResponderKeys {
  return {
    address: ks.address,
    identitySecretKey: ks.identitySecretKey,
    identityDhSecretKey: ks.identityDh.secretKey,
    signedPrekeySecret: (id) => ks.signedPrekeys.find((k) => k.id === id)?.secretKey,
    oneTimePrekeySecret: (id) => ks.oneTimePrekeys.get(id),
    pqPrekeySecret: (kind, id) =>
      kind === 'pq-one-time' ? ks.pqOneTimePrekeys.get(id) : ks.pqLastResortKeys.find((k) => k.id === id)?.secretKey,
  };
}
