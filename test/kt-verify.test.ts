/**
 * Key transparency, the verifying side, end to end (docs/transparency.md §8, §11.4, §12.6): two
 * nodes on loopback (a.test, b.test) with a nameserver, and the CLI of alice@a.test and
 * bob@b.test. What a node operator can do behind the log is done to node b's database by
 * hand, as such an operator would: every attack is refused by node a, which relays, and by
 * alice's client, which checks even what its own node relays; an impostor entry is found by
 * bob's own monitor.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { runAdmin } from '../src/admin/admin-program.js';
import { PG_POOL } from '../src/database/pg-pool.js';
import { randomBytes } from '../src/protocol/crypto.js';
import { toB64u } from '../src/protocol/encoding.js';
import { signPrekey, type PrekeyKind } from '../src/protocol/keys.js';
import { formatCheckpoint } from '../src/protocol/transparency/checkpoint.js';
import { proveLabel, registrationEntry } from '../src/protocol/transparency/entry.js';
import { ed25519NoteSigner, signNote } from '../src/protocol/transparency/note.js';
import { TransparencyRepository } from '../src/transparency/transparency.repository.js';
import { registerTestHome, runKeypears, withPassphrase, type CliRun } from './support/cli.js';
import { startTestNameserver, type LoopbackNameserver } from './support/dns-server.js';
import { startTestNode, type TestNode } from './support/test-node.js';
import { Clock } from '../src/common/clock.js';
import { HEAD_CACHE_MS } from '../src/transparency/transparency.service.js';

/**
 * Node b's clock: the wall clock, moved ahead by the test past b's in-memory head (kept for
 * HEAD_CACHE_MS) each time the test changes b's log behind b's back, as a real tamperer's
 * change would be seen once that second has passed.
 */
class AheadClock extends Clock {
  private ahead = 0;
  override now(): Date {
    return new Date(Date.now() + this.ahead);
  }
  passHeadCache(): void {
    this.ahead += HEAD_CACHE_MS + 1;
  }
}
const bClock = new AheadClock();
import { testAccount } from './support/transparency-log.js';

let ns: LoopbackNameserver;
let a: TestNode;
let b: TestNode;
const homes: string[] = [];
let env: Record<string, string>;
let alice: string;
let bob: string;

/** A keystore home for `address`, registered with prekeys. */
async function home(t: TestNode, address: string): Promise<string> {
  const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'kp-kt-')), 'home');
  homes.push(path.dirname(dir));
  await registerTestHome(t, address, dir);
  return dir;
}

const cli = (dir: string, ...args: string[]): Promise<CliRun> => runKeypears(['--home', dir, '--json', ...args], env);
const codeOf = (run: CliRun) => (run.json.error as { code?: string } | undefined)?.code;
const sql = (t: TestNode, text: string, values?: unknown[]) =>
  t.node.app
    .get<pg.Pool>(PG_POOL)
    .query(text, values)
    .then((r) => r.rows);
/** Node a's resolve of a remote address, as any client of node a asks it. */
const resolveAtA = async (address: string) => {
  const res = await fetch(`${a.url}/api/v1/resolve/${address}`, { headers: { 'KeyPears-KT-Known': '0' } });
  return { status: res.status, body: (await res.json()) as { error?: { code: string }; identity?: unknown } };
};
const registerOnB = (address: string) => registerTestHome(b, address, undefined, 1);
const logSize = async (t: TestNode) => Number((await sql(t, 'SELECT size FROM kt_log'))[0].size);

beforeAll(async () => {
  ns = await startTestNameserver();
  const common = { KEYPEARS_DNS_SERVERS: ns.address, KEYPEARS_REGISTRATION_LIMIT_PER_SOURCE: '1000' };
  [a, b] = await Promise.all([
    startTestNode({ ...common, KEYPEARS_DOMAINS: 'a.test' }),
    startTestNode({ ...common, KEYPEARS_DOMAINS: 'b.test' }, { clock: bClock }),
  ]);
  ns.setTxt('_keypears.a.test', `v=KP1; node=${a.config.publicUrl}`);
  ns.setTxt('_keypears.b.test', `v=KP1; node=${b.config.publicUrl}`);
  env = withPassphrase({ KEYPEARS_DEV: '1', KEYPEARS_DNS_SERVERS: ns.address });
  [alice, bob] = await Promise.all([home(a, 'alice@a.test'), home(b, 'bob@b.test')]);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy(), ns?.stop()]);
  await Promise.all(homes.map((h) => rm(h, { recursive: true, force: true })));
});

describe('key transparency across two nodes', () => {
  it('(a) verifies the happy path in the relaying node and in the client', async () => {
    const resolved = await cli(alice, 'resolve', 'bob@b.test');
    expect(resolved.code).toBe(0);
    expect(resolved.json.transparency).toMatchObject({ origin: expect.stringMatching(/\/kt\/1$/), kind: 'register' });
    const started = await cli(alice, 'exchange', 'start', 'bob@b.test');
    expect(started.code).toBe(0);
    // Node a verified b's log before relaying the bundle, and keeps its state.
    const [peer] = await sql(a, 'SELECT origin, size, status FROM kt_peer_log');
    expect(peer).toMatchObject({ status: 'ok' });
    expect(Number(peer.size)).toBe(await logSize(b));
    const status = await cli(alice, 'kt', 'status');
    // b's log, pinned by alice's lookups, and her own node's, by her monitor.
    expect(status.json).toMatchObject({
      logs: expect.arrayContaining([
        expect.objectContaining({ domains: ['b.test'] }),
        expect.objectContaining({ domains: ['a.test'] }),
      ]),
      self: { indexes: [expect.any(Number)], foreign: [] },
    });
    // Bob's own monitor reads his log and finds only his entry.
    const monitor = await cli(bob, 'kt', 'monitor');
    expect(monitor).toMatchObject({ code: 0, json: { foreign: [] } });
  });

  it('(c) an impostor entry appended to the log for bob is reported by his monitor', async () => {
    const [log] = await sql(b, 'SELECT generation, origin, log_secret_key, vrf_secret_key FROM kt_log');
    const mallory = testAccount('bob@b.test', 'attacker', b.config.publicUrl);
    const { label } = proveLabel(new Uint8Array(log.vrf_secret_key), 'bob@b.test');
    const entry = registrationEntry({
      kind: 'register',
      address: 'bob@b.test',
      label,
      opening: randomBytes(32),
      record: {
        ...mallory.identity,
        nodeBaseUrl: b.config.publicUrl,
        registeredAt: 1,
        registrationProof: mallory.registrationProof,
      },
    });
    const signer = ed25519NoteSigner(log.origin, new Uint8Array(log.log_secret_key));
    const appended = await b.node.app
      .get(TransparencyRepository)
      .appendAlone(log.generation, [{ entry }], (size, root) =>
        signNote(formatCheckpoint({ origin: log.origin, size, root }), [signer]),
      );
    bClock.passHeadCache();
    const run = await cli(bob, 'kt', 'monitor');
    expect(run.code).toBe(1);
    expect(run.json.error).toMatchObject({
      code: 'kt_foreign_entry',
      details: { entries: [{ index: appended.indexes[0], entry: toB64u(entry) }] },
    });
    expect((await cli(bob, 'kt', 'status')).json).toMatchObject({
      self: { foreign: [expect.objectContaining({ index: appended.indexes[0] })] },
    });
  });

  it("(b) bob's keys swapped in b's database, re-signed by an attacker, are refused by node a and alice", async () => {
    const mallory = testAccount('bob@b.test', 'attacker', b.config.publicUrl);
    const [row] = await sql(b, `SELECT * FROM account WHERE address = 'bob@b.test'`);
    // Enough to serve the attacker's keys and pass the node's own check of the row against
    // its entry: the row, and the stored entry (the tree's stored hashes are left as they are).
    const swapped = registrationEntry({
      kind: 'register',
      address: 'bob@b.test',
      label: proveLabel(
        new Uint8Array((await sql(b, 'SELECT vrf_secret_key FROM kt_log'))[0].vrf_secret_key),
        'bob@b.test',
      ).label,
      opening: new Uint8Array(row.kt_opening),
      record: {
        ...mallory.identity,
        nodeBaseUrl: b.config.publicUrl,
        registeredAt: Number(row.registered_at),
        registrationProof: new Uint8Array(row.registration_proof),
      },
    });
    const pool = b.node.app.get<pg.Pool>(PG_POOL);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('ALTER TABLE kt_leaf DISABLE TRIGGER USER');
      await client.query('UPDATE kt_leaf SET entry = $1 WHERE idx = $2', [Buffer.from(swapped), row.kt_index]);
      await client.query('ALTER TABLE kt_leaf ENABLE TRIGGER USER');
      await client.query(
        `UPDATE account SET identity_key = $1, identity_dh_key = $2, identity_dh_signature = $3 WHERE id = $4`,
        [
          Buffer.from(mallory.identity.identityKey),
          Buffer.from(mallory.identity.identityDhKey.publicKey),
          Buffer.from(mallory.identity.identityDhKey.signature),
          row.id,
        ],
      );
      // Every prekey re-signed by the attacker's identity key, so that the bundle verifies under it.
      const resign = (kind: PrekeyKind, keyId: unknown, publicKey: Buffer) =>
        Buffer.from(
          signPrekey(
            { kind, address: 'bob@b.test', keyId: Number(keyId), publicKey: new Uint8Array(publicKey) },
            mallory.identitySecretKey,
          ),
        );
      await client.query(
        'UPDATE account SET signed_prekey_signature = $1, pq_last_resort_signature = $2 WHERE id = $3',
        [
          resign('signed-prekey', row.signed_prekey_id, row.signed_prekey),
          resign('pq-last-resort', row.pq_last_resort_id, row.pq_last_resort),
          row.id,
        ],
      );
      const oneTime = await client.query(
        'SELECT id, kind, key_id, public_key FROM one_time_prekey WHERE account_id = $1',
        [row.id],
      );
      for (const k of oneTime.rows) {
        await client.query('UPDATE one_time_prekey SET signature = $1 WHERE id = $2', [
          resign(k.kind === 'x25519' ? 'one-time-prekey' : 'pq-one-time', k.key_id, k.public_key),
          k.id,
        ]);
      }
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const resolved = await cli(alice, 'resolve', 'bob@b.test');
    expect(resolved.code).toBe(1);
    expect(codeOf(resolved)).toBe('kt_proof_invalid');
    const started = await cli(alice, 'exchange', 'start', 'bob@b.test');
    expect(started.code).toBe(1);
    expect(codeOf(started)).toMatch(/^kt_proof_invalid$/);
    // Node a refuses it too, and keeps the evidence.
    expect((await resolveAtA('bob@b.test')).body.error).toMatchObject({ code: 'kt_proof_invalid' });
    expect((await sql(a, `SELECT code FROM kt_evidence WHERE address = 'bob@b.test'`)).map((r) => r.code)).toContain(
      'kt_proof_invalid',
    );
  });

  it('(f, d) a rollback of b to an older snapshot is refused as stale, then as a fork once it grows again', async () => {
    await registerOnB('carol@b.test');
    const snapshot = (await sql(b, 'SELECT size, frontier FROM kt_log'))[0];
    const snapshotSize = Number(snapshot.size);
    await registerOnB('dave@b.test');
    await registerOnB('erin@b.test');
    expect((await resolveAtA('carol@b.test')).status).toBe(200);
    const seen = Number((await sql(a, 'SELECT size FROM kt_peer_log'))[0].size);
    expect(seen).toBe(snapshotSize + 2);

    // The operator restores the log tables as they were at the snapshot.
    const pool = b.node.app.get<pg.Pool>(PG_POOL);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      for (const table of ['kt_log', 'kt_leaf', 'kt_checkpoint'])
        await client.query(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
      await client.query('DELETE FROM kt_leaf WHERE idx >= $1', [snapshotSize]);
      await client.query('DELETE FROM kt_checkpoint WHERE size > $1', [snapshotSize]);
      await client.query('UPDATE kt_log SET size = $1, frontier = $2', [snapshot.size, snapshot.frontier]);
      // The accounts registered since go with the restore (their key history too).
      const later = `SELECT id FROM account WHERE address IN ('dave@b.test', 'erin@b.test')`;
      await client.query('ALTER TABLE key_event DISABLE TRIGGER USER');
      await client.query(`DELETE FROM key_event WHERE account_id IN (${later})`);
      await client.query('ALTER TABLE key_event ENABLE TRIGGER USER');
      await client.query(`DELETE FROM account WHERE id IN (${later})`);
      for (const table of ['kt_log', 'kt_leaf', 'kt_checkpoint'])
        await client.query(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    bClock.passHeadCache();
    expect((await resolveAtA('carol@b.test')).body.error).toMatchObject({ code: 'kt_stale' });
    // Appends after the restore make another tree past what node a saw: a fork.
    for (const name of ['frank', 'grace', 'heidi']) await registerOnB(`${name}@b.test`);
    expect((await resolveAtA('carol@b.test')).body.error).toMatchObject({ code: 'kt_log_inconsistent' });
    const [peer] = await sql(a, 'SELECT size, status FROM kt_peer_log');
    expect(peer).toMatchObject({ status: 'inconsistent' });
    expect(Number(peer.size)).toBe(seen);
  });

  it("the operator of node a lists its peers' logs, exports the evidence and clears a peer", async () => {
    const admin = async (args: string[]) => {
      let stdout = '';
      const code = await runAdmin(args, {
        env: {
          ...(a.config.databaseUrl ? { DATABASE_URL: a.config.databaseUrl } : {}),
          KEYPEARS_DATA_DIR: a.config.dataDir,
          KEYPEARS_DOMAINS: 'a.test',
        },
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: () => undefined },
      });
      return { code, stdout };
    };
    const peers = await admin(['kt', 'peers']);
    expect(peers.code).toBe(0);
    const [peer] = (JSON.parse(peers.stdout) as { peers: Array<{ origin: string; status: string; domains: string[] }> })
      .peers;
    expect(peer).toMatchObject({ status: 'inconsistent', domains: ['b.test'] });
    const evidence = await admin(['kt', 'evidence']);
    const codes = evidence.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { code: string }).code);
    expect(codes).toEqual(expect.arrayContaining(['kt_proof_invalid', 'kt_stale', 'kt_log_inconsistent']));
    expect((await admin(['kt', 'peer-clear', peer.origin])).code).toBe(0);
    expect(await sql(a, 'SELECT origin FROM kt_peer_log')).toEqual([]);
    // Pinned again at the next answer: the log as it is now.
    expect((await resolveAtA('carol@b.test')).status).toBe(200);
  });
});
