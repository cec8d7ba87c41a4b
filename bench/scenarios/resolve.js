/**
 * Scenario 3 (cached resolve): GET /api/v1/resolve/{address} on node A for a random user of
 * node B's domain, once discovery of B's domain is cached, against scenario 1's lookup of the
 * same users on node B itself, measured in the same run. Node A verifies every signature of
 * the identity it fetches, so the users asked for are those whose seeded signatures verify.
 */
import { seedUsers, userAddress, VERIFIABLE_USERS } from '../lib/database.js';
import { startFederation } from '../lib/federation.js';
import { measureSideBySide } from '../lib/load.js';
import { cpuNote, rate, row } from '../lib/report.js';
import { settings } from '../lib/settings.js';

export async function run() {
  const federation = await startFederation([
    { label: 'resolve_a', domain: 'a.example' },
    { label: 'resolve_b', domain: 'b.example' },
  ]);
  try {
    const { resolve_a: a, resolve_b: b } = federation.nodes;
    await seedUsers(b.database.url, { users: settings.users, domain: 'b.example' });
    // Node A checks every signature of a remote identity: ask only for users whose seeded signatures verify.
    const random = () => encodeURIComponent(userAddress(Math.floor(Math.random() * VERIFIABLE_USERS), 'b.example'));
    // Fills the discovery cache (and checks the path works) before any measurement.
    const first = await fetch(`${a.url}/api/v1/resolve/${random()}`);
    if (!first.ok) throw new Error(`resolve through node A answered ${first.status}: ${await first.text()}`);
    const [lookup, resolve] = await measureSideBySide([
      {
        target: b,
        request: { method: 'GET', setupRequest: (req) => ({ ...req, path: `/api/v1/identities/${random()}` }) },
      },
      {
        target: a,
        request: { method: 'GET', setupRequest: (req) => ({ ...req, path: `/api/v1/resolve/${random()}` }) },
      },
    ]);
    const result = row({
      scenario: '3. cached resolve (remote)',
      ours: rate(resolve.requestsPerSecond),
      baseline: rate(lookup.requestsPerSecond),
      baselineLabel: '(lookup)',
      target: '>= 0.80',
      p50: resolve.latencyP50,
      p99: resolve.latencyP99,
      peakRss: resolve.peakRss,
      notes: [
        `lookup on node B p50/p99 ${lookup.latencyP50}/${lookup.latencyP99} ms`,
        cpuNote(resolve, lookup, { oursLabel: 'node A', baseLabel: 'node B lookup' }),
        resolve.non2xx && `${resolve.non2xx} non-2xx answers`,
      ]
        .filter(Boolean)
        .join('; '),
    });
    result.met = result.ratio >= 0.8;
    return [result];
  } finally {
    await federation.stop();
  }
}
