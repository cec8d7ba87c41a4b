/**
 * HTTP load with autocannon: a warm-up, then a measured run of fixed duration, with the
 * target's resident memory sampled throughout. Figures are printed, never asserted on.
 */
import autocannon from 'autocannon';
import { readCpuMs, sampleMemory } from './processes.js';
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
  const result = await run({ ...options, duration });
  const cpuMs = readCpuMs(target.pid) - cpuBefore;
  const peakRss = memory.stop();
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
    cpuPerRequestUs: result.requests.total > 0 ? (cpuMs * 1000) / result.requests.total : undefined,
  };
}
