/**
 * The rate limits as a service on a real database (no HTTP): fixed windows and their edges,
 * the buckets the claim limits count per source and per pair, counting together with a
 * request's nonce, and the clean-up of old windows. Time is a MovableClock.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { NonceRepository } from '../../src/auth/nonce.repository.js';
import { RateLimitModule } from '../../src/common/rate-limit/rate-limit.module.js';
import { RateLimitService, type RateLimitedBucket } from '../../src/common/rate-limit/rate-limit.service.js';
import { PG_ADMISSION_POOL } from '../../src/database/pg-pool.js';
import { PrismaService } from '../../src/database/prisma.service.js';
import { claimLimits } from '../../src/directory/directory.service.js';
import { startServiceGraph, type ServiceGraph } from '../support/service-graph.js';

/** A fixed instant at the start of a minute and of an hour. */
const HOUR = Date.UTC(2026, 0, 1, 10, 0, 0);
let ctx: ServiceGraph;
let limits: RateLimitService;
let nonces: NonceRepository;

beforeAll(async () => {
  ctx = await startServiceGraph({
    imports: [RateLimitModule],
    env: { KEYPEARS_CLAIM_LIMIT_PER_SOURCE: '3', KEYPEARS_CLAIM_LIMIT_PER_PAIR: '2' },
    start: new Date(HOUR),
  });
  limits = ctx.module.get(RateLimitService);
  // Built by hand: it belongs to the auth module, and needs only the database.
  nonces = new NonceRepository(ctx.module.get(PrismaService), ctx.module.get<pg.Pool>(PG_ADMISSION_POOL));
});

afterAll(async () => {
  await ctx?.close();
});

const rows = (prefix: string) =>
  ctx.module.get(PrismaService).rateLimit.findMany({
    where: { bucket: { startsWith: prefix } },
    orderBy: [{ bucket: 'asc' }, { windowStart: 'asc' }],
  });
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: { code: string; details?: { retryAfterSeconds?: number } }) => ({
      code: e.code,
      retryAfterSeconds: e.details?.retryAfterSeconds,
    }),
  );
const perMinute = { limit: 2, windowSeconds: 60 };

describe('fixed windows', () => {
  it('allow the limit per window, refuse until the window ends, and start over at its end', async () => {
    ctx.clock.set(HOUR + 15_000);
    await limits.consume('edge', perMinute);
    await limits.consume('edge', perMinute);
    expect(await refusal(limits.consume('edge', perMinute))).toEqual({ code: 'rate_limited', retryAfterSeconds: 45 });
    ctx.clock.set(HOUR + 59_999);
    expect(await refusal(limits.consume('edge', perMinute))).toEqual({ code: 'rate_limited', retryAfterSeconds: 1 });
    ctx.clock.set(HOUR + 60_000);
    expect(await refusal(limits.consume('edge', perMinute))).toBeUndefined();
    // One row per window, aligned to the minute, every hit counted (the refused ones too).
    expect((await rows('edge')).map((r) => [r.windowStart.toISOString(), r.count])).toEqual([
      ['2026-01-01T10:00:00.000Z', 4],
      ['2026-01-01T10:01:00.000Z', 1],
    ]);
  });

  it('are aligned to Unix time, not to the first hit', async () => {
    ctx.clock.set(HOUR + 59_000);
    await limits.consume('aligned', perMinute);
    await limits.consume('aligned', perMinute);
    ctx.clock.set(HOUR + 61_000); // two seconds later, but a new window
    expect(await refusal(limits.consume('aligned', perMinute))).toBeUndefined();
  });
});

describe('the claim limits', () => {
  const claim = (address: string, source: string, target: string) =>
    limits.consumeAll(claimLimits(ctx.config, { address, source }, target));

  it('count per source across pairs, and per pair across sources', async () => {
    ctx.clock.set(HOUR + 10_000);
    await claim('u@a.example', '10.0.0.1', 'v@a.example');
    await claim('u@a.example', '10.0.0.1', 'w@a.example');
    await claim('w@a.example', '10.0.0.1', 'v@a.example');
    // The source's three claims a minute are spent, whoever claims whom.
    expect(await refusal(claim('x@a.example', '10.0.0.1', 'y@a.example'))).toEqual({
      code: 'rate_limited',
      retryAfterSeconds: 50,
    });
    // The pair u > v has one claim left this hour, from any source.
    await claim('u@a.example', '10.0.0.2', 'v@a.example');
    expect(await refusal(claim('u@a.example', '10.0.0.3', 'v@a.example'))).toEqual({
      code: 'rate_limited',
      retryAfterSeconds: 3590,
    });
    // The other direction is another pair.
    expect(await refusal(claim('v@a.example', '10.0.0.4', 'u@a.example'))).toBeUndefined();
  });

  it('count every bucket of a refused claim, and wait for the last of the spent windows', async () => {
    ctx.clock.set(HOUR + 20_000);
    const pq = () => claim('p@a.example', '10.0.1.2', 'q@a.example');
    await pq();
    await pq();
    // The pair is spent for the hour; the refused claim still counts against the source...
    expect(await refusal(pq())).toEqual({ code: 'rate_limited', retryAfterSeconds: 3580 });
    // ...which is spent now too: the refusal names the first bucket, and waits for the hour.
    await expect(pq()).rejects.toMatchObject({
      message: 'too many bundle claims from this source; retry in 3580 s',
      details: { retryAfterSeconds: 3580 },
    });
  });

  it('count an unknown target against the source only', async () => {
    ctx.clock.set(HOUR + 30_000);
    await limits.consumeAll(claimLimits(ctx.config, { address: 'solo@a.example', source: '10.0.2.1' }));
    expect((await rows('claim:source:10.0.2.1')).map((r) => r.count)).toEqual([1]);
    expect(await rows('claim:pair:solo@a.example>')).toEqual([]);
  });
});

describe('counting with a nonce', () => {
  const buckets: RateLimitedBucket[] = [{ bucket: 'nonce-counted', limit: 5, windowSeconds: 60, what: 'requests' }];
  const spend = (nonce: string) =>
    limits.consumeAllWith(buckets, async (hits) => {
      const spent = await nonces.remember('test', nonce, new Date(HOUR + 3_600_000), hits);
      if (!spent.fresh) throw new Error('replayed');
      return spent.counts;
    });

  it('counts a fresh nonce once and a replayed one not at all', async () => {
    ctx.clock.set(HOUR);
    await spend('n1');
    await expect(spend('n1')).rejects.toThrow('replayed');
    await spend('n2');
    expect((await rows('nonce-counted')).map((r) => r.count)).toEqual([2]);
  });
});

describe('the clean-up', () => {
  it('deletes windows older than a day, at most once a minute, run by the requests that pass by', async () => {
    const start = HOUR + 7 * 86_400_000;
    const day = 86_400_000;
    const buckets = async () => [...new Set((await rows('cleanup:')).map((r) => r.bucket))];
    ctx.clock.set(start);
    await limits.consume('cleanup:first', perMinute);
    ctx.clock.set(start + 60_000);
    await limits.consume('cleanup:second', perMinute);
    // A day and 30 s after the first window: the clean-up is due and takes it, not the second.
    ctx.clock.set(start + day + 30_000);
    await limits.consume('cleanup:third', perMinute);
    expect(await buckets()).toEqual(['cleanup:second', 'cleanup:third']);
    // The second window is a day old 30 s later, but the next clean-up is only due a minute
    // after the last one.
    ctx.clock.set(start + day + 89_999);
    await limits.consume('cleanup:third', perMinute);
    expect(await buckets()).toEqual(['cleanup:second', 'cleanup:third']);
    ctx.clock.set(start + day + 90_000);
    await limits.consume('cleanup:third', perMinute);
    expect(await buckets()).toEqual(['cleanup:third']);
  });
});
