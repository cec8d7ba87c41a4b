/**
 * The node's metrics in the Prometheus text format (prom-client), served by GET /api/metrics
 * (docs/operators.md, "Metrics"). One registry per node: a process that runs several nodes
 * (the tests do) keeps their figures apart. The process-wide figures (memory, CPU, event-loop
 * lag, garbage collection) are collected once per process and merged into every scrape.
 *
 * Label values come from a fixed set (route patterns, not URLs; rate-limit kinds, not buckets)
 * or, for peers, from a bounded one: a local user can make the node deliver to any domain, and
 * every distinct label value is a new series kept for the life of the process.
 */
import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Distinct peer domains given a label of their own; later ones are counted as `PEER_OVERFLOW`. */
export const MAX_PEER_LABELS = 500;
export const PEER_OVERFLOW = '_other';
/** The route label of a request that matched no route. */
export const UNMATCHED_ROUTE = '_unmatched';

/** What became of one delivery attempt of an outbox message. */
export type DeliveryOutcome = 'delivered' | 'retry' | 'refused' | 'given_up';

/** How one lookup of a domain's node was answered (docs/discovery.md §4). */
export type DiscoveryLookup = 'cache' | 'network' | 'joined';

/** The result of a lookup that went to the network. */
export type DiscoveryResult = 'found' | 'no_node' | 'misconfigured' | 'unavailable' | 'stale_served';

/** The undelivered part of the outbox at one instant. */
export interface OutboxDepth {
  /** Messages whose next attempt is due now. */
  due: number;
  /** Messages waiting: backing off after a failure, or claimed by a worker (leased). */
  waiting: number;
  /** Seconds since the oldest due message became due; 0 when none is due. */
  oldestDueSeconds: number;
}

/** What a connection pool reports of its use (pg.Pool has these). */
export interface PoolUse {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options: { max?: number };
}

let processRegistry: Registry | undefined;

/** Memory, CPU, event-loop lag and GC of this process, the same for every node in it. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

@Injectable()
export class NodeMetrics {
  readonly registry = new Registry();
  private readonly peers = new Set<string>();
  private outboxSource: (() => Promise<OutboxDepth>) | undefined;

  readonly httpRequests = new Counter({
    name: 'keypears_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'keypears_http_request_duration_seconds',
    help: 'Time from receiving a request to sending its answer, by method and route pattern',
    labelNames: ['method', 'route'] as const,
    // A lookup takes milliseconds; a long poll up to 30 s.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly rateLimitRefusals = new Counter({
    name: 'keypears_rate_limit_refusals_total',
    help: 'Requests refused by a rate limit, by limit (e.g. claim:source, register:source)',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });

  readonly deliveryAttempts = new Counter({
    name: 'keypears_delivery_attempts_total',
    help: 'Delivery attempts of outbox messages, by peer domain and outcome (delivered, retry, refused, given_up)',
    labelNames: ['peer', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly deliveryFailures = new Counter({
    name: 'keypears_delivery_failures_total',
    help: 'Failed delivery attempts of outbox messages, by peer domain',
    labelNames: ['peer'] as const,
    registers: [this.registry],
  });

  readonly discoveryLookups = new Counter({
    name: 'keypears_discovery_lookups_total',
    help: "Lookups of a domain's node, by how they were answered (cache, network, joined: shared a lookup in flight)",
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  readonly discoveryResults = new Counter({
    name: 'keypears_discovery_network_results_total',
    help: 'Lookups of a domain that went to the network, by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly ktSelfCheckFailures = new Counter({
    name: 'keypears_kt_self_check_failures_total',
    help: 'Lookups refused because the account row no longer matches its transparency log entry (an alarm)',
    registers: [this.registry],
  });

  private readonly outboxMessages = new Gauge({
    name: 'keypears_outbox_messages',
    help: 'Undelivered outbox messages, by state (due: to send now; waiting: backing off or being sent)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  private readonly outboxOldestDue = new Gauge({
    name: 'keypears_outbox_oldest_due_seconds',
    help: 'How long the oldest due outbox message has been due (0 when none is)',
    registers: [this.registry],
  });

  private readonly pools = new Map<string, PoolUse>();

  constructor() {
    const pools = this.pools;
    new Gauge({
      name: 'keypears_database_pool_connections',
      help: "Connections of the node's database pools, by pool (main, admission) and state (in_use, idle, max)",
      labelNames: ['pool', 'state'] as const,
      registers: [this.registry],
      collect() {
        for (const [pool, use] of pools) {
          this.set({ pool, state: 'in_use' }, use.totalCount - use.idleCount);
          this.set({ pool, state: 'idle' }, use.idleCount);
          this.set({ pool, state: 'max' }, use.options.max ?? 10);
        }
      },
    });
    new Gauge({
      name: 'keypears_database_pool_waiting',
      help: 'Queries waiting for a free connection, by pool',
      labelNames: ['pool'] as const,
      registers: [this.registry],
      collect() {
        for (const [pool, use] of pools) this.set({ pool }, use.waitingCount);
      },
    });
  }

  /** Reports `pool`'s use at each scrape, as `name`. */
  observePool(name: string, pool: PoolUse): void {
    this.pools.set(name, pool);
  }

  /** Where the outbox gauges read the outbox's depth at each scrape. */
  observeOutbox(source: () => Promise<OutboxDepth>): void {
    this.outboxSource = source;
  }

  /** Counts one answered request; `route` is the matched route's pattern (undefined: none). */
  observeRequest(method: string, route: string | undefined, status: number, seconds: number): void {
    const labels = { method, route: route ?? UNMATCHED_ROUTE };
    this.httpRequests.inc({ ...labels, status: String(status) });
    this.httpDuration.observe(labels, seconds);
  }

  /** Counts a refusal by the rate limit of `bucket` (`<kind>:<scope>:<key>`), labelled by kind and scope. */
  rateLimited(bucket: string): void {
    this.rateLimitRefusals.inc({ limit: bucket.split(':').slice(0, 2).join(':') });
  }

  /** Counts one delivery attempt to `peer` (a domain). */
  deliveryAttempt(peer: string, outcome: DeliveryOutcome): void {
    const label = this.peerLabel(peer);
    this.deliveryAttempts.inc({ peer: label, outcome });
    if (outcome !== 'delivered') this.deliveryFailures.inc({ peer: label });
  }

  discoveryLookup(source: DiscoveryLookup): void {
    this.discoveryLookups.inc({ source });
  }

  discoveryResult(result: DiscoveryResult): void {
    this.discoveryResults.inc({ result });
  }

  /** The scrape: this node's metrics and the process's, in the Prometheus text format. */
  async scrape(): Promise<string> {
    await this.readOutbox();
    return Registry.merge([processMetrics(), this.registry]).metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** One query per scrape for both outbox gauges; with the database down they are left out. */
  private async readOutbox(): Promise<void> {
    this.outboxMessages.reset();
    this.outboxOldestDue.reset();
    const depth = await this.outboxSource?.().catch(() => undefined);
    if (!depth) return;
    this.outboxMessages.set({ state: 'due' }, depth.due);
    this.outboxMessages.set({ state: 'waiting' }, depth.waiting);
    this.outboxOldestDue.set(depth.oldestDueSeconds);
  }

  private peerLabel(peer: string): string {
    if (this.peers.has(peer)) return peer;
    if (this.peers.size >= MAX_PEER_LABELS) return PEER_OVERFLOW;
    this.peers.add(peer);
    return peer;
  }
}
