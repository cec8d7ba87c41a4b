/**
 * The node's transparency log as services on a real database (docs/transparency.md §12): the
 * backfill of accounts older than the log, appends in the registration's transaction, the
 * append-only tables, and the self-check that refuses an account row changed behind the log.
 * Every proof served is verified with the protocol core, as a client would.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccountRepository } from '../../src/accounts/account.repository.js';
import { AccountsModule } from '../../src/accounts/accounts.module.js';
import { RegistrationService } from '../../src/accounts/registration.service.js';
import { DirectoryModule } from '../../src/directory/directory.module.js';
import { DirectoryService } from '../../src/directory/directory.service.js';
import { NodeMetrics } from '../../src/metrics/node-metrics.js';
import { parseAddress } from '../../src/protocol/address.js';
import { ed25519Keygen } from '../../src/protocol/crypto.js';
import { fromB64u, toB64u } from '../../src/protocol/encoding.js';
import type { LogState } from '../../src/protocol/transparency/log-verifier.js';
import { verifyTransparencyMember, type WithTransparency } from '../../src/protocol/transparency/wire.js';
import { decodePublicIdentity, type PublicIdentity } from '../../src/protocol/wire.js';
import { buildRegistration, createKeystore } from '../../src/sdk/identity.js';
import { LogAuditService } from '../../src/transparency/log-audit.service.js';
import { TransparencyModule } from '../../src/transparency/transparency.module.js';
import { TransparencyService } from '../../src/transparency/transparency.service.js';
import { expectAsyncCode } from '../support/expect-error.js';
import { startServiceGraph, type ServiceGraph } from '../support/service-graph.js';
import { localUser } from '../support/service-users.js';

const START = new Date(Date.UTC(2026, 2, 1, 9, 0, 0));
let graph: ServiceGraph;
let transparency: TransparencyService;
let directory: DirectoryService;
let audit: LogAuditService;

/** Creates an account as a node without a log did: the account and its key history, no entry. */
async function accountBeforeTheLog(address: string, proofTimestampOffset: number, badProof = false) {
  const now = graph.clock.unixSeconds();
  const ks = createKeystore(address, graph.config.publicUrl, now);
  const request = buildRegistration(ks, now + proofTimestampOffset);
  await graph.module.get(AccountRepository).create(
    {
      address,
      domain: parseAddress(address).domain,
      identityKey: fromB64u(request.identityKey),
      proof: badProof ? new Uint8Array(64).fill(1) : fromB64u(request.proof),
      identityDhKey: {
        id: request.identityDhKey.id,
        publicKey: fromB64u(request.identityDhKey.publicKey),
        signature: fromB64u(request.identityDhKey.signature),
      },
    },
    { now: graph.clock.now(), inTransaction: async () => undefined },
  );
  return { ks, request };
}

/** An identity lookup with the member, verified from `state` as a client would. */
async function verifiedLookup(address: string, state?: LogState) {
  const answer = (await directory.lookupPublicIdentity(
    parseAddress(address),
    state?.size ?? 0,
  )) as WithTransparency<PublicIdentity>;
  const { transparency: member, ...identity } = answer;
  const verdict = verifyTransparencyMember({
    address,
    nodeUrl: graph.config.publicUrl,
    identity: decodePublicIdentity(identity, address),
    member,
    state,
  });
  if (!verdict.ok) throw new Error(`${verdict.code}: ${verdict.message}`);
  return { member: member!, state: verdict.state };
}

beforeAll(async () => {
  graph = await startServiceGraph({
    imports: [AccountsModule, DirectoryModule, TransparencyModule],
    env: { KEYPEARS_DOMAINS: 'a.example', KEYPEARS_REGISTRATION: 'open' },
    start: START,
  });
  transparency = graph.module.get(TransparencyService);
  directory = graph.module.get(DirectoryService);
  audit = graph.module.get(LogAuditService);
}, 60_000);

afterAll(async () => {
  await graph?.close();
});

describe('the backfill', () => {
  it('logs accounts older than the log as imports, with the timestamp their proof was made for', async () => {
    const created: number[] = [];
    const before = async (address: string, offset: number, badProof = false) => {
      created.push(graph.clock.unixSeconds());
      await accountBeforeTheLog(address, offset, badProof);
      graph.clock.set(graph.clock.now().getTime() + 1000);
    };
    await before('old1@a.example', 7);
    await before('old2@a.example', -250);
    // The third one's stored proof does not verify (a key history written by hand): an import without one.
    await before('old3@a.example', 0, true);
    expect(transparency.advertised()).toBeUndefined();
    await transparency.started();
    // Log-start at 0, then the three imports in creation order: the log is advertised from size 4.
    expect(transparency.advertised()).toMatchObject({ importEnd: 4 });
    const status = await audit.status();
    expect(status).toMatchObject({ generation: 1, size: 4, importEnd: 4, advertised: true });
    const rows = await graph.query(
      'SELECT address, kt_index, kt_kind, registered_at FROM account WHERE kt_index IS NOT NULL ORDER BY kt_index',
    );
    expect(
      rows.map((r) => [r.address, Number(r.kt_index), r.kt_kind, r.registered_at && Number(r.registered_at)]),
    ).toEqual([
      ['old1@a.example', 1, 'import', created[0] + 7],
      ['old2@a.example', 2, 'import', created[1] - 250],
      ['old3@a.example', 3, 'import', null],
    ]);
  });

  it('appends registrations after the imports', async () => {
    // (The imported accounts published no prekeys, so they cannot be looked up; lookups of
    // imports are checked end to end.)
    const user = await localUser(graph, 'new1@a.example', 1);
    const { member } = await verifiedLookup(user.ks.address);
    expect(member).toMatchObject({ kind: 'register', index: 4 });
  });
});

describe('appends', () => {
  it('every registration is one entry and one checkpoint, in the account transaction', async () => {
    const before = (await audit.status()).size;
    const first = await verifiedLookup((await localUser(graph, 'new2@a.example', 1)).ks.address);
    await localUser(graph, 'new3@a.example', 1);
    const later = await verifiedLookup('new2@a.example', first.state);
    expect(later.member.consistency?.from).toBe(first.state.size);
    expect(later.state.size).toBe(before + 2);
    const checkpoints = await graph.query('SELECT size FROM kt_checkpoint ORDER BY size');
    expect(checkpoints.map((r) => Number(r.size)).slice(-3)).toEqual([before, before + 1, before + 2]);
  });

  it('a registration that fails (address taken) appends nothing', async () => {
    const before = (await audit.status()).size;
    const ks = createKeystore('new2@a.example', graph.config.publicUrl, graph.clock.unixSeconds());
    await expectAsyncCode(
      graph.module.get(RegistrationService).register(buildRegistration(ks, graph.clock.unixSeconds())),
      'address_taken',
    );
    expect((await audit.status()).size).toBe(before);
    const leaves = await graph.query('SELECT count(*)::int AS n FROM kt_leaf');
    expect(leaves[0].n).toBe(before);
  });
});

describe('the append-only tables', () => {
  it.each([
    ['UPDATE kt_leaf SET entry = entry WHERE idx = 1'],
    ['DELETE FROM kt_leaf WHERE idx = 1'],
    ['TRUNCATE kt_leaf CASCADE'],
    ["UPDATE kt_checkpoint SET note = note || '' WHERE size = 1"],
    ['DELETE FROM kt_checkpoint WHERE size = 1'],
    ['TRUNCATE kt_checkpoint'],
    ['DELETE FROM kt_log'],
    ['UPDATE kt_log SET size = size - 1'],
    ['UPDATE kt_log SET import_end = import_end + 1'],
    ["UPDATE kt_log SET log_secret_key = '\\x00'"],
    ["UPDATE account SET kt_opening = '\\x00' WHERE address = 'new1@a.example'"],
    ["UPDATE account SET kt_index = 1000 WHERE address = 'new1@a.example'"],
  ])('refuse %s', async (statement) => {
    await expect(graph.query(statement)).rejects.toThrow(/transparency/);
  });

  it('still accept what the node does: a longer head, an account row update', async () => {
    await expect(
      graph.query("UPDATE account SET signed_prekey_at = now() WHERE address = 'new1@a.example'"),
    ).resolves.toBeDefined();
  });
});

describe('the self-check', () => {
  it('refuses an account whose identity key was swapped in the database, and raises the alarm', async () => {
    const victim = await localUser(graph, 'victim@a.example', 2);
    await verifiedLookup(victim.ks.address);
    const alarms = async () => (await graph.module.get(NodeMetrics).ktSelfCheckFailures.get()).values[0]?.value ?? 0;
    const before = await alarms();
    const attacker = ed25519Keygen();
    await graph.query('UPDATE account SET identity_key = $1 WHERE address = $2', [
      Buffer.from(attacker.publicKey),
      victim.ks.address,
    ]);
    await expectAsyncCode(directory.lookupPublicIdentity(parseAddress(victim.ks.address)), 'kt_entry_mismatch');
    await expectAsyncCode(directory.lookupPublicIdentity(parseAddress(victim.ks.address), 0), 'kt_entry_mismatch');
    await expectAsyncCode(
      directory.claimBundle(parseAddress(victim.ks.address), { address: 'x@b.example', source: '192.0.2.1' }, 0),
      'kt_entry_mismatch',
    );
    expect(await alarms()).toBe(before + 3);
  });

  it('refuses a changed identity DH key, and an account inserted behind the log', async () => {
    const victim = await localUser(graph, 'victim2@a.example', 1);
    await graph.query('UPDATE account SET identity_dh_key_id = identity_dh_key_id + 1 WHERE address = $1', [
      victim.ks.address,
    ]);
    await expectAsyncCode(directory.lookupPublicIdentity(parseAddress(victim.ks.address)), 'kt_entry_mismatch');
    // A row inserted behind the log: a copy of a served account's keys under another address.
    const copied = await localUser(graph, 'copied@a.example', 1);
    await graph.query(
      `INSERT INTO account (id, address, domain, identity_key, identity_dh_key_id, identity_dh_key,
         identity_dh_signature, signed_prekey_id, signed_prekey, signed_prekey_signature, pq_last_resort_id,
         pq_last_resort, pq_last_resort_signature)
       SELECT gen_random_uuid(), 'inserted@a.example', domain, identity_key, identity_dh_key_id, identity_dh_key,
         identity_dh_signature, signed_prekey_id, signed_prekey, signed_prekey_signature, pq_last_resort_id,
         pq_last_resort, pq_last_resort_signature
         FROM account WHERE address = $1`,
      [copied.ks.address],
    );
    await expectAsyncCode(directory.lookupPublicIdentity(parseAddress('inserted@a.example')), 'kt_entry_mismatch');
    // And one whose address was changed in place: the commitment covers the address.
    await graph.query("UPDATE account SET address = 'renamed@a.example' WHERE address = $1", [copied.ks.address]);
    await expectAsyncCode(directory.lookupPublicIdentity(parseAddress('renamed@a.example')), 'kt_entry_mismatch');
  });

  it('serves the served record again once the row is restored', async () => {
    const user = await localUser(graph, 'restored@a.example', 1);
    const [row] = await graph.query('SELECT identity_key FROM account WHERE address = $1', [user.ks.address]);
    await graph.query('UPDATE account SET identity_key = $1 WHERE address = $2', [
      Buffer.alloc(32, 9),
      user.ks.address,
    ]);
    await expectAsyncCode(directory.lookupPublicIdentity(parseAddress(user.ks.address)), 'kt_entry_mismatch');
    await graph.query('UPDATE account SET identity_key = $1 WHERE address = $2', [row.identity_key, user.ks.address]);
    const { member } = await verifiedLookup(user.ks.address);
    expect(toB64u(fromB64u(member.opening))).toBe(member.opening);
  });
});

describe('the full check (admin kt verify)', () => {
  it('finds the accounts changed behind the log above, and nothing else', async () => {
    const report = await audit.verify();
    expect(report.ok).toBe(false);
    const named = report.problems.map((p) => p.split(':')[0]).sort();
    expect(named).toEqual(['inserted@a.example', 'renamed@a.example', 'victim2@a.example', 'victim@a.example']);
    expect(report.size).toBe((await audit.status()).size);
  });
});
