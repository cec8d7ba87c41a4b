/**
 * Runs the benchmark scenarios and prints one table: `node bench/run.js [scenario ...]`
 * (after `npm run build`; `npm run bench` does both). Without arguments every scenario runs.
 * See docs/performance.md.
 */
import { dropAllDatabases } from './lib/database.js';
import { stopAll } from './lib/processes.js';
import { report, unavailable } from './lib/report.js';

const SCENARIOS = {
  lookup: () => import('./scenarios/lookup.js'),
  claim: () => import('./scenarios/claim.js'),
  resolve: () => import('./scenarios/resolve.js'),
  exchange: () => import('./scenarios/exchange.js'),
  growth: () => import('./scenarios/growth.js'),
  outbox: () => import('./scenarios/outbox.js'),
  transparency: () => import('./scenarios/transparency.js'),
  'kt-node': () => import('./scenarios/kt-node.js'),
  'kt-client': () => import('./scenarios/kt-client.js'),
  crypto: () => import('./scenarios/crypto.js'),
  startup: () => import('./scenarios/startup.js'),
};

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !(name in SCENARIOS));
if (unknown.length) {
  console.error(`unknown scenario ${unknown.join(', ')}; choose from ${Object.keys(SCENARIOS).join(', ')}`);
  process.exit(2);
}

const startedAt = new Date();
const rows = [];
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    console.error('interrupted: stopping processes and dropping databases');
    Promise.all([stopAll(), dropAllDatabases()]).finally(() => process.exit(130));
  });
}

for (const name of requested.length ? requested : Object.keys(SCENARIOS)) {
  if (interrupted) break;
  const began = Date.now();
  console.error(`[bench] ${name} ...`);
  try {
    const scenario = await SCENARIOS[name]();
    rows.push(...(await scenario.run()));
  } catch (e) {
    rows.push(unavailable(name, e.message));
    console.error(`[bench] ${name} failed:`, e);
    await stopAll();
  }
  console.error(`[bench] ${name} took ${((Date.now() - began) / 1000).toFixed(0)} s`);
}

await dropAllDatabases();
report(rows, startedAt);
