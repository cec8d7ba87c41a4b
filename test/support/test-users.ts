/**
 * Users for end-to-end tests, made with the SDK exactly as a client would: a keystore, a
 * registration, prekey uploads.
 */
import { NodeClient } from '../../src/sdk/client.js';
import {
  buildPrekeyUpload,
  buildRegistration,
  createKeystore,
  isEmptyPlan,
  planTopUp,
} from '../../src/sdk/identity.js';
import type { Keystore } from '../../src/sdk/keystore.js';
import type { TestNode } from './test-node.js';

export interface TestUser {
  ks: Keystore;
  client: NodeClient;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A client of `t` that signs (as `ks`, if given) at the node's own time. */
export function clientFor(t: TestNode, ks?: Keystore): NodeClient {
  return new NodeClient({
    baseUrl: t.config.publicUrl,
    allowInsecureHttp: true,
    now: () => t.clock.unixSeconds(),
    ...(ks ? { signer: { address: ks.address, secretKey: ks.identitySecretKey } } : {}),
  });
}

/** Registers `address` and tops its one-time prekeys of both kinds up to `prekeys`, all at the node's time. */
export async function registerUser(t: TestNode, address: string, prekeys = 0): Promise<TestUser> {
  const now = () => t.clock.unixSeconds();
  const ks = createKeystore(address, t.config.publicUrl, now());
  const client = clientFor(t, ks);
  await client.register(buildRegistration(ks, now()));
  ks.registeredAt = now();
  await topUp({ ks, client }, prekeys, now);
  return { ks, client };
}

export async function topUp(user: TestUser, target: number, now = nowSeconds): Promise<void> {
  for (;;) {
    const status = await user.client.getAccount();
    const plan = planTopUp(user.ks, status, target, now());
    if (isEmptyPlan(plan)) return;
    await user.client.publishPrekeys(buildPrekeyUpload(user.ks, plan, now()));
  }
}
