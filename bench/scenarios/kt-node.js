/**
 * Scenario 11 (key transparency on the node, docs/transparency.md §11-12), each figure beside a
 * baseline from the same run and the same build:
 * - lookups with proofs (`KeyPears-KT-Known`, a requester half a log behind, so every answer
 *   carries an inclusion and a consistency proof) against lookups without, on one node;
 * - answer sizes with and without, measured, and at a million entries (20-hash proofs);
 * - a client's verification of one answer (VRF, signatures, entry, proofs) against checking
 *   the identity's signatures only;
 * - registration latency: the registration service with its log append against the same
 *   account transaction without it, in one process on one database;
 * - the node's own backfill: start-up on BENCH_KT_BACKFILL_USERS accounts not yet logged
 *   against start-up on the same number already logged.
 * Figures only: nothing is asserted.
 */
import { randomBytes } from 'node:crypto';
import { withAdminContext } from '../../dist/admin/admin-context.js';
import { AccountRepository } from '../../dist/accounts/account.repository.js';
import { RegistrationService } from '../../dist/accounts/registration.service.js';
import { parseAddress } from '../../dist/protocol/address.js';
import { decodePublicIdentity, decodeRegistrationRequest } from '../../dist/protocol/wire.js';
import { verifyTransparencyMember } from '../../dist/protocol/transparency/wire.js';
import { buildRegistration, createKeystore } from '../../dist/sdk/identity.js';
import { createDatabase, dropDatabase, seedUsers, userAddress } from '../lib/database.js';
import { measureSideBySide } from '../lib/load.js';
import { cpuNote, rate, row, seconds } from '../lib/report.js';
import { freePort, startNode } from '../lib/processes.js';
import { logSeededAccounts } from '../lib/transparency-log.js';
import { settings } from '../lib/settings.js';
import { DOMAIN, lookupRequest, nodeLookupPath } from './lookup.js';

const BACKFILL_USERS = Number(process.env.BENCH_KT_BACKFILL_USERS || 2000);
const REGISTRATIONS = Number(process.env.BENCH_KT_REGISTRATIONS || 200);
/** Hashes of an inclusion proof in a tree of 2^20 (about a million) entries, and of a consistency proof into it. */
const MILLION_HASHES = 20;

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (v) => ({ value: v, text: `${v.toFixed(2)} ms` });
const bytes = (v) => ({ value: v, text: `${Math.round(v)} B` });

function timed(fn) {
  const start = performance.now();
  return Promise.resolve(fn()).then(() => performance.now() - start);
}

async function lookupFigures() {
  const database = await createDatabase('ktlookup');
  try {
    const seedMs = await seedUsers(database.url, { users: settings.users, domain: DOMAIN });
    const node = await startNode({ name: 'kt-lookup-node', databaseUrl: database.url, domains: [DOMAIN] });
    try {
      const head = await (await fetch(`${node.url}/kt/1/checkpoint`)).text();
      const size = Number(head.split('\n')[1]);
      const known = Math.floor(size / 2);
      const withProofs = {
        ...lookupRequest(settings.users, nodeLookupPath),
        headers: { 'KeyPears-KT-Known': String(known) },
      };
      const [ours, base] = await measureSideBySide([
        { target: { ...node, name: 'kt-lookup with proofs' }, request: withProofs },
        { target: { ...node, name: 'kt-lookup without' }, request: lookupRequest(settings.users, nodeLookupPath) },
      ]);
      // Answer sizes, and a client's verification, on a verifiable user.
      const address = userAddress(7, DOMAIN);
      const path = nodeLookupPath(encodeURIComponent(address));
      const plainText = await (await fetch(`${node.url}${path}`)).text();
      const provenText = await (
        await fetch(`${node.url}${path}`, { headers: { 'KeyPears-KT-Known': String(known) } })
      ).text();
      const proven = JSON.parse(provenText);
      const { transparency: member, ...identity } = proven;
      const hashChars = 46; // "<43 base64url characters>",
      const million =
        provenText.length +
        (MILLION_HASHES - member.inclusion.length) * hashChars +
        (MILLION_HASHES - (member.consistency?.proof.length ?? 0)) * hashChars;
      const verifyOnce = () => {
        const decoded = decodePublicIdentity(identity, address);
        const verdict = verifyTransparencyMember({ address, nodeUrl: node.url, identity: decoded, member });
        if (!verdict.ok) throw new Error(`${verdict.code}: ${verdict.message}`);
      };
      const signaturesOnce = () => decodePublicIdentity(identity, address);
      const per = (fn, n) => {
        for (let i = 0; i < 5; i++) fn();
        const start = performance.now();
        for (let i = 0; i < n; i++) fn();
        return (performance.now() - start) / n;
      };
      const verifyMs = per(verifyOnce, 50);
      const signaturesMs = per(signaturesOnce, 200);
      const ratio = ours.requestsPerSecond / base.requestsPerSecond;
      return [
        row({
          scenario: `11. lookup with proofs (${settings.users} users, log of ${size})`,
          ours: rate(ours.requestsPerSecond),
          baseline: rate(base.requestsPerSecond),
          baselineLabel: 'same node, no KeyPears-KT-Known',
          target: '>= 0.85',
          met: ratio >= 0.85,
          p50: ours.latencyP50,
          p99: ours.latencyP99,
          notes: [
            `seeded in ${(seedMs / 1000).toFixed(1)} s; requester knows size ${known} (inclusion ${member.inclusion.length} + consistency ${member.consistency?.proof.length ?? 0} hashes)`,
            `baseline p50/p99 ${base.latencyP50}/${base.latencyP99} ms`,
            cpuNote(ours, base, { oursLabel: 'with proofs', baseLabel: 'without' }),
            ours.non2xx || ours.errors ? `with proofs: ${ours.non2xx} non-2xx, ${ours.errors} errors` : '',
          ]
            .filter(Boolean)
            .join('; '),
        }),
        row({
          scenario: `11. lookup answer size (log of ${size})`,
          ours: bytes(provenText.length),
          baseline: bytes(plainText.length),
          baselineLabel: 'without the member',
          notes: `member ${provenText.length - plainText.length} B, of it checkpoint ${member.checkpoint.length} B`,
        }),
        row({
          scenario: '11. lookup answer size at 2^20 entries (20 + 20 hashes)',
          ours: bytes(million),
          baseline: bytes(plainText.length),
          baselineLabel: 'without the member',
          notes: 'the measured answer with its proofs lengthened to what a tree of 2^20 entries gives',
        }),
        row({
          scenario: '11. client verification per lookup',
          ours: ms(verifyMs),
          baseline: ms(signaturesMs),
          baselineLabel: 'identity signatures only',
          notes:
            'VRF proof, registration record, entry, checkpoint signature, inclusion and consistency; no label cache',
        }),
      ];
    } finally {
      await node.stop();
    }
  } finally {
    await dropDatabase(database);
  }
}

async function registrationFigures() {
  const database = await createDatabase('ktreg');
  try {
    const env = {
      DATABASE_URL: database.url,
      KEYPEARS_DOMAINS: DOMAIN,
      KEYPEARS_DEV: '1',
      KEYPEARS_REGISTRATION: 'open',
      KEYPEARS_PUBLIC_URL: 'http://127.0.0.1:4273',
      LOG_LEVEL: 'silent',
    };
    const io = { env, stdout: process.stdout, stderr: process.stderr };
    return await withAdminContext(io, async (app, config) => {
      const registration = app.get(RegistrationService);
      const accounts = app.get(AccountRepository);
      const request = (n) => {
        const now = Math.floor(Date.now() / 1000);
        return buildRegistration(
          createKeystore(`reg${n}-${randomBytes(3).toString('hex')}@${DOMAIN}`, config.publicUrl, now),
          now,
        );
      };
      const withLog = [];
      const without = [];
      await registration.register(request('warm'));
      for (let i = 0; i < REGISTRATIONS; i++) {
        // Alternating, so that a slow spell of the machine falls on both.
        const a = request(`a${i}`);
        withLog.push(await timed(() => registration.register(a)));
        const b = request(`b${i}`);
        without.push(
          await timed(async () => {
            const decoded = decodeRegistrationRequest(b, config.publicUrl);
            await accounts.create(
              {
                address: decoded.address,
                domain: parseAddress(decoded.address).domain,
                identityKey: decoded.identityKey,
                proof: decoded.proof,
                identityDhKey: decoded.identityDhKey,
              },
              { now: new Date(), inTransaction: async () => undefined },
            );
          }),
        );
      }
      withLog.sort((x, y) => x - y);
      without.sort((x, y) => x - y);
      return [
        row({
          scenario: `11. registration latency p50 (${REGISTRATIONS} each)`,
          ours: ms(percentile(withLog, 50)),
          baseline: ms(percentile(without, 50)),
          baselineLabel: 'same transaction without the log append',
          notes: `p99 ${percentile(withLog, 99).toFixed(2)} ms with the append (VRF proof, entry, stored hashes, signed checkpoint), ${percentile(without, 99).toFixed(2)} ms without; in one process, without HTTP`,
        }),
      ];
    });
  } finally {
    await dropDatabase(database);
  }
}

async function backfillFigures() {
  const unlogged = await createDatabase('ktbackfill');
  const logged = await createDatabase('ktlogged');
  try {
    await seedUsers(unlogged.url, { users: BACKFILL_USERS, domain: DOMAIN });
    await seedUsers(logged.url, { users: BACKFILL_USERS, domain: DOMAIN });
    const startMs = async (database, prelogged) => {
      const port = await freePort();
      // The baseline's log is written before the clock starts.
      if (prelogged) await logSeededAccounts(database.url, `http://127.0.0.1:${port}`);
      const started = performance.now();
      const node = await startNode({
        name: `kt-backfill-${prelogged ? 'logged' : 'unlogged'}`,
        databaseUrl: database.url,
        domains: [DOMAIN],
        port,
        logSeeded: false,
      });
      const took = performance.now() - started;
      await node.stop();
      return took;
    };
    const backfill = await startMs(unlogged, false);
    const baseline = await startMs(logged, true);
    const perAccount = (backfill - baseline) / BACKFILL_USERS;
    return [
      row({
        scenario: `11. start-up with the backfill of ${BACKFILL_USERS} accounts`,
        ours: seconds(backfill / 1000),
        baseline: seconds(baseline / 1000),
        baselineLabel: 'start-up with those accounts already logged',
        notes: `${perAccount.toFixed(2)} ms per account (a VRF proof, the entry, batches of 500 with a checkpoint each): about ${((perAccount * 1_000_000) / 60_000).toFixed(0)} min for a million`,
      }),
    ];
  } finally {
    await dropDatabase(unlogged);
    await dropDatabase(logged);
  }
}

export async function run() {
  return [...(await lookupFigures()), ...(await registrationFigures()), ...(await backfillFigures())];
}
