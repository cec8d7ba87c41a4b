/**
 * Key transparency on the client (docs/transparency.md §8.1, §8.2; docs/keystore.md,
 * "transparency"): the client checks every identity it is served against the serving node's
 * log itself, with its own pins and tree heads, so it need not trust even its own node's
 * relaying; it pins each contact's log entry and reports a key that moved (`kt_key_changed`);
 * and it watches its own node's log for entries under its own label it did not make
 * (`kt_foreign_entry`).
 *
 * The state is one member of the keystore document, behind `TransparencyState`; these functions
 * change it only forward (a failure leaves the logs as they were and adds evidence).
 */
import { z } from 'zod';
import { fromB64u, fromB64uSized, toB64u } from '../protocol/encoding.js';
import { isKeyPearsError, KeyPearsError } from '../protocol/errors.js';
import { formatTlogProof, parseCheckpoint } from '../protocol/transparency/checkpoint.js';
import { parseNote } from '../protocol/transparency/note.js';
import { ktEvidenceJson, logIdentityJson } from '../protocol/transparency/evidence.js';
import {
  type KtFailureCode,
  type LogIdentity,
  type LogState,
  verifyLogAnswer,
} from '../protocol/transparency/log-verifier.js';
import { HASH_LENGTH, leafHash, verifyInclusion } from '../protocol/transparency/merkle.js';
import {
  EMPTY_SCAN,
  entryBundlePath,
  type ForeignEntry,
  type ScanState,
  scanEntries,
} from '../protocol/transparency/owner-scan.js';
import {
  parseEntryBundle,
  type ServedIdentity,
  type VerifiedEntry,
  verifyTransparencyMember,
} from '../protocol/transparency/wire.js';
import { AddressSchema } from '../protocol/wire.js';
import type { Keystore } from './keystore-format.js';

/** How often the owner's monitor runs on its own (at CLI start, while waiting on the inbox). */
export const MONITOR_INTERVAL_SECONDS = 600;
/** The newest evidence records kept; older ones are dropped first. */
export const MAX_EVIDENCE = 100;

/** A contact's pinned log entry: the key it was first verified at. */
export interface ContactPin {
  origin: string;
  index: number;
  identityKey: Uint8Array;
  /** The address's label in that log, verified once (a VRF verification is costly). */
  label: Uint8Array;
}

/** The owner's own entry and how far the owner has read its log. */
export interface SelfState {
  origin: string;
  /** The entries this device made (its registration). */
  indexes: number[];
  label: Uint8Array;
  scan: ScanState;
  /** Entries under the owner's label it did not make, once found (reported until the user acts). */
  foreign: Array<{ index: number; entry: Uint8Array; tlogProof: string }>;
}

export interface StoredEvidence {
  /** Unix seconds. */
  at: number;
  code: KtFailureCode | 'kt_key_changed' | 'kt_foreign_entry';
  domain: string;
  message: string;
  /** KtEvidenceJson for the log failures, with the address concerned; the entries otherwise. */
  evidence: Record<string, unknown>;
}

export interface TransparencyState {
  /** Verified tree heads by log origin. */
  logs: Map<string, LogState>;
  /** The log each domain was first seen with (pinned, as HSTS pins). */
  domains: Map<string, string>;
  contacts: Map<string, ContactPin>;
  self?: SelfState;
  /** Unix seconds of the last owner monitor run that completed. */
  lastMonitorAt?: number;
  evidence: StoredEvidence[];
}

export const emptyTransparency = (): TransparencyState => ({
  logs: new Map(),
  domains: new Map(),
  contacts: new Map(),
  evidence: [],
});

// --- the keystore member ------------------------------------------------------------------

const Origin = z.string().min(1).max(512);
const Note = z.string().max(16 * 1024);
const B64u = z.string().max(4096);
const Index = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const LogIdentityJson = z.strictObject({
  origin: Origin,
  logKey: z.string().max(1024),
  vrfKey: B64u,
  importEnd: Index,
});
const EvidenceJson = z.looseObject({}).refine((v) => JSON.stringify(v).length <= 256 * 1024, 'evidence too large');

export const TransparencyJson = z.strictObject({
  logs: z.record(Origin, z.strictObject({ log: LogIdentityJson, size: Index, root: B64u, checkpoint: Note })),
  domains: z.record(z.string().max(253), Origin),
  contacts: z.record(AddressSchema, z.strictObject({ origin: Origin, index: Index, identityKey: B64u, label: B64u })),
  self: z
    .strictObject({
      origin: Origin,
      indexes: z.array(Index).max(64),
      label: B64u,
      scan: z.strictObject({ size: Index, frontier: z.array(B64u).max(64) }),
      foreign: z.array(z.strictObject({ index: Index, entry: B64u, tlogProof: z.string().max(64 * 1024) })).max(1000),
    })
    .optional(),
  lastMonitorAt: Index.optional(),
  evidence: z
    .array(
      z.strictObject({
        at: Index,
        code: z.string().max(64),
        domain: z.string().max(253),
        message: z.string().max(2048),
        evidence: EvidenceJson,
      }),
    )
    .max(MAX_EVIDENCE),
});
export type TransparencyJson = z.infer<typeof TransparencyJson>;

export function serializeTransparency(state: TransparencyState | undefined): TransparencyJson | undefined {
  if (!state) return undefined;
  return {
    logs: Object.fromEntries(
      [...state.logs].map(([origin, s]) => [
        origin,
        { log: logIdentityJson(s.log), size: s.size, root: toB64u(s.root), checkpoint: s.checkpoint },
      ]),
    ),
    domains: Object.fromEntries(state.domains),
    contacts: Object.fromEntries(
      [...state.contacts].map(([a, c]) => [
        a,
        { origin: c.origin, index: c.index, identityKey: toB64u(c.identityKey), label: toB64u(c.label) },
      ]),
    ),
    ...(state.self
      ? {
          self: {
            origin: state.self.origin,
            indexes: state.self.indexes,
            label: toB64u(state.self.label),
            scan: { size: state.self.scan.size, frontier: state.self.scan.frontier.map(toB64u) },
            foreign: state.self.foreign.map((f) => ({
              index: f.index,
              entry: toB64u(f.entry),
              tlogProof: f.tlogProof,
            })),
          },
        }
      : {}),
    ...(state.lastMonitorAt !== undefined ? { lastMonitorAt: state.lastMonitorAt } : {}),
    evidence: state.evidence,
  };
}

/** @throws KeyPearsError `invalid_keystore` naming the field. */
export function parseTransparency(json: TransparencyJson | undefined): TransparencyState | undefined {
  if (!json) return undefined;
  const bytes = (text: string, length: number, field: string) =>
    fromB64uSized(text, length, `transparency.${field}`, 'invalid_keystore');
  const logs = new Map<string, LogState>();
  for (const [origin, s] of Object.entries(json.logs)) {
    if (s.log.origin !== origin) {
      throw new KeyPearsError('invalid_keystore', `transparency.logs.${origin} holds another log`);
    }
    logs.set(origin, {
      log: { ...s.log, vrfKey: bytes(s.log.vrfKey, 32, `logs.${origin}.log.vrfKey`) },
      size: s.size,
      root: bytes(s.root, HASH_LENGTH, `logs.${origin}.root`),
      checkpoint: s.checkpoint,
    });
  }
  const self = json.self && {
    origin: json.self.origin,
    indexes: json.self.indexes,
    label: bytes(json.self.label, 32, 'self.label'),
    scan: {
      size: json.self.scan.size,
      frontier: json.self.scan.frontier.map((h, i) => bytes(h, HASH_LENGTH, `self.scan.frontier.${i}`)),
    },
    foreign: json.self.foreign.map((f, i) => ({
      index: f.index,
      entry: fromB64u(f.entry, `transparency.self.foreign.${i}.entry`, 'invalid_keystore'),
      tlogProof: f.tlogProof,
    })),
  };
  return {
    logs,
    domains: new Map(Object.entries(json.domains)),
    contacts: new Map(
      Object.entries(json.contacts).map(([a, c]) => [
        a,
        {
          origin: c.origin,
          index: c.index,
          identityKey: bytes(c.identityKey, 32, `contacts.${a}.identityKey`),
          label: bytes(c.label, 32, `contacts.${a}.label`),
        },
      ]),
    ),
    ...(self ? { self } : {}),
    ...(json.lastMonitorAt !== undefined ? { lastMonitorAt: json.lastMonitorAt } : {}),
    evidence: json.evidence as StoredEvidence[],
  };
}

/** The keystore member that holds this state (docs/keystore.md, "transparency"). */
export const TRANSPARENCY_MEMBER = 'transparency';

/**
 * The state kept in a keystore (empty when it has none yet).
 *
 * @throws KeyPearsError `invalid_keystore` naming the field.
 */
export function readTransparency(ks: Keystore): TransparencyState {
  const raw = ks.extensions?.[TRANSPARENCY_MEMBER];
  if (raw === undefined) return emptyTransparency();
  const parsed = TransparencyJson.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KeyPearsError('invalid_keystore', `keystore transparency.${issue.path.join('.')}: ${issue.message}`);
  }
  return parseTransparency(parsed.data)!;
}

/** Puts the state into the keystore (saved with it). */
export function writeTransparency(ks: Keystore, state: TransparencyState): void {
  ks.extensions = { ...ks.extensions, [TRANSPARENCY_MEMBER]: serializeTransparency(state) };
}

// --- verifying what the client is served ----------------------------------------------------

function recordEvidence(state: TransparencyState, record: StoredEvidence): void {
  state.evidence.push(record);
  if (state.evidence.length > MAX_EVIDENCE) state.evidence.splice(0, state.evidence.length - MAX_EVIDENCE);
}

function fail(
  state: TransparencyState,
  now: number,
  domain: string,
  code: StoredEvidence['code'],
  message: string,
  evidence: StoredEvidence['evidence'],
): never {
  recordEvidence(state, { at: now, code, domain, message, evidence });
  throw new KeyPearsError(code, message, { domain, evidence });
}

/**
 * The stored state of the log a domain is pinned to or, for a domain not pinned yet, of the
 * log the answer names (two domains of one node share its log; the origin read here is checked
 * with the rest of the member).
 */
function stateFor(state: TransparencyState, domain: string, member: unknown): LogState | undefined {
  const named = (member as { log?: { origin?: unknown } } | undefined)?.log?.origin;
  const origin = state.domains.get(domain) ?? (typeof named === 'string' ? named : undefined);
  return origin === undefined ? undefined : state.logs.get(origin);
}

function advance(state: TransparencyState, domain: string, log: LogState): void {
  state.logs.set(log.log.origin, log);
  if (!state.domains.has(domain)) state.domains.set(domain, log.log.origin);
}

export interface ClientVerifyInput {
  /** The canonical address looked up. */
  address: string;
  domain: string;
  /** The base URL of the node serving the address, as discovery gave it. */
  nodeUrl: string;
  /** The decoded identity keys of the answer. */
  identity: ServedIdentity;
  /** The answer's `transparency` member as received (undefined when it had none). */
  member: unknown;
  /** Unix seconds, for the evidence. */
  now: number;
}

/** The `KeyPears-KT-Known` value for a lookup of an address of `domain`: the size verified, or 0. */
export function knownSize(state: TransparencyState | undefined, domain: string): number {
  const origin = state?.domains.get(domain);
  return (origin !== undefined ? state?.logs.get(origin)?.size : undefined) ?? 0;
}

/**
 * Verifies a served identity (docs/transparency.md §11.3) and checks the contact's pin: on
 * success the log's state advances and a first-seen contact is pinned at its entry. An answer
 * without a member, for a domain whose log was never seen, is taken unverified (`undefined`):
 * there is nothing to hold the node to yet, as with HSTS before the first visit.
 *
 * @throws KeyPearsError a `kt_*` failure code (evidence recorded in `state`), or
 *   `kt_key_changed` when the contact's key is at another entry than the one pinned (the log
 *   state advances, the pin stays until the user accepts the change).
 */
export function verifyIdentityForClient(state: TransparencyState, input: ClientVerifyInput): VerifiedEntry | undefined {
  const { address, domain, nodeUrl, identity, member, now } = input;
  const stored = stateFor(state, domain, member);
  if (member === undefined && stored === undefined) return undefined;
  const pin = state.contacts.get(address);
  const knownLabel = pin && pin.origin === stored?.log.origin ? pin.label : undefined;
  const verdict = verifyTransparencyMember({ address, nodeUrl, identity, member, state: stored, knownLabel });
  if (!verdict.ok) {
    fail(state, now, domain, verdict.code, `${domain}: ${verdict.message}`, {
      address,
      ...ktEvidenceJson(verdict.evidence),
    });
  }
  advance(state, domain, verdict.state);
  const { entry } = verdict;
  if (pin === undefined) {
    const { origin, index, label } = entry;
    state.contacts.set(address, { origin, index, identityKey: identity.identityKey, label });
  } else if (pin.origin !== entry.origin || pin.index !== entry.index) {
    fail(
      state,
      now,
      domain,
      'kt_key_changed',
      `the safety number with ${address} changed: its key is now log entry ${entry.index} of ${entry.origin}, ` +
        `not entry ${pin.index} of ${pin.origin} as before`,
      {
        address,
        pinnedEntry: { origin: pin.origin, index: pin.index, identityKey: toB64u(pin.identityKey) },
        servedEntry: { origin: entry.origin, index: entry.index, identityKey: toB64u(identity.identityKey) },
      },
    );
  }
  return entry;
}

/** Forgets a contact's pin, so that its current key is pinned at the next lookup (`kt accept`). */
export function forgetContactPin(state: TransparencyState, address: string): boolean {
  return state.contacts.delete(address);
}

// --- the owner's monitor --------------------------------------------------------------------

/** What the monitor reads from the owner's own node's log (GET requests under its prefix). */
export interface LogReader {
  /** `GET P/checkpoint`. */
  checkpoint(): Promise<string>;
  /** `GET P/proof/consistency?from=&to=`. */
  consistency(from: number, to: number): Promise<Uint8Array[]>;
  /** `GET P/proof/inclusion?index=&size=`. */
  inclusion(index: number, size: number): Promise<Uint8Array[]>;
  /** `GET P/<path>` of an entry bundle: its raw bytes. */
  entryBundle(path: string): Promise<Uint8Array>;
}

export interface MonitorReport {
  origin: string;
  size: number;
  /** Entries read in this run. */
  scanned: number;
  /** Every entry under the owner's label it did not make, found in this run or before. */
  foreign: SelfState['foreign'];
}

/**
 * One run of the owner's monitor: the log's checkpoint, verified and consistent with the one
 * stored; every entry since the last run, checked to make that checkpoint's tree; any entry
 * under the owner's label at an index it did not make kept as a tlog-proof.
 *
 * @throws KeyPearsError a `kt_*` code when the log does not verify, `kt_foreign_entry` (with
 *   the entries and their tlog-proofs in `details`) when such an entry exists.
 */
export async function monitorOwnEntries(
  state: TransparencyState,
  input: { domain: string; advertised?: LogIdentity; reader: LogReader; now: number },
): Promise<MonitorReport> {
  const { domain, advertised, reader, now } = input;
  const self = state.self;
  if (!self) throw new KeyPearsError('not_registered', 'the own log entry is not known yet (register first)');
  const stored = state.logs.get(self.origin);
  const note = await reader.checkpoint();
  const size = parseCheckpointSize(note);
  const from = stored?.size ?? 0;
  const consistency =
    stored && size > from && from > 0 ? { from, proof: await reader.consistency(from, size) } : undefined;
  const verdict = verifyLogAnswer({
    state: stored,
    advertised,
    answer: { checkpoint: note, ...(consistency ? { consistency } : {}) },
  });
  if (!verdict.ok)
    fail(state, now, domain, verdict.code, `${domain}: ${verdict.message}`, { ...ktEvidenceJson(verdict.evidence) });
  const head = verdict.checkpoint.checkpoint;

  let scan = self.scan;
  const found: ForeignEntry[] = [];
  try {
    while (scan.size < head.size) {
      const bundle = entryBundlePath(scan.size, head.size);
      const entries = parseEntryBundle(await reader.entryBundle(bundle.path), bundle.count);
      const step = scanEntries({
        scan,
        entries: entries.slice(scan.size - bundle.first),
        label: self.label,
        ownIndexes: self.indexes,
        checkpoint: head,
      });
      scan = step.scan;
      found.push(...step.foreign);
    }
  } catch (e) {
    if (!isKeyPearsError(e) || e.code !== 'kt_proof_invalid') throw e;
    fail(state, now, domain, 'kt_proof_invalid', `${domain}: ${e.message}`, {
      ...ktEvidenceJson({ answeredCheckpoint: note }),
    });
  }
  const proven = [];
  for (const f of found) proven.push(await foreignEvidence(f, head, note, reader));

  const scanned = scan.size - self.scan.size;
  advance(state, domain, verdict.state);
  self.scan = scan;
  self.foreign.push(...proven);
  state.lastMonitorAt = now;
  const report = { origin: self.origin, size: head.size, scanned, foreign: self.foreign };
  if (self.foreign.length > 0) {
    for (const f of proven) {
      recordEvidence(state, {
        at: now,
        code: 'kt_foreign_entry',
        domain,
        message: `entry ${f.index} of ${self.origin} carries this address's label and was not made here`,
        evidence: { tlogProof: f.tlogProof },
      });
    }
    throw new KeyPearsError(
      'kt_foreign_entry',
      `your node's log holds ${self.foreign.length === 1 ? 'an entry' : `${self.foreign.length} entries`} for ` +
        `this address that this device did not make (entry ${self.foreign.map((f) => f.index).join(', ')}); ` +
        'contact your node operator, and ask your contacts to compare safety numbers',
      {
        origin: self.origin,
        entries: self.foreign.map((f) => ({ index: f.index, entry: toB64u(f.entry), tlogProof: f.tlogProof })),
      },
    );
  }
  return report;
}

/** A foreign entry's offline evidence: its inclusion proof, verified, as a tlog-proof. */
async function foreignEvidence(
  found: ForeignEntry,
  head: { size: number; root: Uint8Array },
  note: string,
  reader: LogReader,
): Promise<SelfState['foreign'][number]> {
  const inclusion = await reader.inclusion(found.index, head.size);
  if (!verifyInclusion(found.index, head.size, leafHash(found.entry), inclusion, head.root)) {
    throw new KeyPearsError('kt_proof_invalid', `the inclusion proof of entry ${found.index} does not verify`);
  }
  return {
    index: found.index,
    entry: found.entry,
    tlogProof: formatTlogProof({ extra: found.entry, index: found.index, inclusion, checkpoint: note }),
  };
}

/** The size of a checkpoint note, read before it is opened (to ask for the proof to it). */
const parseCheckpointSize = (note: string): number => parseCheckpoint(parseNote(note).text).size;

/** Whether the monitor is due (never run, or more than MONITOR_INTERVAL_SECONDS ago). */
export const monitorDue = (state: TransparencyState | undefined, now: number): boolean =>
  state?.self !== undefined &&
  (state.lastMonitorAt === undefined || now - state.lastMonitorAt >= MONITOR_INTERVAL_SECONDS);

/** Records the owner's own entry, verified by `verifyIdentityForClient` on its own address. */
export function setSelf(state: TransparencyState, entry: VerifiedEntry | undefined): void {
  if (entry === undefined) return;
  if (state.self && state.self.origin === entry.origin) {
    if (!state.self.indexes.includes(entry.index)) state.self.indexes.push(entry.index);
    return;
  }
  state.self = { origin: entry.origin, indexes: [entry.index], label: entry.label, scan: EMPTY_SCAN, foreign: [] };
}
