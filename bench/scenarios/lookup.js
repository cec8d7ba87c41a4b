/**
 * Scenario 1 (public key lookup) and 6 (memory): GET /api/v1/identities/{address} of a random
 * existing user, against the bare baseline running the same indexed query on the same
 * database; the node's resident memory idle and at its peak under that load.
 */
import { createDatabase, dropDatabase, seedUsers, userAddress } from '../lib/database.js';
import { measureSideBySide } from '../lib/load.js';
import { cpuNote, megabytes, MB, rate, row } from '../lib/report.js';
import { readMemory, sleep, startBaseline, startNode } from '../lib/processes.js';
import { settings } from '../lib/settings.js';

export const DOMAIN = 'bench.example';

/** autocannon request options for a lookup of a random one of `users` users. */
export function lookupRequest(users, pathFor) {
  return {
    method: 'GET',
    setupRequest: (req) => ({
      ...req,
      path: pathFor(encodeURIComponent(userAddress(Math.floor(Math.random() * users), DOMAIN))),
    }),
  };
}

export const nodeLookupPath = (address) => `/api/v1/identities/${address}`;

/** The node and the baseline must answer with the same document, or the comparison is void. */
async function sameAnswers(node, baseline) {
  const address = encodeURIComponent(userAddress(7, DOMAIN));
  const [a, b] = await Promise.all([
    fetch(`${node.url}${nodeLookupPath(address)}`).then((r) => r.json()),
    fetch(`${baseline.url}/lookup/${address}`).then((r) => r.json()),
  ]);
  return JSON.stringify(a) === JSON.stringify(b);
}

export async function run() {
  const database = await createDatabase('lookup');
  try {
    const seedMs = await seedUsers(database.url, { users: settings.users, domain: DOMAIN });
    const node = await startNode({ name: 'lookup-node', databaseUrl: database.url, domains: [DOMAIN] });
    const baseline = await startBaseline({ name: 'lookup-baseline', databaseUrl: database.url, domain: DOMAIN });
    try {
      // Idle: after start-up has settled, before any request.
      await sleep(3000);
      const idle = readMemory(node.pid).rss;
      const same = await sameAnswers(node, baseline);
      const [ours, base] = await measureSideBySide([
        { target: node, request: lookupRequest(settings.users, nodeLookupPath) },
        { target: baseline, request: lookupRequest(settings.users, (a) => `/lookup/${a}`) },
      ]);
      const errors = (m) => (m.non2xx || m.errors || m.timeouts ? `${m.non2xx} non-2xx, ${m.errors} errors` : '');
      const lookup = row({
        scenario: `1. lookup (${settings.users} users)`,
        ours: rate(ours.requestsPerSecond),
        baseline: rate(base.requestsPerSecond),
        target: '>= 0.70',
        p50: ours.latencyP50,
        p99: ours.latencyP99,
        peakRss: ours.peakRss,
        notes: [
          `seeded in ${(seedMs / 1000).toFixed(1)} s`,
          `baseline p50/p99 ${base.latencyP50}/${base.latencyP99} ms`,
          cpuNote(ours, base),
          same ? 'node and baseline return identical documents' : 'node and baseline documents DIFFER',
          errors(ours) && `node: ${errors(ours)}`,
          errors(base) && `baseline: ${errors(base)}`,
        ]
          .filter(Boolean)
          .join('; '),
      });
      lookup.met = lookup.ratio >= 0.7;
      return [
        lookup,
        row({ scenario: '6. memory, idle', ours: megabytes(idle), target: '< 150 MB', met: idle < 150 * MB }),
        row({
          scenario: '6. memory, peak during lookup',
          ours: megabytes(ours.peakRss),
          target: '< 300 MB',
          met: ours.peakRss < 300 * MB,
          notes: `VmHWM over the node's whole life: ${(readMemory(node.pid).hwm / MB).toFixed(0)} MB`,
        }),
      ];
    } finally {
      await Promise.all([node.stop(), baseline.stop()]);
    }
  } finally {
    await dropDatabase(database);
  }
}
