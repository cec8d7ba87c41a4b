/** What the SDK's account and exchange flows act with. */
import type { NodeClient } from './client.js';
import type { Keystore } from './keystore.js';

export interface UserContext {
  /** A client of the user's own node, signing as the keystore's address. */
  client: NodeClient;
  ks: Keystore;
  /** Persists the keystore (atomically); called before anything is sent that depends on it. */
  save(ks: Keystore): Promise<void>;
  /** Unix seconds; defaults to the system clock. */
  now?: () => number;
}

/** The system clock in Unix seconds. */
export const unixNow = (): number => Math.floor(Date.now() / 1000);

/** The context's time in Unix seconds. */
export const nowOf = (ctx: Pick<UserContext, 'now'>): number => (ctx.now ?? unixNow)();
