/**
 * A node's verification of other nodes' logs, as a service on a real database (no HTTP): the
 * pin on first sight, the state moved only forward (by the service and by the table's trigger),
 * each failure refused with its code and kept as evidence, a fork pausing the peer.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KtPeersModule } from '../../src/kt-peers/kt-peers.module.js';
import { PeerLogRepository } from '../../src/kt-peers/peer-log.repository.js';
import { PeerLogService, type RemoteIdentityCheck } from '../../src/kt-peers/peer-log.service.js';
import { formatLogAdvertisement } from '../../src/protocol/transparency/wire.js';
import { startServiceGraph, type ServiceGraph } from '../support/service-graph.js';
import { servedMember, testAccount, testEntries, testLog, type TestLog } from '../support/transparency-log.js';

const ORIGIN = 'kp.b.example/kt/1';
const bob = testAccount('bob@b.example', 'honest');
const mallory = testAccount('bob@b.example', 'attacker');

function history(size: number, tag: string): Uint8Array[] {
  const entries = testEntries(ORIGIN, size - 1, tag);
  entries[3] = bob.entry;
  return entries;
}
const honest = testLog(history(40, 'honest'));
/** Shares the honest log's first 20 entries, then differs (a node restored from an old snapshot). */
const fork = testLog(history(40, 'fork').map((e, i) => (i < 20 ? honest.entries[i] : e)));

let ctx: ServiceGraph;
let peers: PeerLogService;
let repository: PeerLogRepository;

beforeAll(async () => {
  ctx = await startServiceGraph({ imports: [KtPeersModule], start: new Date(Date.UTC(2026, 0, 5)) });
  peers = ctx.module.get(PeerLogService);
  repository = ctx.module.get(PeerLogRepository);
});

afterAll(async () => {
  await ctx?.close();
});

/** A check of bob's identity served from `log` at `size`, for the domain `domain`. */
async function check(domain: string, log: TestLog, size: number, more: Partial<RemoteIdentityCheck> = {}) {
  const known = await peers.knownSize(domain);
  return peers.verify({
    address: bob.address,
    domain,
    nodeUrl: bob.nodeUrl,
    identity: bob.identity,
    member: servedMember(bob, log, 3, size, known),
    advertised: formatLogAdvertisement(log.identity, `https://${log.identity.origin}`),
    ...more,
  });
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: { code: string; details?: { evidenceId?: string } }) => e.code,
  );

const sizeOf = async (origin = ORIGIN) => (await repository.read('-', origin)).log?.state.size;
const evidenceCodes = async () => (await repository.listEvidence()).map((e) => e.code);

describe('a peer log', () => {
  it('is pinned on first sight and advances with later answers', async () => {
    await expect(check('b.example', honest, 10)).resolves.toMatchObject({ origin: ORIGIN, index: 3 });
    expect(await repository.read('b.example', undefined)).toMatchObject({
      pinnedOrigin: ORIGIN,
      log: { status: 'ok', state: { size: 10 } },
    });
    await check('b.example', honest, 25);
    expect(await sizeOf()).toBe(25);
  });

  it('refuses a stale checkpoint (a rollback to an older snapshot) and keeps the newer head', async () => {
    expect(await refusal(check('b.example', honest, 18))).toBe('kt_stale');
    expect(await sizeOf()).toBe(25);
    expect((await repository.listEvidence()).at(-1)).toMatchObject({
      code: 'kt_stale',
      domain: 'b.example',
      origin: ORIGIN,
      address: bob.address,
      evidence: { storedCheckpoint: honest.checkpoint(25), answeredCheckpoint: honest.checkpoint(18) },
    });
  });

  it('refuses an answer without proofs once the log is pinned, and a log no longer advertised', async () => {
    expect(await refusal(check('b.example', honest, 30, { member: undefined }))).toBe('kt_proof_missing');
    expect(await refusal(check('b.example', honest, 30, { advertised: null }))).toBe('kt_proof_missing');
    expect(await sizeOf()).toBe(25);
  });

  it('refuses a key swapped behind the log, and a log under another key', async () => {
    expect(await refusal(check('b.example', honest, 30, { identity: mallory.identity }))).toBe('kt_proof_invalid');
    const other = testLog(history(40, 'honest'), { keySeed: 77 });
    expect(await refusal(check('b.example', other, 30))).toBe('kt_log_reset');
    expect(await sizeOf()).toBe(25);
  });

  it('takes a peer that never showed a log unverified, and pins nothing for it', async () => {
    await expect(check('c.example', honest, 10, { member: undefined, advertised: null })).resolves.toBeUndefined();
    expect(await repository.read('c.example', undefined)).toEqual({});
  });

  it('flags a fork, keeps both notes, and refuses the log from then on', async () => {
    expect(await refusal(check('b.example', fork, 30))).toBe('kt_log_inconsistent');
    const evidence = (await repository.listEvidence()).at(-1)!;
    expect(evidence.evidence).toMatchObject({
      storedCheckpoint: honest.checkpoint(25),
      answeredCheckpoint: fork.checkpoint(30),
      consistency: { from: 25, to: 30 },
    });
    expect((await repository.read('b.example', undefined)).log?.status).toBe('inconsistent');
    expect(await refusal(check('b.example', honest, 30))).toBe('kt_log_inconsistent');
    expect(await sizeOf()).toBe(25);
    expect(await evidenceCodes()).toEqual([
      'kt_stale',
      'kt_proof_missing',
      'kt_proof_missing',
      'kt_proof_invalid',
      'kt_log_reset',
      'kt_log_inconsistent',
    ]);
  });
});

describe('the stored state', () => {
  const origin = 'kp.d.example/kt/1';
  const log = testLog(testEntries(origin, 30, 'd'), { origin });
  const state = (size: number) => ({ log: log.identity, size, root: log.root(size), checkpoint: log.checkpoint(size) });

  it('moves by compare-and-swap: an advance from a head that is no longer stored does nothing', async () => {
    const now = new Date();
    expect(await repository.insertFirst(state(5), now)).toBe(true);
    expect(await repository.insertFirst(state(9), now)).toBe(false);
    expect(await repository.advance(state(5), state(12), now)).toBe(true);
    expect(await repository.advance(state(5), state(20), now)).toBe(false);
    expect(await sizeOf(origin)).toBe(12);
  });

  it('never goes backwards, whatever writes it', async () => {
    await expect(ctx.query(`UPDATE kt_peer_log SET size = 3 WHERE origin = $1`, [origin])).rejects.toThrow(
      /never goes backwards/,
    );
    await expect(
      ctx.query(`UPDATE kt_peer_log SET root = $2 WHERE origin = $1`, [origin, Buffer.from(log.root(11))]),
    ).rejects.toThrow(/never goes backwards/);
    await expect(ctx.query(`UPDATE kt_peer_log SET log_key = 'x' WHERE origin = $1`, [origin])).rejects.toThrow(
      /never changes/,
    );
    await expect(ctx.query(`DELETE FROM kt_evidence`)).rejects.toThrow(/append-only/);
    expect(await sizeOf(origin)).toBe(12);
  });
});
