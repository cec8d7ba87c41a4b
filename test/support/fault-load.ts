/**
 * Load for the fault suite (test/faults): users of one node starting exchanges with users of
 * others without pause, keeping the ids their node acknowledged (202) and the codes of what it
 * refused, and the checks every fault case makes afterwards: each acknowledged exchange arrived
 * at its recipient's node exactly once, and nothing else did.
 */
import { PrismaService } from '../../src/database/prisma.service.js';
import { KeyPearsError } from '../../src/protocol/errors.js';
import { initiateExchange } from '../../src/protocol/exchange.js';
import type { DecodedPrekeyBundle, ExchangeInitiation } from '../../src/protocol/wire.js';
import { eventually, type ExchangeUser } from './exchange-users.js';
import { initiatorKeys } from './remote-user.js';
import type { TestNode } from './test-node.js';
import { nowSeconds } from './test-users.js';

/** Rate limits out of the way: the fault cases count deliveries, not budgets. */
export const UNLIMITED = {
  KEYPEARS_EXCHANGE_LIMIT_PER_PAIR: '1000000',
  KEYPEARS_EXCHANGE_LIMIT_PER_ORIGIN: '1000000',
  KEYPEARS_CLAIM_LIMIT_PER_PAIR: '1000000',
  KEYPEARS_CLAIM_LIMIT_PER_SOURCE: '1000000',
  KEYPEARS_OUTSTANDING_INITIATIONS_PER_SENDER: '1000000',
};

/** A new initiation from `from` for a bundle of the recipient's it claimed, dated now. */
export const initiationFor = (from: ExchangeUser, peerBundle: DecodedPrekeyBundle): ExchangeInitiation =>
  initiateExchange({ self: initiatorKeys(from.ks), peerBundle, createdAt: nowSeconds() }).initiation;

/** Starts one exchange from `from` to `to` as the SDK would; resolves to the exchange id the node acknowledged. */
export async function startOne(from: ExchangeUser, to: string): Promise<string> {
  const { bundle, decoded } = await from.client.exchangeBundle(to);
  const initiation = initiationFor(from, decoded);
  const answer = await from.client.startExchange({ initiation, bundle });
  if (answer.status !== 'pending' && answer.status !== 'delivered') throw new Error(`started as ${answer.status}`);
  return initiation.exchangeId;
}

export interface Load {
  /** Exchange ids acknowledged, per recipient address. */
  acknowledged: Map<string, string[]>;
  /** Codes of refused starts, counted. */
  refused: Map<string, number>;
  stop(): Promise<void>;
}

/** `from` starts exchanges with each of `to` in turn, `parallel` at a time, until stopped. */
export function startLoad(from: ExchangeUser, to: string[], parallel = 2): Load {
  let running = true;
  const acknowledged = new Map(to.map((t) => [t, [] as string[]]));
  const refused = new Map<string, number>();
  let turn = 0;
  const loops = Array.from({ length: parallel }, async () => {
    while (running) {
      const target = to[turn++ % to.length];
      try {
        acknowledged.get(target)!.push(await startOne(from, target));
      } catch (e) {
        const code = e instanceof KeyPearsError ? e.code : `untyped: ${(e as Error).message}`;
        refused.set(code, (refused.get(code) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 20)); // a client backs off a little after a refusal
      }
    }
  });
  return {
    acknowledged,
    refused,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** How many rows each of `ids` has on `node` (the recipient's side, role responder). */
export async function arrivals(node: TestNode, ids: string[]): Promise<Map<string, number>> {
  const rows = await node.node.app.get(PrismaService).exchange.groupBy({
    by: ['exchangeId'],
    where: { exchangeId: { in: ids }, role: 'responder' },
    _count: { _all: true },
  });
  return new Map(rows.map((r) => [r.exchangeId, r._count._all]));
}

/**
 * Waits until every id in `ids` has arrived at `node`, then checks each arrived exactly once.
 * @returns how many arrived.
 */
export async function expectDeliveredOnce(node: TestNode, ids: string[], timeoutMs = 60_000): Promise<number> {
  const counts = await eventually(
    async () => {
      const found = await arrivals(node, ids);
      return found.size === ids.length ? found : undefined;
    },
    timeoutMs,
    `${ids.length} acknowledged exchanges to arrive at ${node.config.domains[0]}`,
  );
  const twice = [...counts].filter(([, n]) => n !== 1);
  if (twice.length > 0) throw new Error(`delivered more than once: ${JSON.stringify(twice)}`);
  return counts.size;
}
