import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { dbBytes, fromDbBytes } from '../database/db-bytes.js';
import { PG_POOL } from '../database/pg-pool.js';
import { PrismaService } from '../database/prisma.service.js';
import type { DbTransaction } from '../database/transaction.js';
import { concatBytes } from '../protocol/encoding.js';
import { KeyPearsError } from '../protocol/errors.js';
import { HASH_LENGTH } from '../protocol/transparency/merkle.js';
import { appendEntry, rootFromFrontier, type StoredRows } from '../protocol/transparency/tree-storage.js';
import {
  ACCOUNT_ENTRY_COLUMNS,
  type AccountEntry,
  type AccountEntryRow,
  accountEntryFromRow,
  type LoggedAccount,
} from './logged-account.js';

/** Serialises the creation of a log generation across replicas starting together. */
const KT_LOG_LOCK = 4_273_014;

/** A generation of the log as stored: its keys and its head. */
export interface StoredLog {
  generation: number;
  origin: string;
  logPublicKey: Uint8Array;
  logSecretKey: Uint8Array;
  vrfPublicKey: Uint8Array;
  vrfSecretKey: Uint8Array;
  startedAt: number;
  size: number;
  frontier: Uint8Array[];
  importEnd: number | null;
}

/** An entry to append, and the account whose entry it is (none for the log-start entry). */
export interface PendingEntry {
  entry: Uint8Array;
  account?: { id: string } & Omit<AccountEntry, 'generation' | 'index' | 'storedEntry'>;
}

/** What an append did: the index of each entry, and the signed head it ended at. */
export interface AppendResult {
  indexes: number[];
  size: number;
  checkpoint: string;
}

/** Signs the checkpoint of a tree head with the log key. */
export type CheckpointSigner = (size: number, root: Uint8Array) => string;

/** An account the backfill has to log: its keys, creation time and the proof kept in its key history. */
export interface UnloggedAccount {
  id: string;
  address: string;
  identityKey: Uint8Array;
  identityDhKey: { id: number; publicKey: Uint8Array; signature: Uint8Array };
  createdAt: Date;
  /** The registration proof, from the account's key history (null if the history lacks it). */
  proof: Uint8Array | null;
}

const splitHashes = (bytes: Uint8Array): Uint8Array[] =>
  Array.from({ length: bytes.length / HASH_LENGTH }, (_, i) => bytes.slice(i * HASH_LENGTH, (i + 1) * HASH_LENGTH));

interface LogRow {
  generation: number;
  origin: string;
  log_public_key: Buffer;
  log_secret_key: Buffer;
  vrf_public_key: Buffer;
  vrf_secret_key: Buffer;
  started_at: string;
  size: string;
  frontier: Buffer;
  import_end: string | null;
}

const logFromRow = (r: LogRow): StoredLog => ({
  generation: r.generation,
  origin: r.origin,
  logPublicKey: fromDbBytes(r.log_public_key),
  logSecretKey: fromDbBytes(r.log_secret_key),
  vrfPublicKey: fromDbBytes(r.vrf_public_key),
  vrfSecretKey: fromDbBytes(r.vrf_secret_key),
  startedAt: Number(r.started_at),
  size: Number(r.size),
  frontier: splitHashes(fromDbBytes(r.frontier)),
  importEnd: r.import_end === null ? null : Number(r.import_end),
});

/** The identity keys of an account row. */
const identityKeysOf = (r: {
  identity_key: Buffer;
  identity_dh_key_id: number;
  identity_dh_key: Buffer;
  identity_dh_signature: Buffer;
}): Pick<LoggedAccount, 'identityKey' | 'identityDhKey'> => ({
  identityKey: fromDbBytes(r.identity_key),
  identityDhKey: {
    id: Number(r.identity_dh_key_id),
    publicKey: fromDbBytes(r.identity_dh_key),
    signature: fromDbBytes(r.identity_dh_signature),
  },
});

/** The log's tables (docs/transparency.md §12.1): appends, heads, stored hashes and entries. */
@Injectable()
export class TransparencyRepository {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
  ) {}

  /** The newest generation, or null when the node has no log yet. */
  async currentLog(): Promise<StoredLog | null> {
    const { rows } = await this.pool.query<LogRow>('SELECT * FROM kt_log ORDER BY generation DESC LIMIT 1');
    return rows.length ? logFromRow(rows[0]) : null;
  }

  /**
   * Creates a generation with its log-start entry and first checkpoint, unless a replica did
   * first (then its log is returned, and `log` is dropped).
   */
  async createLog(
    log: Omit<StoredLog, 'size' | 'frontier' | 'importEnd'>,
    logStart: Uint8Array,
    sign: CheckpointSigner,
  ): Promise<StoredLog> {
    await this.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${KT_LOG_LOCK})`);
      const existing = await tx.ktLog.findUnique({ where: { generation: log.generation }, select: { size: true } });
      if (existing) return;
      await tx.ktLog.create({
        data: {
          generation: log.generation,
          origin: log.origin,
          logPublicKey: dbBytes(log.logPublicKey),
          logSecretKey: dbBytes(log.logSecretKey),
          vrfPublicKey: dbBytes(log.vrfPublicKey),
          vrfSecretKey: dbBytes(log.vrfSecretKey),
          startedAt: BigInt(log.startedAt),
          size: 0n,
          frontier: dbBytes(new Uint8Array(0)),
        },
      });
      await this.append(tx, log.generation, [{ entry: logStart }], sign);
    });
    const created = await this.currentLog();
    if (!created) throw new KeyPearsError('internal_error', 'the transparency log was not created');
    return created;
  }

  /**
   * Appends entries in `tx`: locks the generation's head, writes each entry's row of stored
   * hashes, the new head, the signed checkpoint of the new size and each account's entry.
   * Appends are serialised by the head's row lock.
   */
  async append(
    tx: DbTransaction,
    generation: number,
    entries: readonly PendingEntry[],
    sign: CheckpointSigner,
  ): Promise<AppendResult> {
    const [head] = await tx.$queryRaw<Array<{ size: bigint; frontier: Uint8Array }>>`
      SELECT size, frontier FROM kt_log WHERE generation = ${generation} FOR UPDATE`;
    if (!head) throw new KeyPearsError('internal_error', `transparency log generation ${generation} does not exist`);
    let size = Number(head.size);
    let frontier = splitHashes(new Uint8Array(head.frontier));
    const leaves: Array<{
      generation: number;
      idx: bigint;
      entry: Uint8Array<ArrayBuffer>;
      hashes: Uint8Array<ArrayBuffer>;
    }> = [];
    const indexes: number[] = [];
    for (const { entry } of entries) {
      const appended = appendEntry(frontier, size, entry);
      leaves.push({ generation, idx: BigInt(size), entry: dbBytes(entry), hashes: dbBytes(appended.row) });
      indexes.push(size);
      frontier = appended.frontier;
      size++;
    }
    const checkpoint = sign(size, rootFromFrontier(frontier));
    await tx.ktLeaf.createMany({ data: leaves });
    await tx.ktLog.update({
      where: { generation },
      data: { size: BigInt(size), frontier: dbBytes(concatBytes(...frontier)) },
    });
    await tx.ktCheckpoint.create({ data: { generation, size: BigInt(size), note: checkpoint } });
    for (const [i, { account }] of entries.entries()) {
      if (!account) continue;
      await tx.account.update({
        where: { id: account.id },
        data: {
          ktGeneration: generation,
          ktIndex: BigInt(indexes[i]),
          ktKind: account.kind,
          ktVrfProof: dbBytes(account.vrfProof),
          ktOpening: dbBytes(account.opening),
          registeredAt: account.registeredAt === undefined ? null : BigInt(account.registeredAt),
          registrationProof: account.registrationProof === undefined ? null : dbBytes(account.registrationProof),
        },
      });
    }
    return { indexes, size, checkpoint };
  }

  /** `append` in a transaction of its own (the backfill's batches). */
  appendAlone(generation: number, entries: readonly PendingEntry[], sign: CheckpointSigner): Promise<AppendResult> {
    return this.prisma.$transaction((tx) => this.append(tx, generation, entries, sign));
  }

  /** The latest signed checkpoint of a generation. */
  async latestCheckpoint(generation: number): Promise<{ size: number; note: string } | null> {
    const { rows } = await this.pool.query<{ size: string; note: string }>({
      name: 'kp_kt_latest_checkpoint',
      text: 'SELECT size, note FROM kt_checkpoint WHERE generation = $1 ORDER BY size DESC LIMIT 1',
      values: [generation],
    });
    return rows.length ? { size: Number(rows[0].size), note: rows[0].note } : null;
  }

  /** Stored hash rows by leaf index (one query), for proofs. */
  async readRows(generation: number, leaves: readonly number[]): Promise<StoredRows> {
    if (leaves.length === 0) return new Map();
    const { rows } = await this.pool.query<{ idx: string; hashes: Buffer }>({
      name: 'kp_kt_rows',
      text: 'SELECT idx, hashes FROM kt_leaf WHERE generation = $1 AND idx = ANY($2::bigint[])',
      values: [generation, leaves.map(String)],
    });
    return new Map(rows.map((r) => [Number(r.idx), fromDbBytes(r.hashes)]));
  }

  /** Entries `[start, end)` in index order. */
  async readEntries(generation: number, start: number, end: number): Promise<Uint8Array[]> {
    const { rows } = await this.pool.query<{ entry: Buffer }>({
      name: 'kp_kt_entries',
      text: 'SELECT entry FROM kt_leaf WHERE generation = $1 AND idx >= $2 AND idx < $3 ORDER BY idx',
      values: [generation, start, end],
    });
    return rows.map((r) => fromDbBytes(r.entry));
  }

  /** Entries and their stored hashes `[start, end)` in index order (for a full check of the log). */
  async readLeaves(
    generation: number,
    start: number,
    end: number,
  ): Promise<Array<{ entry: Uint8Array; hashes: Uint8Array }>> {
    const { rows } = await this.pool.query<{ entry: Buffer; hashes: Buffer }>(
      'SELECT entry, hashes FROM kt_leaf WHERE generation = $1 AND idx >= $2 AND idx < $3 ORDER BY idx',
      [generation, start, end],
    );
    return rows.map((r) => ({ entry: fromDbBytes(r.entry), hashes: fromDbBytes(r.hashes) }));
  }

  /** Every checkpoint of a generation, by size. */
  async checkpoints(generation: number): Promise<Array<{ size: number; note: string }>> {
    const { rows } = await this.pool.query<{ size: string; note: string }>(
      'SELECT size, note FROM kt_checkpoint WHERE generation = $1 ORDER BY size',
      [generation],
    );
    return rows.map((r) => ({ size: Number(r.size), note: r.note }));
  }

  /** Up to `limit` accounts without an entry in `generation`, oldest first. */
  async unloggedAccounts(generation: number, limit: number): Promise<UnloggedAccount[]> {
    const { rows } = await this.pool.query<{
      id: string;
      address: string;
      identity_key: Buffer;
      identity_dh_key_id: number;
      identity_dh_key: Buffer;
      identity_dh_signature: Buffer;
      created_at: Date;
      proof: Buffer | null;
    }>(
      `SELECT a.id, a.address, a.identity_key, a.identity_dh_key_id, a.identity_dh_key, a.identity_dh_signature,
              a.created_at,
              (SELECT signature FROM key_event e WHERE e.account_id = a.id AND e.kind = 'identity'
                ORDER BY e.seq LIMIT 1) AS proof
         FROM account a
        WHERE a.kt_generation IS DISTINCT FROM $1
        ORDER BY a.created_at, a.id
        LIMIT $2`,
      [generation, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      address: r.address,
      ...identityKeysOf(r),
      createdAt: r.created_at,
      proof: r.proof === null ? null : fromDbBytes(r.proof),
    }));
  }

  /** How many accounts have no entry in `generation`. */
  async countUnlogged(generation: number): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM account WHERE kt_generation IS DISTINCT FROM $1',
      [generation],
    );
    return Number(rows[0].n);
  }

  /** One account with its entry, by address. */
  async accountEntry(address: string): Promise<LoggedAccount | null> {
    const [account] = await this.accountPage('', 1, address);
    return account ?? null;
  }

  /**
   * Ends the import phase: sets `import_end` to the log's size if no account is left without
   * an entry (checked under the head's lock, so no import can follow).
   *
   * @returns the import end, or null when accounts are still to be logged.
   */
  async finishImports(generation: number): Promise<number | null> {
    return this.prisma.$transaction(async (tx) => {
      const [head] = await tx.$queryRaw<Array<{ size: bigint; import_end: bigint | null }>>`
        SELECT size, import_end FROM kt_log WHERE generation = ${generation} FOR UPDATE`;
      if (head.import_end !== null) return Number(head.import_end);
      const [left] = await tx.$queryRaw<Array<{ n: bigint }>>`
        SELECT count(*) AS n FROM account WHERE kt_generation IS DISTINCT FROM ${generation}`;
      if (Number(left.n) > 0) return null;
      await tx.ktLog.update({ where: { generation }, data: { importEnd: head.size } });
      return Number(head.size);
    });
  }

  /** Accounts as the self-check reads them, a page at a time by address (for a full check of the log). */
  async accountPage(after: string, limit: number, only?: string): Promise<LoggedAccount[]> {
    const { rows } = await this.pool.query<
      AccountEntryRow & {
        address: string;
        identity_key: Buffer;
        identity_dh_key_id: number;
        identity_dh_key: Buffer;
        identity_dh_signature: Buffer;
      }
    >(
      `SELECT address, identity_key, identity_dh_key_id, identity_dh_key, identity_dh_signature, ${ACCOUNT_ENTRY_COLUMNS}
         FROM account WHERE address > $1 AND ($3::text IS NULL OR address = $3) ORDER BY address LIMIT $2`,
      [after, limit, only ?? null],
    );
    return rows.map((r) => ({
      address: r.address,
      ...identityKeysOf(r),
      entry: accountEntryFromRow(r),
    }));
  }
}
