/**
 * The node's key-transparency log (docs/transparency.md §10-12): it creates the log and logs
 * the accounts that predate it at start, appends each registration in the registration's
 * transaction, serves the log's routes and the `transparency` member of identity and bundle
 * answers, and checks every account it serves against its entry.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import type { DbTransaction } from '../database/transaction.js';
import { NodeMetrics } from '../metrics/node-metrics.js';
import { ed25519PublicKey, randomBytes } from '../protocol/crypto.js';
import { equalBytes, toB64u } from '../protocol/encoding.js';
import { KeyPearsError } from '../protocol/errors.js';
import { verifyRegistration } from '../protocol/keys.js';
import { formatCheckpoint } from '../protocol/transparency/checkpoint.js';
import {
  decodeEntry,
  entryCommitment,
  logStartEntry,
  proveLabel,
  registrationEntry,
  type RegistrationRecord,
  registrationValue,
} from '../protocol/transparency/entry.js';
import type { LogIdentity } from '../protocol/transparency/log-verifier.js';
import {
  ed25519NoteSigner,
  formatVerifierKey,
  type NoteSigner,
  signNote,
  SIGNATURE_TYPE_ED25519,
} from '../protocol/transparency/note.js';
import {
  assemble,
  planConsistencyProof,
  planInclusionProof,
  type StoredHashPlan,
} from '../protocol/transparency/tree-storage.js';
import { vrfPublicKey } from '../protocol/transparency/vrf.js';
import {
  formatEntryBundle,
  formatLogAdvertisement,
  type LogAdvertisement,
  logOrigin,
  logUrl,
  parseEntryTilePath,
  servedRecord,
  TILE_WIDTH,
  type TransparencyMember,
} from '../protocol/transparency/wire.js';
import type { AccountEntry, LoggedAccount } from './logged-account.js';
import { type AppendResult, type StoredLog, TransparencyRepository } from './transparency.repository.js';

/** Accounts logged per transaction by the backfill (each batch ends with its own checkpoint). */
export const BACKFILL_BATCH = 500;
/** How far from an account's creation the backfill looks for its registration proof's timestamp. */
export const TIMESTAMP_RECOVERY_SECONDS = 300;

/** The log this node runs, as loaded at start: its keys never change within a generation. */
interface LoadedLog {
  generation: number;
  origin: string;
  url: string;
  logKey: string;
  signer: NoteSigner;
  vrfSecretKey: Uint8Array;
  vrfPublicKey: Uint8Array;
}

/** A registration's entry, computed before its transaction (the VRF proof costs milliseconds). */
export interface PreparedEntry {
  /** Appends the entry for the account `accountId` inside the registration's transaction. */
  append(tx: DbTransaction, accountId: string): Promise<AppendResult>;
  account: LoggedAccount;
}

const unixSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

/** The offsets to try, nearest first: 0, -1, 1, -2, 2, ... */
function* nearestFirst(limit: number): Generator<number> {
  yield 0;
  for (let d = 1; d <= limit; d++) {
    yield -d;
    yield d;
  }
}

@Injectable()
export class TransparencyService {
  private readonly logger = new Logger(TransparencyService.name);
  private loaded: LoadedLog | undefined;
  /** Set once the log holds every account it started with; never changes afterwards. */
  private advertisement: LogAdvertisement | undefined;

  constructor(
    private readonly repository: TransparencyRepository,
    private readonly clock: Clock,
    private readonly metrics: NodeMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private starting: Promise<void> | undefined;

  /**
   * Starts the log once: at the node's start (createNode), or on first use by a registration
   * (tests that build services without the application).
   */
  started(): Promise<void> {
    this.starting ??= this.start().catch((e: unknown) => {
      this.starting = undefined;
      throw e;
    });
    return this.starting;
  }

  /**
   * Creates the log when the node has none (or a new generation when the node's URL, and so
   * its origin, changed), then logs every account that has no entry yet (§12.3).
   */
  private async start(): Promise<void> {
    let stored = await this.repository.currentLog();
    if (!stored) {
      stored = await this.createGeneration(1);
    } else if (stored.origin !== logOrigin(this.config.publicUrl, stored.generation)) {
      const previous = await this.repository.latestCheckpoint(stored.generation);
      this.logger.warn(
        `the node's URL changed (log ${stored.origin}): starting generation ${stored.generation + 1} of the transparency log`,
      );
      stored = await this.createGeneration(stored.generation + 1, stored.origin, previous?.note);
    }
    this.load(stored);
    await this.backfill();
  }

  private async createGeneration(generation: number, previousOrigin?: string, previousCheckpoint?: string) {
    const origin = logOrigin(this.config.publicUrl, generation);
    const logSecretKey = randomBytes(32);
    const vrfSecretKey = randomBytes(32);
    const startedAt = unixSeconds(this.clock.now());
    const signer = ed25519NoteSigner(origin, logSecretKey);
    return this.repository.createLog(
      {
        generation,
        origin,
        logPublicKey: ed25519PublicKey(logSecretKey),
        logSecretKey,
        vrfPublicKey: vrfPublicKey(vrfSecretKey),
        vrfSecretKey,
        startedAt,
      },
      logStartEntry({ origin, startedAt, previousOrigin, previousCheckpoint }),
      (size, root) => signNote(formatCheckpoint({ origin, size, root }), [signer]),
    );
  }

  private load(stored: StoredLog): void {
    const { generation, origin } = stored;
    this.loaded = {
      generation,
      origin,
      url: logUrl(this.config.publicUrl, generation),
      logKey: formatVerifierKey(origin, SIGNATURE_TYPE_ED25519, stored.logPublicKey),
      signer: ed25519NoteSigner(origin, stored.logSecretKey),
      vrfSecretKey: stored.vrfSecretKey,
      vrfPublicKey: stored.vrfPublicKey,
    };
    this.advertisement = stored.importEnd === null ? undefined : this.advertise(stored.importEnd);
  }

  private advertise(importEnd: number): LogAdvertisement {
    const log = this.current();
    const identity: LogIdentity = { origin: log.origin, logKey: log.logKey, vrfKey: log.vrfPublicKey, importEnd };
    return formatLogAdvertisement(identity, log.url);
  }

  private current(): LoadedLog {
    if (!this.loaded) throw new KeyPearsError('internal_error', 'the transparency log is not started');
    return this.loaded;
  }

  private readonly sign = (size: number, root: Uint8Array): string => {
    const log = this.current();
    return signNote(formatCheckpoint({ origin: log.origin, size, root }), [log.signer]);
  };

  /**
   * Logs every account without an entry as an `import`, in batches, then ends the import phase
   * and starts advertising the log.
   *
   * @returns how many accounts it logged.
   */
  async backfill(): Promise<number> {
    const log = this.current();
    let imported = 0;
    for (;;) {
      const batch = await this.repository.unloggedAccounts(log.generation, BACKFILL_BATCH);
      if (batch.length === 0) {
        const importEnd = await this.repository.finishImports(log.generation);
        if (importEnd === null) continue;
        this.advertisement = this.advertise(importEnd);
        if (imported > 0) this.logger.log(`logged ${imported} existing accounts as imports (import end ${importEnd})`);
        return imported;
      }
      const pending = batch.map((account) => {
        const record: RegistrationRecord = {
          nodeBaseUrl: this.config.publicUrl,
          identityKey: account.identityKey,
          identityDhKey: account.identityDhKey,
        };
        const registeredAt =
          account.proof === null
            ? undefined
            : this.recoverTimestamp(account.address, record, account.proof, account.createdAt);
        if (registeredAt !== undefined && account.proof) {
          record.registeredAt = registeredAt;
          record.registrationProof = account.proof;
        }
        return this.prepare(account.address, 'import', record, account.id);
      });
      await this.repository.appendAlone(log.generation, pending, this.sign);
      imported += batch.length;
    }
  }

  /** The timestamp the stored registration proof verifies for, searched outwards from the account's creation. */
  private recoverTimestamp(
    address: string,
    record: RegistrationRecord,
    proof: Uint8Array,
    createdAt: Date,
  ): number | undefined {
    const created = unixSeconds(createdAt);
    for (const offset of nearestFirst(TIMESTAMP_RECOVERY_SECONDS)) {
      const timestamp = created + offset;
      if (timestamp < 0) continue;
      const statement = {
        address,
        nodeBaseUrl: record.nodeBaseUrl,
        identityKey: record.identityKey,
        identityDhKey: record.identityDhKey.publicKey,
        timestamp,
      };
      if (verifyRegistration(statement, proof)) return timestamp;
    }
    return undefined;
  }

  private prepare(
    address: string,
    kind: 'register' | 'import',
    record: RegistrationRecord,
    accountId: string,
  ): { entry: Uint8Array; account: { id: string } & Omit<AccountEntry, 'generation' | 'index' | 'storedEntry'> } {
    const { vrfProof, label } = proveLabel(this.current().vrfSecretKey, address);
    const opening = randomBytes(32);
    const entry = registrationEntry({ kind, address, label, opening, record });
    const account: { id: string } & Omit<AccountEntry, 'generation' | 'index' | 'storedEntry'> = {
      id: accountId,
      kind,
      vrfProof,
      opening,
    };
    if (record.registrationProof !== undefined) {
      account.registeredAt = record.registeredAt;
      account.registrationProof = record.registrationProof;
    }
    return { entry, account };
  }

  /**
   * The `register` entry of a new account, computed before its transaction; `append` writes it
   * in the transaction that creates the account (§12.2).
   */
  async prepareRegistration(
    address: string,
    registration: Omit<RegistrationRecord, 'nodeBaseUrl'> & { registeredAt: number; registrationProof: Uint8Array },
  ): Promise<PreparedEntry> {
    await this.started();
    const log = this.current();
    const record: RegistrationRecord = { nodeBaseUrl: this.config.publicUrl, ...registration };
    const prepared = this.prepare(address, 'register', record, '');
    return {
      append: (tx, accountId) =>
        this.repository.append(
          tx,
          log.generation,
          [{ ...prepared, account: { ...prepared.account, id: accountId } }],
          this.sign,
        ),
      account: {
        address,
        identityKey: record.identityKey,
        identityDhKey: record.identityDhKey,
        entry: {
          ...prepared.account,
          generation: log.generation,
          index: -1,
          storedEntry: prepared.entry,
        },
      },
    };
  }

  /** The node document member, once the log holds every account (§10.1); undefined before. */
  advertised(): LogAdvertisement | undefined {
    return this.advertisement;
  }

  /**
   * The self-check (§12.4): the entry rebuilt from the account row must be the one stored in
   * the log at the account's index. Once the log holds every account, an account without an
   * entry fails too (a row inserted behind the log).
   *
   * @throws KeyPearsError `kt_entry_mismatch`, after logging an error and counting it.
   */
  checkServed(account: LoggedAccount): void {
    const problem = this.entryProblem(account);
    if (problem === undefined) return;
    this.metrics.ktSelfCheckFailures.inc();
    this.logger.error(
      `transparency self-check failed for ${account.address} (entry ${account.entry?.index ?? 'none'}): ${problem}; refusing to serve it`,
    );
    throw new KeyPearsError(
      'kt_entry_mismatch',
      "this address cannot be served: its keys do not match the node's transparency log",
    );
  }

  /**
   * Why an account does not match its entry, or undefined when it does.
   *
   * @param logComplete whether every account must have an entry (the log holds them all).
   */
  entryProblem(account: LoggedAccount, logComplete = this.advertisement !== undefined): string | undefined {
    const { entry } = account;
    if (!entry) return logComplete ? 'the account has no log entry' : undefined;
    if (entry.storedEntry === null) return `the log has no entry ${entry.index}`;
    let stored;
    try {
      stored = decodeEntry(entry.storedEntry, 'internal_error');
    } catch {
      return `the stored entry ${entry.index} does not decode`;
    }
    if (stored.kind !== entry.kind) return `the account's entry kind (${entry.kind}) is not the log's (${stored.kind})`;
    const record = servedRecord(this.config.publicUrl, account, entry);
    let commitment: Uint8Array;
    try {
      commitment = entryCommitment(entry.kind, entry.opening, account.address, registrationValue(record));
    } catch {
      return 'the account row does not make a registration value';
    }
    return equalBytes(commitment, stored.commitment) ? undefined : 'the account row does not match its commitment';
  }

  /**
   * The answer member for an account that passed the self-check, for a requester that knows
   * `known` entries of the log (§11.3); undefined while the log is not advertised.
   *
   * @param at a signed head to prove against instead of the latest (the registration's own).
   */
  async member(account: LoggedAccount, known: number, at?: AppendResult): Promise<TransparencyMember | undefined> {
    await this.started();
    const log = this.current();
    const { entry } = account;
    if (!this.advertisement || !entry || entry.generation !== log.generation) return undefined;
    const index = at ? at.indexes[0] : entry.index;
    const head = at ? { size: at.size, note: at.checkpoint } : await this.repository.latestCheckpoint(log.generation);
    if (!head) throw new KeyPearsError('internal_error', 'the transparency log has no checkpoint');
    const withConsistency = known > 0 && known < head.size;
    const [inclusion, consistency] = await this.proofs(log.generation, [
      planInclusionProof(index, head.size),
      ...(withConsistency ? [planConsistencyProof(known, head.size)] : []),
    ]);
    const member: TransparencyMember = {
      log: this.advertisement,
      kind: entry.kind,
      index,
      vrfProof: toB64u(entry.vrfProof),
      opening: toB64u(entry.opening),
      checkpoint: head.note,
      inclusion: inclusion.map(toB64u),
    };
    if (entry.registrationProof !== undefined && entry.registeredAt !== undefined) {
      member.registeredAt = entry.registeredAt;
      member.registrationProof = toB64u(entry.registrationProof);
    }
    if (consistency) member.consistency = { from: known, proof: consistency.map(toB64u) };
    return member;
  }

  /** PATH(index, D[size]) from the stored rows. */
  async proveInclusion(generation: number, index: number, size: number): Promise<Uint8Array[]> {
    const [proof] = await this.proofs(generation, [planInclusionProof(index, size)]);
    return proof;
  }

  /** The hashes of several planned proofs, from one read of the stored rows. */
  private async proofs(generation: number, plans: readonly StoredHashPlan[]): Promise<Uint8Array[][]> {
    const leaves = [...new Set(plans.flatMap((p) => p.leaves))];
    const rows = await this.repository.readRows(generation, leaves);
    return plans.map((p) => assemble(p, rows));
  }

  // --- The log's routes (§11.1) ------------------------------------------------------------

  /** The generation a route names, when it is the advertised log's. @throws `not_found`. */
  private served(generation: string): LoadedLog {
    const log = this.current();
    if (!this.advertisement || generation !== String(log.generation)) {
      throw new KeyPearsError('not_found', 'no such transparency log');
    }
    return log;
  }

  /** The current size of the served log, and a check that `size` exists. @throws `not_found`. */
  private async requireSize(log: LoadedLog, size: number): Promise<{ size: number; note: string }> {
    const head = await this.repository.latestCheckpoint(log.generation);
    if (!head || size > head.size) throw new KeyPearsError('not_found', `the log has no tree of size ${size} yet`);
    return head;
  }

  async checkpoint(generation: string): Promise<string> {
    const log = this.served(generation);
    const head = await this.repository.latestCheckpoint(log.generation);
    if (!head) throw new KeyPearsError('not_found', 'no checkpoint yet');
    return head.note;
  }

  async inclusionProof(generation: string, index: number, size: number): Promise<string[]> {
    const log = this.served(generation);
    if (index >= size) throw new KeyPearsError('invalid_request', 'index must be below size');
    await this.requireSize(log, size);
    const [proof] = await this.proofs(log.generation, [planInclusionProof(index, size)]);
    return proof.map(toB64u);
  }

  async consistencyProof(generation: string, from: number, to: number): Promise<string[]> {
    const log = this.served(generation);
    if (to < 1 || from > to) throw new KeyPearsError('invalid_request', 'from must be at most to, and to at least 1');
    await this.requireSize(log, to);
    if (from === 0 || from === to) return [];
    const [proof] = await this.proofs(log.generation, [planConsistencyProof(from, to)]);
    return proof.map(toB64u);
  }

  /** An entry bundle (C2SP tlog-tiles) for the path after `tile/entries/`. @throws `not_found`. */
  async entryTile(generation: string, path: string): Promise<Uint8Array> {
    const log = this.served(generation);
    const tile = parseEntryTilePath(path);
    if (!tile) throw new KeyPearsError('not_found', 'no such tile');
    const start = tile.tile * TILE_WIDTH;
    const end = start + tile.width;
    const head = await this.repository.latestCheckpoint(log.generation);
    if (!head || end > head.size || !Number.isSafeInteger(end)) {
      throw new KeyPearsError('not_found', 'the log does not hold this tile yet');
    }
    const entries = await this.repository.readEntries(log.generation, start, end);
    if (entries.length !== tile.width) throw new KeyPearsError('internal_error', 'stored entries are missing');
    return formatEntryBundle(entries);
  }
}
