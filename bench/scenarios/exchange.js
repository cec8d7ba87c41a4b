/**
 * Scenario 4 (federated exchange): SDK-driven clients run complete exchanges through two nodes
 * (Alice on a.example starts, Bob on b.example accepts, Alice sees `confirmed`), 16 pairs at a
 * time, against a crypto-only bound: the same key generation, DH, ML-KEM, signatures and KDF
 * in a loop in one process. That bound is itself measured against libsignal's PQXDH session
 * setup, in alternating rounds (the crypto scenario runs that comparison alone). Every exchange
 * must end with the same secret on both sides.
 */
import { acceptExchange, exchangeSecret, refreshExchange, startExchange } from '../../dist/sdk/exchange.js';
import { compareWithLibsignal } from '../lib/crypto-bound.js';
import { registerUser, startFederation } from '../lib/federation.js';
import { rate, row } from '../lib/report.js';
import { readCpuMs, readCpuMsByName, readMachineBusyMs, sampleMemory } from '../lib/processes.js';
import { settings } from '../lib/settings.js';

/** One-time prekeys of each kind each responder publishes before the run. */
const PREKEYS = 10;
/** The longest one long-polling request waits at the node. */
const WAIT_SECONDS = 30;

async function until(check, deadline) {
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('an exchange did not complete within 60 s');
  }
}

/**
 * One complete exchange between `alice` and `bob` through their nodes. Both follow it the way
 * a client should: with long-polling requests, which the node answers when something changed.
 */
async function exchangeOnce(alice, bob) {
  const started = await startExchange(alice.ctx, bob.ks.address);
  const deadline = Date.now() + 60_000;
  await until(
    async () => (await bob.client.inbox({ waitSeconds: WAIT_SECONDS })).exchanges.some((e) => e.id === started.id),
    deadline,
  );
  await acceptExchange(bob.ctx, started.id);
  let known;
  const done = await until(async () => {
    const s = await refreshExchange(alice.ctx, started.id, { waitSeconds: WAIT_SECONDS, status: known });
    if (s.status === 'failed' || s.status === 'expired') throw new Error(`exchange ${s.status}: ${s.failureReason}`);
    known = s.status;
    return s.status === 'confirmed' && s;
  }, deadline);
  // A confirmed exchange whose two sides disagree would be a failure, not a figure.
  if (exchangeSecret(alice.ks, started.id) !== exchangeSecret(bob.ks, started.id)) {
    throw new Error(`exchange ${started.id} confirmed with different secrets`);
  }
  return done;
}

/** CPU time so far (ms) of the clients (this process), both nodes, the database and the machine. */
function cpuNow(pidA, pidB) {
  const usage = process.cpuUsage();
  return {
    clients: (usage.user + usage.system) / 1000,
    a: readCpuMs(pidA),
    b: readCpuMs(pidB),
    database: readCpuMsByName('postgres'),
    machine: readMachineBusyMs(),
  };
}

/** Each part's CPU time over the window, as a share of one CPU (`0.85`). */
function cpuShares(before, after, seconds) {
  const share = (key) => (before[key] === undefined ? 'n/a' : ((after[key] - before[key]) / 1000 / seconds).toFixed(2));
  return {
    clients: share('clients'),
    a: share('a'),
    b: share('b'),
    database: share('database'),
    machine: share('machine'),
  };
}

export async function run() {
  const pairs = settings.exchangeConcurrency;
  const federation = await startFederation([
    { label: 'exchange_a', domain: 'a.example' },
    { label: 'exchange_b', domain: 'b.example' },
  ]);
  try {
    const { exchange_a: a, exchange_b: b } = federation.nodes;
    const alices = [];
    const bobs = [];
    for (let i = 0; i < pairs; i++) {
      alices.push(await registerUser(a, `alice${i}@a.example`));
      bobs.push(await registerUser(b, `bob${i}@b.example`, PREKEYS));
    }
    // Warm-up: one exchange per pair, then the measured window.
    await Promise.all(alices.map((alice, i) => exchangeOnce(alice, bobs[i])));
    const memory = [sampleMemory(a.pid), sampleMemory(b.pid)];
    const cpuBefore = cpuNow(a.pid, b.pid);
    const latencies = [];
    let lastResort = 0;
    const started = Date.now();
    const end = started + settings.duration * 1000;
    await Promise.all(
      alices.map(async (alice, i) => {
        while (Date.now() < end) {
          const t = Date.now();
          const done = await exchangeOnce(alice, bobs[i]);
          if (done.usedLastResort) lastResort++;
          latencies.push(Date.now() - t);
        }
      }),
    );
    const elapsed = (Date.now() - started) / 1000;
    const cpu = cpuShares(cpuBefore, cpuNow(a.pid, b.pid), elapsed);
    const [peakA, peakB] = memory.map((m) => m.stop());
    latencies.sort((x, y) => x - y);
    const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
    const bound = await compareWithLibsignal('4. crypto only vs libsignal PQXDH');
    return [
      row({
        scenario: `4. federated exchange (${pairs} clients)`,
        ours: rate(latencies.length / elapsed, 'exch/s'),
        baseline: rate(bound.ours.perSecond, 'exch/s'),
        baselineLabel: '(crypto only)',
        target: 'report',
        p50: pct(50),
        p99: pct(99),
        peakRss: Math.max(peakA, peakB),
        notes:
          `${latencies.length} exchanges confirmed in ${elapsed.toFixed(1)} s (${lastResort} on last-resort keys); ` +
          `clients long-poll (wait up to ${WAIT_SECONDS} s); ` +
          `CPU busy (share of one CPU): clients ${cpu.clients}, node A ${cpu.a}, node B ${cpu.b}, ` +
          `database ${cpu.database}, whole machine ${cpu.machine} of 2 CPUs; peak RSS node A ${(peakA / 2 ** 20).toFixed(0)} MB, node B ${(peakB / 2 ** 20).toFixed(0)} MB`,
      }),
      bound.row,
    ];
  } finally {
    await federation.stop();
  }
}
