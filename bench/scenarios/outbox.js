/**
 * Scenario 7 (outbox drain): exchanges are started on node A while node B, their recipient's
 * node, is down, so their initiations wait in A's outbox; then B comes up, and the time until
 * every message is delivered is measured. Afterwards: every exchange arrived at B exactly once,
 * and none failed.
 */
import { initiateExchange } from '../../dist/protocol/exchange.js';
import { withClient } from '../lib/database.js';
import { nowSeconds, registerUser, startFederation } from '../lib/federation.js';
import { rate, row, seconds } from '../lib/report.js';
import { sleep } from '../lib/processes.js';
import { settings } from '../lib/settings.js';

/** Retries back off up to this bound (the default is 10 min), so the drain starts soon after B is up. */
const BACKOFF_MAX_MS = 2000;
const SUBMIT_CONCURRENCY = 8;
const DRAIN_TIMEOUT_MS = 10 * 60_000;

const outboxState = (node) =>
  withClient(node.database.url, async (c) => {
    const { rows } = await c.query(`SELECT count(*) FILTER (WHERE delivered_at IS NOT NULL) AS delivered,
        count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed, count(*) AS total FROM outbox_message`);
    return { delivered: Number(rows[0].delivered), failed: Number(rows[0].failed), total: Number(rows[0].total) };
  });

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
    const bob = await registerUser(b, 'bob@b.example');
    // Bob has no one-time prekeys: every exchange uses his last-resort keys, so one bundle serves them all.
    const { bundle, decoded } = await alice.client.exchangeBundle(bob.ks.address);
    await b.stop();

    const queuedStarted = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: SUBMIT_CONCURRENCY }, async () => {
        while (next < count) {
          next++;
          const { initiation } = initiateExchange({
            self: {
              address: alice.ks.address,
              identitySecretKey: alice.ks.identitySecretKey,
              identityDhSecretKey: alice.ks.identityDh.secretKey,
            },
            peerBundle: decoded,
            createdAt: nowSeconds(),
          });
          await alice.client.startExchange({ initiation, bundle });
        }
      }),
    );
    const queueSeconds = (Date.now() - queuedStarted) / 1000;
    const queued = await outboxState(a);

    await b.restart();
    const drainStarted = Date.now();
    let state = queued;
    while (state.delivered + state.failed < state.total && Date.now() - drainStarted < DRAIN_TIMEOUT_MS) {
      await sleep(200);
      state = await outboxState(a);
    }
    const drainSeconds = (Date.now() - drainStarted) / 1000;
    const arrived = await withClient(b.database.url, async (c) => {
      const { rows } = await c.query(
        `SELECT count(*) AS n, count(DISTINCT exchange_id) AS distinct_ids FROM exchange WHERE role = 'responder'`,
      );
      return { rows: Number(rows[0].n), distinct: Number(rows[0].distinct_ids) };
    });
    const complete =
      state.delivered === count && state.failed === 0 && arrived.rows === count && arrived.distinct === count;
    return [
      row({
        scenario: `7. outbox drain (${count} exchanges)`,
        ours: seconds(drainSeconds),
        baseline: rate(count / drainSeconds, 'msg/s'),
        baselineLabel: '(drain rate)',
        ratio: null,
        target: 'all delivered once',
        met: complete,
        notes:
          `queued ${queued.total} messages in ${queueSeconds.toFixed(1)} s while B was down (${queued.delivered} delivered before); ` +
          `after B came up: ${state.delivered} delivered, ${state.failed} failed; B holds ${arrived.rows} incoming exchanges, ` +
          `${arrived.distinct} distinct; retry backoff capped at ${BACKOFF_MAX_MS} ms (KEYPEARS_OUTBOX_BACKOFF_MAX_MS)`,
      }),
    ];
  } finally {
    await federation.stop();
  }
}
