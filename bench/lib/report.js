/** The one table a run prints, and the raw results written to bench/results/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { RESULTS_DIR } from './processes.js';
import { settings } from './settings.js';

export const MB = 1024 * 1024;

const fixed = (value, digits) => (value === undefined || value === null ? '' : value.toFixed(digits));

/** A throughput figure such as `1234 req/s`. */
export const rate = (value, unit = 'req/s') => ({ value, text: `${fixed(value, 0)} ${unit}` });
export const megabytes = (bytes) => ({ value: bytes / MB, text: `${fixed(bytes / MB, 0)} MB` });
export const seconds = (value) => ({ value, text: `${fixed(value, 1)} s` });

/**
 * One row of the table. `ratio` is ours / baseline unless given (null: none); `met` says whether the
 * target holds (undefined when the scenario has no target, null when it did not run).
 */
export function row({ scenario, ours, baseline, baselineLabel, ratio, target, met, p50, p99, peakRss, notes }) {
  const computed =
    ratio !== undefined ? ratio : ours && baseline && baseline.value > 0 ? ours.value / baseline.value : undefined;
  return { scenario, ours, baseline, baselineLabel, ratio: computed, target, met, p50, p99, peakRss, notes };
}

/**
 * "CPU per request: node 180 + database 95 + load 60 µs (machine 420 µs, 97% busy); baseline
 * ...": the process under test, the PostgreSQL server's processes (when on this machine), the
 * load generator, and the whole machine's busy time (which also counts the kernel's work).
 */
export function cpuNote(ours, base, { oursLabel = 'node', baseLabel = 'baseline' } = {}) {
  const us = (v) => (v === undefined ? 'n/a' : v.toFixed(0));
  const split = (m) =>
    `${us(m.cpuPerRequestUs)} + database ${us(m.databaseCpuPerRequestUs)} + load ${us(m.loadCpuPerRequestUs)} µs` +
    ` (machine ${us(m.machineCpuPerRequestUs)} µs, ${(m.machineBusyShare * 100).toFixed(0)}% busy)`;
  return `CPU per request: ${oursLabel} ${split(ours)}; ${baseLabel} ${split(base)}`;
}

export const unavailable = (scenario, reason) => ({ scenario, unavailable: reason });

function machine() {
  let postgres = 'unknown';
  try {
    postgres = execFileSync('psql', [settings.serverUrl, '-Atc', 'SHOW server_version'], { encoding: 'utf8' }).trim();
  } catch {
    // psql missing: the version stays unknown.
  }
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    postgres,
    platform: `${os.type()} ${os.release()}`,
  };
}

function table(rows) {
  const header = ['scenario', 'ours', 'baseline', 'ratio', 'target', 'p50 ms', 'p99 ms', 'node peak RSS'];
  const lines = rows.map((r) => {
    if (r.unavailable) return [r.scenario, `not available: ${r.unavailable}`, '', '', '', '', '', ''];
    const verdict = r.met === undefined ? '' : r.met === null ? ' (?)' : r.met ? ' (met)' : ' (MISSED)';
    return [
      r.scenario,
      r.ours?.text ?? '',
      r.baseline ? `${r.baseline.text}${r.baselineLabel ? ` ${r.baselineLabel}` : ''}` : '',
      r.ratio === undefined || r.ratio === null ? '' : r.ratio.toFixed(2),
      r.target ? `${r.target}${verdict}` : '',
      fixed(r.p50, 1),
      fixed(r.p99, 1),
      r.peakRss ? `${fixed(r.peakRss / MB, 0)} MB` : '',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [format(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(format)].join('\n');
}

/** Prints the table (and the notes under it) and writes the raw JSON; returns the file written. */
export function report(rows, startedAt) {
  const info = machine();
  console.log(
    `\nKeyPears node benchmarks, ${startedAt.toISOString()}: ${info.cpus} CPUs (${info.cpuModel}), ` +
      `${info.memoryGiB} GiB, Node ${info.node}, PostgreSQL ${info.postgres}; ` +
      `${settings.connections} connections, ${settings.duration} s per measurement, LOG_LEVEL=${settings.logLevel}\n`,
  );
  console.log(table(rows));
  const notes = rows.filter((r) => r.notes).map((r) => `- ${r.scenario}: ${r.notes}`);
  if (notes.length) console.log(`\n${notes.join('\n')}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `bench-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ startedAt, machine: info, settings, rows }, null, 2));
  console.log(`\nraw results: ${path.relative(process.cwd(), file)}`);
  return file;
}
