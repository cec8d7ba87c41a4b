/** Users who exchange keys through the SDK, for the exchange test suites. */
import type { UserContext } from '../../src/sdk/context.js';
import { registerUser, type TestUser } from './test-users.js';
import type { TestNode } from './test-node.js';

export interface ExchangeUser extends TestUser {
  ctx: UserContext;
  /** How many times the keystore was saved (it would be written to disk by the CLI). */
  saves: number;
}

export async function exchangeUser(t: TestNode, address: string, prekeys = 3): Promise<ExchangeUser> {
  const user = (await registerUser(t, address, prekeys)) as ExchangeUser;
  user.saves = 0;
  user.ctx = {
    client: user.client,
    ks: user.ks,
    save: async () => {
      user.saves++;
    },
  };
  return user;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
