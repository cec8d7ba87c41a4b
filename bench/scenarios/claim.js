/**
 * Scenario 2 (prekey claim): POST /api/v1/identities/{address}/claim of a random user with
 * one-time prekeys, each request signed (RFC 9421, fresh nonce) by one of a few registered
 * local users, against the bare baseline running the node's one-statement atomic consume on an
 * identically seeded database. The two are measured in alternating rounds; each round's
 * requests are signed before it starts. After the run: no key handed out twice, and every key
 * that left the database was handed out.
 */
import { createDatabase, dropDatabase, insertSigners, seedUsers, userAddress, withClient } from '../lib/database.js';
import { measureSideBySide } from '../lib/load.js';
import { cpuNote, rate, row } from '../lib/report.js';
import { startBaseline, startNode } from '../lib/processes.js';
import { ed25519Keygen } from '../../dist/protocol/crypto.js';
import { signRequest } from '../../dist/protocol/http-signature.js';

const DOMAIN = 'bench.example';
const TARGETS = 2_000;
/** Per kind and target: 2,000 x 50 = 100,000 claims before any user falls back to last resort. */
const PREKEYS_PER_TARGET = 50;
const SIGNERS = 20;
/** Enough for a round and its warm-up at several times the claim rate seen on a 2-CPU machine. */
const PRESIGNED_PER_ROUND = 12_000;

/** Collects the keys in every answer, to find any handed out twice. */
function keyLedger() {
  const seen = new Set();
  let handedOut = 0;
  let duplicates = 0;
  let lastResort = 0;
  let sent = 0;
  let answered = 0;
  return {
    sent: () => sent++,
    onResponse(status, body) {
      answered++;
      if (status !== 200) return;
      const bundle = JSON.parse(body);
      if (bundle.usedLastResort) lastResort++;
      for (const [kind, key] of [
        ['x25519', bundle.oneTimePrekey],
        ['mlkem768', bundle.pqOneTimePrekey],
      ]) {
        if (!key) continue;
        handedOut++;
        const id = `${bundle.address} ${kind} ${key.id}`;
        if (seen.has(id)) duplicates++;
        seen.add(id);
      }
    },
    /** `cutOff`: requests sent but never answered because the load generator stopped. */
    summary: () => ({ handedOut, duplicates, lastResort, cutOff: sent - answered }),
  };
}

const countPrekeys = (url) =>
  withClient(url, async (c) => Number((await c.query('SELECT count(*) AS n FROM one_time_prekey')).rows[0].n));

const randomTarget = () => encodeURIComponent(userAddress(Math.floor(Math.random() * TARGETS), DOMAIN));

export async function run() {
  const ourDb = await createDatabase('claim');
  const baseDb = await createDatabase('claim_baseline');
  try {
    const seed = { users: TARGETS, domain: DOMAIN, oneTimePrekeys: PREKEYS_PER_TARGET };
    await Promise.all([seedUsers(ourDb.url, seed), seedUsers(baseDb.url, seed)]);
    const signers = Array.from({ length: SIGNERS }, (_, i) => ({
      address: `claimer${i}@${DOMAIN}`,
      ...ed25519Keygen(),
    }));
    await insertSigners(
      ourDb.url,
      DOMAIN,
      signers.map((s) => ({ address: s.address, identityKey: s.publicKey })),
    );
    const before = await Promise.all([countPrekeys(ourDb.url), countPrekeys(baseDb.url)]);

    // Rate limits stay on (their two upserts per claim are part of the cost), with budgets the run cannot reach.
    const node = await startNode({
      name: 'claim-node',
      databaseUrl: ourDb.url,
      domains: [DOMAIN],
      env: { KEYPEARS_CLAIM_LIMIT_PER_SOURCE: '1000000', KEYPEARS_CLAIM_LIMIT_PER_PAIR: '1000000' },
    });
    const baseline = await startBaseline({ name: 'claim-baseline', databaseUrl: baseDb.url, domain: DOMAIN });
    try {
      const ourLedger = keyLedger();
      const baseLedger = keyLedger();
      // Signed before each round: signing is the client's work, and must not compete with the
      // node for this machine's CPUs while the node is measured.
      let signed = [];
      let signedOnTheSpot = 0;
      const sign = () => {
        const path = `/api/v1/identities/${randomTarget()}/claim`;
        const signer = signers[Math.floor(Math.random() * SIGNERS)];
        const headers = signRequest({
          method: 'POST',
          targetUri: `${node.url}${path}`,
          body: undefined,
          keyId: signer.address,
          secretKey: signer.secretKey,
        });
        return { path, headers };
      };
      const [ours, base] = await measureSideBySide([
        {
          target: node,
          beforeRound: () => {
            signed = Array.from({ length: PRESIGNED_PER_ROUND }, sign);
          },
          request: {
            method: 'POST',
            setupRequest: (req) => {
              ourLedger.sent();
              // Should a round outrun its signed requests, the rest are signed on the spot.
              return { ...req, ...(signed.pop() ?? (signedOnTheSpot++, sign())) };
            },
            onResponse: ourLedger.onResponse,
          },
        },
        {
          target: baseline,
          request: {
            method: 'POST',
            setupRequest: (req) => {
              baseLedger.sent();
              return { ...req, path: `/claim/${randomTarget()}` };
            },
            onResponse: baseLedger.onResponse,
          },
        },
      ]);
      const after = await Promise.all([countPrekeys(ourDb.url), countPrekeys(baseDb.url)]);
      const o = ourLedger.summary();
      const b = baseLedger.summary();
      // Keys deleted without an answer received: only possible for requests cut off at the end (2 keys each).
      const ourUnanswered = before[0] - after[0] - o.handedOut;
      const baseUnanswered = before[1] - after[1] - b.handedOut;
      const claim = row({
        scenario: '2. prekey claim',
        ours: rate(ours.requestsPerSecond),
        baseline: rate(base.requestsPerSecond),
        target: '>= 0.50, no key twice',
        p50: ours.latencyP50,
        p99: ours.latencyP99,
        peakRss: ours.peakRss,
        notes: [
          `node handed out ${o.handedOut} keys, ${o.duplicates} twice, ${o.lastResort} last-resort answers; ` +
            `${ourUnanswered} keys consumed by the ${o.cutOff} requests cut off when the load stopped`,
          `baseline ${b.handedOut} keys, ${b.duplicates} twice, ${baseUnanswered} consumed by ${b.cutOff} cut-off requests`,
          `baseline p50/p99 ${base.latencyP50}/${base.latencyP99} ms`,
          cpuNote(ours, base),
          signedOnTheSpot > 0 && `${signedOnTheSpot} requests signed during a measured round`,
          ours.non2xx && `node: ${ours.non2xx} non-2xx answers`,
        ]
          .filter(Boolean)
          .join('; '),
      });
      claim.met = claim.ratio >= 0.5 && o.duplicates === 0 && ourUnanswered <= 2 * o.cutOff;
      return [claim];
    } finally {
      await Promise.all([node.stop(), baseline.stop()]);
    }
  } finally {
    await Promise.all([dropDatabase(ourDb), dropDatabase(baseDb)]);
  }
}
