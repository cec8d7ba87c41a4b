/**
 * What an operator checks and keeps of the log (`npm run admin -- kt status|verify|export`,
 * docs/operators.md "Key transparency"): its head, a full check of everything stored against
 * everything signed, and the evidence and keys to keep outside the database. Reads only: it
 * never creates or extends the log (an operator command may run with another environment).
 */
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { ed25519PublicKey } from '../protocol/crypto.js';
import { equalBytes, toB64u } from '../protocol/encoding.js';
import { KeyPearsError } from '../protocol/errors.js';
import { formatTlogProof, openCheckpoint } from '../protocol/transparency/checkpoint.js';
import { decodeEntry, LOG_START_LABEL } from '../protocol/transparency/entry.js';
import { formatVerifierKey, SIGNATURE_TYPE_ED25519 } from '../protocol/transparency/note.js';
import { appendEntry, rootFromFrontier } from '../protocol/transparency/tree-storage.js';
import { vrfProofToHash } from '../protocol/transparency/vrf.js';
import { logOrigin, logUrl } from '../protocol/transparency/wire.js';
import { type StoredLog, TransparencyRepository } from './transparency.repository.js';
import { TransparencyService } from './transparency.service.js';

/** Entries read per query by a full check. */
const VERIFY_PAGE = 5000;

export interface LogStatusReport {
  generation: number;
  origin: string;
  /** The log URL derived from the configured node URL. */
  log: string;
  /** False when the configured node URL gives another origin (the node would start a new generation). */
  originMatchesConfig: boolean;
  size: number;
  importEnd: number | null;
  advertised: boolean;
  checkpoint: string | null;
  logKey: string;
  vrfKey: string;
  /** Accounts without an entry in this generation. */
  unlogged: number;
}

export interface VerifyReport {
  ok: boolean;
  size: number;
  checkpoints: number;
  accounts: number;
  /** What does not hold, at most 100 lines. */
  problems: string[];
}

const MAX_PROBLEMS = 100;

@Injectable()
export class LogAuditService {
  constructor(
    private readonly repository: TransparencyRepository,
    private readonly transparency: TransparencyService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private async stored(): Promise<StoredLog> {
    const log = await this.repository.currentLog();
    if (!log)
      throw new KeyPearsError('not_found', 'this node has no transparency log yet (it starts one when it starts)');
    return log;
  }

  private logKeyOf(log: StoredLog): string {
    return formatVerifierKey(log.origin, SIGNATURE_TYPE_ED25519, log.logPublicKey);
  }

  async status(): Promise<LogStatusReport> {
    const log = await this.stored();
    const head = await this.repository.latestCheckpoint(log.generation);
    let expected: string | undefined;
    try {
      expected = logOrigin(this.config.publicUrl, log.generation);
    } catch {
      expected = undefined;
    }
    return {
      generation: log.generation,
      origin: log.origin,
      log: logUrl(this.config.publicUrl, log.generation),
      originMatchesConfig: expected === log.origin,
      size: log.size,
      importEnd: log.importEnd,
      advertised: log.importEnd !== null,
      checkpoint: head?.note ?? null,
      logKey: this.logKeyOf(log),
      vrfKey: toB64u(log.vrfPublicKey),
      unlogged: await this.repository.countUnlogged(log.generation),
    };
  }

  /**
   * Rebuilds the whole tree from the stored entries and checks it against everything stored
   * and signed: each entry decodes and its kind fits its index, each row of stored hashes is
   * the one an append computes, the stored frontier is the final one, every checkpoint is
   * signed by the log key and names the root of its size, and every account matches its entry
   * (the lookup self-check) with a label its VRF proof gives.
   */
  async verify(): Promise<VerifyReport> {
    const log = await this.stored();
    const problems: string[] = [];
    const problem = (text: string) => {
      if (problems.length < MAX_PROBLEMS) problems.push(text);
    };
    const logKey = this.logKeyOf(log);
    if (!equalBytes(ed25519PublicKey(log.logSecretKey), log.logPublicKey))
      problem("the log secret key is not the published one's");
    const checkpoints = new Map((await this.repository.checkpoints(log.generation)).map((c) => [c.size, c.note]));
    const labels = new Map<string, number>();
    let frontier: Uint8Array[] = [];
    let size = 0;
    const checkHead = () => {
      const note = checkpoints.get(size);
      if (note === undefined) return;
      try {
        const { checkpoint } = openCheckpoint(note, logKey);
        if (checkpoint.origin !== log.origin || checkpoint.size !== size)
          problem(`checkpoint ${size} names another head`);
        else if (!equalBytes(checkpoint.root, rootFromFrontier(frontier)))
          problem(`checkpoint ${size} has another root than the entries give`);
      } catch (e) {
        problem(`checkpoint ${size} does not verify: ${(e as Error).message}`);
      }
    };
    for (let start = 0; start < log.size; start += VERIFY_PAGE) {
      const leaves = await this.repository.readLeaves(log.generation, start, Math.min(log.size, start + VERIFY_PAGE));
      if (leaves.length !== Math.min(VERIFY_PAGE, log.size - start)) problem(`entries from ${start} are missing`);
      for (const { entry, hashes } of leaves) {
        const index = size;
        try {
          const decoded = decodeEntry(entry);
          const allowed =
            decoded.kind === 'log-start'
              ? index === 0
              : decoded.kind === 'import'
                ? index > 0 && (log.importEnd === null || index < log.importEnd)
                : index > 0;
          if (!allowed) problem(`entry ${index}: a ${decoded.kind} entry cannot be at index ${index}`);
          if (decoded.kind !== 'log-start') {
            const key = toB64u(decoded.label);
            const first = labels.get(key);
            if (first !== undefined) problem(`entries ${first} and ${index} have the same label`);
            else labels.set(key, index);
          } else if (!equalBytes(decoded.label, LOG_START_LABEL)) {
            problem('the log-start entry has a label');
          }
        } catch {
          problem(`entry ${index} does not decode`);
        }
        const appended = appendEntry(frontier, size, entry);
        if (!equalBytes(appended.row, hashes)) problem(`the stored hashes of entry ${index} are not the entry's`);
        frontier = appended.frontier;
        size++;
        checkHead();
      }
    }
    const storedRoot = rootFromFrontier(log.frontier);
    if (!equalBytes(storedRoot, rootFromFrontier(frontier))) problem("the stored frontier is not the entries'");
    if (!checkpoints.has(log.size)) problem(`there is no checkpoint of the current size ${log.size}`);
    for (const s of checkpoints.keys()) if (s > log.size) problem(`checkpoint ${s} is beyond the log's size`);

    let accounts = 0;
    for (let after = ''; ;) {
      const page = await this.repository.accountPage(after, VERIFY_PAGE);
      if (page.length === 0) break;
      for (const account of page) {
        accounts++;
        const why = this.transparency.entryProblem(account, log.importEnd !== null);
        if (why) problem(`${account.address}: ${why}`);
        else if (account.entry && account.entry.storedEntry) {
          const label = vrfProofToHash(account.entry.vrfProof).slice(0, 32);
          if (!equalBytes(label, decodeEntry(account.entry.storedEntry).label)) {
            problem(`${account.address}: its VRF proof gives another label than its entry's`);
          }
        }
      }
      after = page[page.length - 1].address;
    }
    return { ok: problems.length === 0, size: log.size, checkpoints: checkpoints.size, accounts, problems };
  }

  /**
   * The evidence to keep outside the database: the log's identity and its latest checkpoint
   * (a later head must be consistent with it: restoring an older database is then detected),
   * optionally a tlog-proof of one address's entry, and with `secretKeys` the log and VRF
   * secret keys (for an offline backup).
   */
  async export(options: { address?: string; secretKeys?: boolean }) {
    const log = await this.stored();
    const head = await this.repository.latestCheckpoint(log.generation);
    const out: Record<string, unknown> = {
      generation: log.generation,
      origin: log.origin,
      logKey: this.logKeyOf(log),
      vrfKey: toB64u(log.vrfPublicKey),
      startedAt: log.startedAt,
      importEnd: log.importEnd,
      size: head?.size ?? 0,
      checkpoint: head?.note ?? null,
    };
    if (options.address !== undefined && head) {
      const account = await this.repository.accountEntry(options.address);
      if (!account?.entry || account.entry.generation !== log.generation) {
        throw new KeyPearsError('not_found', `${options.address} has no entry in this log`);
      }
      const { index } = account.entry;
      const [entry] = await this.repository.readEntries(log.generation, index, index + 1);
      out.entry = {
        address: options.address,
        index,
        tlogProof: formatTlogProof({
          extra: entry,
          index,
          inclusion: await this.transparency.proveInclusion(log.generation, index, head.size),
          checkpoint: head.note,
        }),
      };
    }
    if (options.secretKeys) {
      out.secretKeys = { log: toB64u(log.logSecretKey), vrf: toB64u(log.vrfSecretKey) };
    }
    return out;
  }
}
