/**
 * Scenario 10 (start-up and idle memory by database): `npm start` on an unchanged tree, as the
 * README has an operator run it, timed from the command to the first healthy answer, and the
 * node's resident memory 3 s later, on the embedded database (a new data directory first, then
 * restarts on it) and, alternating with those, on PostgreSQL.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, dropDatabase } from '../lib/database.js';
import { megabytes, MB, row, seconds } from '../lib/report.js';
import { freePort, readCpuMs, readMemory, ROOT, sleep } from '../lib/processes.js';

/** Restarts measured on each database (after the embedded database's first start). */
const RESTARTS = 3;

/** The process below `pid` (any depth) running `dist/main.js`: npm runs the node through a shell. */
function nodeProcess(pid) {
  const children = (p) =>
    readdirSync(`/proc/${p}/task`).flatMap((t) =>
      readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
  for (const child of children(pid)) {
    if (readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').includes('dist/main.js')) return child;
    const below = nodeProcess(child);
    if (below) return below;
  }
  return undefined;
}

/** CPU time (ms) of a process with the children it has waited for (npm: its scripts' shells, the build check). */
function cpuWithChildrenMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) * 1000) / 100;
}

/**
 * `npm start` with `env`; returns seconds to healthy, the CPU time the node and npm had used by
 * then (a busy machine stretches the wall-clock figure; the CPU time says what a quiet one
 * would need, less the time spent waiting on the disk), and the node's RSS after 3 s idle.
 */
async function npmStart(env) {
  const port = await freePort();
  const started = process.hrtime.bigint();
  const merged = { ...process.env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env };
  // Variables given as undefined are unset (the embedded database needs DATABASE_URL unset).
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: merged,
    stdio: 'ignore',
    detached: true,
  });
  try {
    for (;;) {
      if (npm.exitCode !== null) throw new Error(`npm start exited with ${npm.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/api/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (process.hrtime.bigint() - started > 120_000_000_000n) throw new Error('npm start: not healthy in 120 s');
      await sleep(20);
    }
    const toHealthy = Number(process.hrtime.bigint() - started) / 1e9;
    const pid = nodeProcess(npm.pid);
    const cpuSeconds = (readCpuMs(pid) + cpuWithChildrenMs(npm.pid)) / 1000;
    await sleep(3000);
    return { seconds: toHealthy, cpuSeconds, idleRss: readMemory(pid).rss };
  } finally {
    process.kill(-npm.pid, 'SIGTERM');
    await new Promise((resolve) => (npm.exitCode !== null ? resolve() : npm.once('exit', resolve)));
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const list = (values, format) => values.map(format).join(', ');

export async function run() {
  // The tree is unchanged from here on: this builds only if something changed since the last build.
  spawnSync(process.execPath, ['scripts/build.js', '--if-stale'], { cwd: ROOT, stdio: 'inherit' });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'kp-bench-startup-'));
  const database = await createDatabase('startup');
  try {
    const embeddedEnv = { KEYPEARS_DATA_DIR: dataDir, DATABASE_URL: undefined };
    const postgresEnv = { DATABASE_URL: database.url };
    const first = await npmStart(embeddedEnv);
    console.error(`[bench]   embedded, new data directory: ${first.seconds.toFixed(2)} s`);
    const embedded = [];
    const postgres = [];
    for (let i = 0; i < RESTARTS; i++) {
      // P E, E P, P E: neither side always right after the other.
      const order = i % 2 === 0 ? ['postgres', 'embedded'] : ['embedded', 'postgres'];
      for (const side of order) {
        const result = await npmStart(side === 'embedded' ? embeddedEnv : postgresEnv);
        (side === 'embedded' ? embedded : postgres).push(result);
        console.error(
          `[bench]   ${side}: ${result.seconds.toFixed(2)} s (CPU ${result.cpuSeconds.toFixed(2)} s), ` +
            `idle ${(result.idleRss / MB).toFixed(0)} MB`,
        );
      }
    }
    const time = (results) => median(results.map((r) => r.seconds));
    const rss = (results) => median(results.map((r) => r.idleRss));
    const start = row({
      scenario: '10. npm start -> healthy, embedded',
      ours: seconds(time(embedded)),
      baseline: seconds(time(postgres)),
      baselineLabel: '(PostgreSQL)',
      ratio: null,
      target: '<= 3 s',
      met: time(embedded) <= 3,
      notes:
        `medians of ${RESTARTS} restarts on an unchanged tree; embedded ${list(embedded, (r) => r.seconds.toFixed(2))} s, ` +
        `PostgreSQL ${list(postgres, (r) => r.seconds.toFixed(2))} s; CPU used by npm and the node until healthy: ` +
        `embedded ${list(embedded, (r) => r.cpuSeconds.toFixed(2))} s, PostgreSQL ${list(postgres, (r) => r.cpuSeconds.toFixed(2))} s; ` +
        `a new data directory (initdb in a child process) ${first.seconds.toFixed(2)} s; ` +
        `load average at the end ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
    });
    const memory = row({
      scenario: '10. memory, idle, embedded',
      ours: megabytes(rss(embedded)),
      baseline: megabytes(rss(postgres)),
      baselineLabel: '(PostgreSQL)',
      ratio: null,
      target: '<= 200 MB',
      met: rss(embedded) <= 200 * MB,
      notes:
        `3 s after healthy; embedded ${list(embedded, (r) => (r.idleRss / MB).toFixed(0))} MB, ` +
        `PostgreSQL ${list(postgres, (r) => (r.idleRss / MB).toFixed(0))} MB; ` +
        `after the first start on a new data directory ${(first.idleRss / MB).toFixed(0)} MB`,
    });
    return [start, memory];
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    await dropDatabase(database);
  }
}
