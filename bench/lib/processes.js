/**
 * The processes under test: nodes (`node dist/main.js`) and baseline servers, each in its own
 * process so that its memory can be read from /proc and the load generator does not share its
 * event loop. Their output goes to log files in bench/results/logs.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { settings } from './settings.js';
import { logSeededAccounts } from './transparency-log.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
const LOG_DIR = path.join(RESULTS_DIR, 'logs');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A currently free loopback port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resident memory of a process in bytes: current (VmRSS) and peak since it started (VmHWM). */
export function readMemory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** CPU time (user + system) a process has used so far, in milliseconds. */
export function readCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * CPU time (ms) used so far by every process whose command name is `comm` (for `postgres`:
 * the database server and all its backends on this machine), or undefined when there are none
 * (a database on another machine). Each process's reaped children count too: a backend that
 * exits (a pool closing an idle connection) leaves its time with the server process.
 */
export function readCpuMsByName(comm) {
  let total;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== comm) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, and cutime, cstime (children waited for): the 12th to 15th fields.
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    total = (total ?? 0) + (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
  }
  return total;
}

/** CPU time (ms) the whole machine has spent busy (all CPUs: user, system, interrupts) since boot. */
export function readMachineBusyMs() {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...: everything but idle and iowait.
  const busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + (cpu[7] ?? 0);
  return (busy * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** USER_HZ: 100 on every Linux platform Node.js runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

const running = new Set();

function spawnLogged(name, args, env) {
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = path.join(LOG_DIR, `${name}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  running.add(child);
  child.once('exit', () => running.delete(child));
  return { child, logFile };
}

async function waitUntilReady(child, url, logFile) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) {
      throw new Error(`${url} exited during start-up (code ${child.exitCode}); see ${logFile}`);
    }
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${url} did not become ready in 60 s; see ${logFile}`);
}

function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** The `node` flags of `npm start` (the Dockerfile's are the same), so nodes run as operators run them. */
const START_FLAGS = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
  .scripts.start.split(/\s+/)
  .filter((word) => word.startsWith('--'));

/**
 * Starts a built node on loopback, with the flags of `npm start`. `env` is added to the defaults (development mode, the
 * benchmark's log level, the given database). Seeded accounts are put in its transparency log first.
 */
export async function startNode({ name, databaseUrl, domains, env = {}, port, logSeeded = true }) {
  const listenPort = port ?? (await freePort());
  const url = `http://127.0.0.1:${listenPort}`;
  // Seeded accounts go into the node's transparency log here, in bulk, rather than one VRF
  // proof at a time when the node starts (lib/transparency-log.js); `logSeeded: false` leaves
  // them to the node's own backfill.
  if (logSeeded && databaseUrl) await logSeededAccounts(databaseUrl, url);
  const { child, logFile } = spawnLogged(name, [...START_FLAGS, ...settings.nodeFlags, 'dist/main.js'], {
    DATABASE_URL: databaseUrl,
    HOST: '127.0.0.1',
    PORT: String(listenPort),
    KEYPEARS_PUBLIC_URL: url,
    KEYPEARS_DOMAINS: domains.join(','),
    KEYPEARS_DEV: '1',
    LOG_LEVEL: settings.logLevel,
    ...env,
  });
  await waitUntilReady(child, `${url}/api/health`, logFile);
  return { name, url, port: listenPort, pid: child.pid, logFile, stop: () => stopProcess(child) };
}

/** Starts bench/baseline-server.js (bare node:http + pg) on loopback. */
export async function startBaseline({ name, databaseUrl, domain }) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { child, logFile } = spawnLogged(name, ['bench/baseline-server.js'], {
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    BASELINE_DOMAIN: domain,
  });
  await waitUntilReady(child, `${url}/health`, logFile);
  return { name, url, port, pid: child.pid, logFile, stop: () => stopProcess(child) };
}

/** Stops every process still running (after a failure or an interrupt). */
export async function stopAll() {
  await Promise.all([...running].map(stopProcess));
}

/** Samples a process's resident memory every `intervalMs` until stopped; returns the peak seen. */
export function sampleMemory(pid, intervalMs = 100) {
  let peak = 0;
  const take = () => {
    try {
      peak = Math.max(peak, readMemory(pid).rss);
    } catch {
      // The process has exited; keep the peak seen so far.
    }
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}
