/**
 * HTTP load with autocannon: a warm-up, then a measured run of fixed duration, with the
 * target's resident memory sampled throughout; two targets compared side by side are measured
 * in alternating rounds. Figures are printed, never asserted on.
 */
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import { readCpuMs, readCpuMsByName, readMachineBusyMs, sampleMemory } from './processes.js';
import { settings } from './settings.js';

function run(options) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
    // autocannon prints nothing unless asked; keep the output to the one final table.
    instance.on('error', () => {});
  });
}

/**
 * Loads `target` (a started process with `url` and `pid`) with `request` (autocannon request
 * options; `setupRequest` builds each request). Returns requests/s, latency percentiles in
 * milliseconds, error counts, the target's CPU time per request and the peak resident memory
 * seen during the measured run.
 */
export async function measure(
  target,
  request,
  { connections = settings.connections, duration = settings.duration } = {},
) {
  const options = { url: target.url, connections, requests: [request], timeout: 30 };
  if (settings.warmup > 0) await run({ ...options, duration: settings.warmup });
  const memory = sampleMemory(target.pid);
  const cpuBefore = readCpuMs(target.pid);
  const databaseCpuBefore = readCpuMsByName('postgres');
  const loadCpuBefore = process.cpuUsage();
  const machineBefore = readMachineBusyMs();
  const result = await run({ ...options, duration });
  const machineMs = readMachineBusyMs() - machineBefore;
  const cpuMs = readCpuMs(target.pid) - cpuBefore;
  const databaseCpuAfter = readCpuMsByName('postgres');
  const loadCpu = process.cpuUsage(loadCpuBefore);
  const peakRss = memory.stop();
  const perRequestUs = (ms) =>
    result.requests.total > 0 && ms !== undefined ? (ms * 1000) / result.requests.total : undefined;
  return {
    requestsPerSecond: result.requests.total / duration,
    requests: result.requests.total,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    peakRss,
    /** CPU time of the target process per request, in microseconds: steadier than req/s on a shared machine. */
    cpuPerRequestUs: perRequestUs(cpuMs),
    /** CPU time of the PostgreSQL server's processes on this machine per request (undefined when it runs elsewhere). */
    databaseCpuPerRequestUs:
      databaseCpuBefore === undefined || databaseCpuAfter === undefined
        ? undefined
        : perRequestUs(databaseCpuAfter - databaseCpuBefore),
    /** CPU time of this process (the load generator, and for signed requests the signing) per request. */
    loadCpuPerRequestUs: perRequestUs((loadCpu.user + loadCpu.system) / 1000),
    /** Busy CPU time of the whole machine per request (all processes, the kernel included). */
    machineCpuPerRequestUs: perRequestUs(machineMs),
    /** Share of the machine's CPU capacity that was busy during the run. */
    machineBusyShare: machineMs / (duration * 1000 * cpus().length),
  };
}

/** Rounds per side in `measureSideBySide`. */
const ROUNDS = 4;

/**
 * Measures the sides (`{ target, request, beforeRound? }`) in ROUNDS alternating rounds of
 * half the duration each (so each side gets twice the duration), in the order A B B A A B B A, so that a slow spell of a shared machine,
 * or the after-effects of one side's load (a database's background writes), fall on every side
 * rather than on whichever ran second. `beforeRound` runs before each round's warm-up, outside
 * the measurement. Returns one merged result per side: totals and per-request figures over all
 * rounds, latency percentiles averaged over the rounds (weighted by requests), the highest peak.
 */
export async function measureSideBySide(sides) {
  const duration = Math.max(1, Math.round(settings.duration / 2));
  const rounds = sides.map(() => []);
  for (let i = 0; i < ROUNDS; i++) {
    // A B, then B A: neither side always runs first, or always right after the other's load.
    const order = i % 2 === 0 ? [...sides.keys()] : [...sides.keys()].reverse();
    for (const k of order) {
      await sides[k].beforeRound?.();
      const result = await measure(sides[k].target, sides[k].request, { duration });
      console.error(
        `[bench]   round ${i + 1}/${ROUNDS} ${sides[k].target.name}: ${result.requestsPerSecond.toFixed(0)} req/s, ` +
          `machine ${result.machineCpuPerRequestUs?.toFixed(0)} µs per request`,
      );
      rounds[k].push(result);
    }
  }
  return rounds.map((results) => merge(results, duration));
}

function merge(results, duration) {
  const requests = results.reduce((n, r) => n + r.requests, 0);
  const weighted = (field) =>
    results.some((r) => r[field] === undefined)
      ? undefined
      : results.reduce((t, r) => t + r[field] * r.requests, 0) / Math.max(1, requests);
  const sum = (field) => results.reduce((t, r) => t + r[field], 0);
  return {
    requestsPerSecond: requests / (duration * results.length),
    requests,
    latencyP50: Math.round(weighted('latencyP50')),
    latencyP99: Math.round(weighted('latencyP99')),
    non2xx: sum('non2xx'),
    errors: sum('errors'),
    timeouts: sum('timeouts'),
    peakRss: Math.max(...results.map((r) => r.peakRss)),
    cpuPerRequestUs: weighted('cpuPerRequestUs'),
    databaseCpuPerRequestUs: weighted('databaseCpuPerRequestUs'),
    loadCpuPerRequestUs: weighted('loadCpuPerRequestUs'),
    machineCpuPerRequestUs: weighted('machineCpuPerRequestUs'),
    machineBusyShare: results.reduce((t, r) => t + r.machineBusyShare, 0) / results.length,
  };
}
