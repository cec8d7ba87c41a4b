/**
 * Benchmark settings, read once from the environment. Defaults give a full run of a few
 * minutes; shorter durations are for trial runs while developing.
 */
const int = (name, fallback) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got "${raw}"`);
  return value;
};

export const settings = {
  /** PostgreSQL server on which each scenario creates (and drops) its own databases. */
  serverUrl: process.env.BENCH_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres',
  /** Seconds of measured load per target (ours and baseline each). */
  duration: int('BENCH_DURATION', 10),
  /** Seconds of unmeasured load before each measurement (JIT, caches, pools). */
  warmup: int('BENCH_WARMUP', 2),
  /** Concurrent HTTP connections of the load generator. */
  connections: int('BENCH_CONNECTIONS', 50),
  /** Users seeded for the lookup and resolve scenarios. */
  users: int('BENCH_USERS', 10_000),
  /** Users of the large database in the growth scenario. */
  growthUsers: int('BENCH_GROWTH_USERS', 1_000_000),
  /** Concurrent SDK clients in the exchange scenario. */
  exchangeConcurrency: int('BENCH_EXCHANGE_CONCURRENCY', 16),
  /** Exchanges queued in the outbox scenario. */
  outboxExchanges: int('BENCH_OUTBOX_EXCHANGES', 10_000),
  /** LOG_LEVEL of the nodes under test: `info` logs one line per request, as in production. */
  logLevel: process.env.BENCH_LOG_LEVEL || 'info',
  /** Keep the databases after the run (for EXPLAIN ANALYZE and other inspection). */
  keepDatabases: process.env.BENCH_KEEP_DATABASES === '1',
  /** Extra node flags for the node under test, e.g. `--cpu-prof --cpu-prof-dir=bench/results/prof`. */
  nodeFlags: (process.env.BENCH_NODE_FLAGS || '').split(' ').filter(Boolean),
};
