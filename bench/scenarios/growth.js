/**
 * Scenario 5 (growth): scenario 1's lookup on the node with 1,000 and with 1,000,000
 * registered users, each bulk-seeded with one INSERT ... SELECT generate_series into a fresh
 * database; both nodes run side by side and are measured in alternating rounds, together with
 * the bare baseline server on each database, whose own large/small ratio shows what the
 * database alone loses with size. Prints the lookup query's plan on the large database
 * (EXPLAIN ANALYZE) and the account table's size against PostgreSQL's shared buffers.
 */
import { createDatabase, dropDatabase, seedUsers, userAddress, withClient } from '../lib/database.js';
import { measureSideBySide } from '../lib/load.js';
import { rate, row } from '../lib/report.js';
import { startBaseline, startNode } from '../lib/processes.js';
import { settings } from '../lib/settings.js';
import { DOMAIN, lookupRequest, nodeLookupPath } from './lookup.js';

const SMALL = 1_000;

/** A seeded database, its lookup plan, and a node on it. */
async function prepare(users) {
  const database = await createDatabase(`growth_${users}`);
  const seedMs = await seedUsers(database.url, { users, domain: DOMAIN });
  const plan = await withClient(database.url, async (c) => {
    const { rows } = await c.query(
      'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM account WHERE address = $1 LIMIT 1',
      [userAddress(users - 1, DOMAIN)],
    );
    return rows.map((r) => r['QUERY PLAN']).join(' / ');
  });
  const sizes = await withClient(database.url, async (c) => {
    const { rows } = await c.query(
      "SELECT pg_size_pretty(pg_total_relation_size('account')) AS account, current_setting('shared_buffers') AS buffers",
    );
    return rows[0];
  });
  const node = await startNode({ name: `growth-${users}-node`, databaseUrl: database.url, domains: [DOMAIN] });
  const baseline = await startBaseline({ name: `growth-${users}-baseline`, databaseUrl: database.url, domain: DOMAIN });
  return { users, database, seedMs, plan, sizes, node, baseline };
}

export async function run() {
  const setups = [];
  let small;
  let large;
  try {
    setups.push(await prepare(SMALL));
    setups.push(await prepare(settings.growthUsers));
    const [s, l] = setups;
    const baselinePath = (address) => `/lookup/${address}`;
    const [smallResult, largeResult, smallBase, largeBase] = await measureSideBySide([
      { target: s.node, request: lookupRequest(SMALL, nodeLookupPath) },
      { target: l.node, request: lookupRequest(settings.growthUsers, nodeLookupPath) },
      { target: s.baseline, request: lookupRequest(SMALL, baselinePath) },
      { target: l.baseline, request: lookupRequest(settings.growthUsers, baselinePath) },
    ]);
    small = { ...smallResult, seedMs: s.seedMs, plan: s.plan, sizes: s.sizes, base: smallBase };
    large = { ...largeResult, seedMs: l.seedMs, plan: l.plan, sizes: l.sizes, base: largeBase };
  } finally {
    for (const setup of setups) {
      await Promise.all([setup.node.stop(), setup.baseline.stop()]);
      await dropDatabase(setup.database);
    }
  }
  const result = row({
    scenario: `5. lookup, ${settings.growthUsers} vs ${SMALL} users`,
    ours: rate(large.requestsPerSecond),
    baseline: rate(small.requestsPerSecond),
    baselineLabel: `(${SMALL} users)`,
    target: '>= 0.90',
    p50: large.latencyP50,
    p99: large.latencyP99,
    peakRss: large.peakRss,
    notes:
      `seeded ${settings.growthUsers} users in ${(large.seedMs / 1000).toFixed(1)} s; ` +
      `${SMALL} users p50/p99 ${small.latencyP50}/${small.latencyP99} ms; ` +
      `node CPU per request ${large.cpuPerRequestUs.toFixed(0)} vs ${small.cpuPerRequestUs.toFixed(0)} µs, ` +
      `database ${large.databaseCpuPerRequestUs?.toFixed(0)} vs ${small.databaseCpuPerRequestUs?.toFixed(0)} µs; ` +
      `the bare baseline on the same two databases: ${rate(large.base.requestsPerSecond).text} vs ` +
      `${rate(small.base.requestsPerSecond).text} (ratio ${(large.base.requestsPerSecond / small.base.requestsPerSecond).toFixed(2)}); ` +
      `account table ${large.sizes.account} vs ${small.sizes.account}, shared_buffers ${large.sizes.buffers}; plan: ${large.plan}`,
  });
  result.met = result.ratio >= 0.9;
  return [result];
}
