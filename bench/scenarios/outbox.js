/**
 * Scenario 7 (outbox drain): 10,000 initiations for one peer wait in node A's outbox while A is
 * stopped; A starts, and the time until every one is delivered to node B is measured. Twice in
 * one run, each with 10,000 messages of its own: first with one federation request per message
 * (KEYPEARS_FEDERATION_BATCH_MAX=1, the baseline), then in batches (docs/protocol.md §9.5, the
 * default). Both use the same lanes and keep-alive connections; only the batching differs.
 *
 * The messages are genuine: each is an initiation Alice's keys signed for Bob's last-resort
 * keys, with Alice's identity as her node publishes it, so B checks every signature as it would
 * for any delivery. They are written into A's outbox directly (what `POST /api/v1/exchanges`
 * writes, without its exchange row), so queueing 10,000 takes seconds instead of minutes.
 * Afterwards: every message arrived at B exactly once, and none failed.
 */
import { initiateExchange } from '../../dist/protocol/exchange.js';
import { withClient } from '../lib/database.js';
import { nowSeconds, registerUser, startFederation } from '../lib/federation.js';
import { rate, row } from '../lib/report.js';
import { sleep } from '../lib/processes.js';
import { settings } from '../lib/settings.js';

const BACKOFF_MAX_MS = 2000;
const DRAIN_TIMEOUT_MS = 10 * 60_000;
const INSERT_CHUNK = 500;

const outboxState = (node) =>
  withClient(node.database.url, async (c) => {
    const { rows } = await c.query(`SELECT count(*) FILTER (WHERE delivered_at IS NOT NULL) AS delivered,
        count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed, count(*) AS total FROM outbox_message`);
    return { delivered: Number(rows[0].delivered), failed: Number(rows[0].failed), total: Number(rows[0].total) };
  });

/** `count` initiation messages from Alice to Bob, as A's outbox stores them. */
function messagesFor(alice, bundle, decoded, identity, count) {
  return Array.from({ length: count }, () => {
    const { initiation } = initiateExchange({
      self: {
        address: alice.ks.address,
        identitySecretKey: alice.ks.identitySecretKey,
        identityDhSecretKey: alice.ks.identityDh.secretKey,
      },
      peerBundle: decoded,
      createdAt: nowSeconds(),
    });
    return {
      type: 'initiation',
      initiation,
      initiatorIdentity: identity,
      responderPrekeys: { signedPrekey: bundle.signedPrekey, pqPrekey: bundle.pqLastResort },
    };
  });
}

async function enqueue(node, messages) {
  await withClient(node.database.url, async (c) => {
    for (let i = 0; i < messages.length; i += INSERT_CHUNK) {
      const chunk = messages.slice(i, i + INSERT_CHUNK);
      await c.query(
        `INSERT INTO outbox_message (dedupe_key, kind, target_domain, payload, give_up_at, next_attempt_at, created_at)
         SELECT 'initiation:' || (p->'initiation'->>'exchangeId') || ':' || (p->'initiation'->>'from'), 'initiation',
                'b.example', p, now() + interval '1 day', now(), now()
           FROM unnest($1::jsonb[]) AS p`,
        [chunk.map((m) => JSON.stringify(m))],
      );
    }
  });
}

/** Starts A (with `env`) on its outbox of `count` due messages and waits until all are delivered. */
async function drain(a, env, count) {
  const before = await outboxState(a);
  await a.restart(env);
  const started = Date.now();
  let state = before;
  while (state.delivered + state.failed < state.total && Date.now() - started < DRAIN_TIMEOUT_MS) {
    await sleep(100);
    state = await outboxState(a);
  }
  const drainSeconds = (Date.now() - started) / 1000;
  return {
    drainSeconds,
    rate: (state.delivered - before.delivered) / drainSeconds,
    delivered: state.delivered - before.delivered,
    failed: state.failed - before.failed,
    count,
  };
}

export async function run() {
  const count = settings.outboxExchanges;
  const federation = await startFederation(
    [
      { label: 'outbox_a', domain: 'a.example', env: { KEYPEARS_OUTBOX_BACKOFF_MAX_MS: String(BACKOFF_MAX_MS) } },
      { label: 'outbox_b', domain: 'b.example' },
    ],
    {},
  );
  try {
    const { outbox_a: a, outbox_b: b } = federation.nodes;
    const alice = await registerUser(a, 'alice@a.example');
    await registerUser(b, 'bob@b.example');
    // Bob has no one-time prekeys: every initiation uses his last-resort keys, so one bundle serves them all.
    const { bundle, decoded } = await alice.client.exchangeBundle('bob@b.example');
    const identity = await (await fetch(`${a.url}/api/v1/identities/alice%40a.example`)).json();

    const runs = {};
    for (const [label, env] of [
      ['single', { KEYPEARS_FEDERATION_BATCH_MAX: '1' }],
      ['batched', {}],
    ]) {
      await a.stop();
      const built = Date.now();
      await enqueue(a, messagesFor(alice, bundle, decoded, identity, count));
      const queueSeconds = (Date.now() - built) / 1000;
      runs[label] = { ...(await drain(a, env, count)), queueSeconds };
    }
    const arrived = await withClient(b.database.url, async (c) => {
      const { rows } = await c.query(
        `SELECT count(*) AS n, count(DISTINCT exchange_id) AS distinct_ids FROM exchange WHERE role = 'responder'`,
      );
      return { rows: Number(rows[0].n), distinct: Number(rows[0].distinct_ids) };
    });
    const { single, batched } = runs;
    const complete =
      single.delivered === count &&
      batched.delivered === count &&
      single.failed + batched.failed === 0 &&
      arrived.rows === 2 * count &&
      arrived.distinct === 2 * count;
    return [
      row({
        scenario: `7. outbox drain (${count} messages to one peer)`,
        ours: rate(batched.rate, 'msg/s'),
        baseline: rate(single.rate, 'msg/s'),
        baselineLabel: '(one request per message)',
        target: '>= 1000 msg/s, all delivered once',
        met: complete && batched.rate >= 1000,
        notes:
          `batched: ${count} drained in ${batched.drainSeconds.toFixed(1)} s (queued in ${batched.queueSeconds.toFixed(1)} s); ` +
          `one per request: ${single.drainSeconds.toFixed(1)} s; ${single.failed + batched.failed} failed; ` +
          `B holds ${arrived.rows} incoming exchanges, ${arrived.distinct} distinct (of ${2 * count}); ` +
          `${settings.outboxExchanges} messages each, lanes of KEYPEARS_DELIVERY_CONCURRENCY_PER_PEER=4, keep-alive in both`,
      }),
    ];
  } finally {
    await federation.stop();
  }
}
