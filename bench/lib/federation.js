/**
 * Two or more nodes federating on loopback: a loopback nameserver publishes each domain's
 * `_keypears` TXT record, every node runs in development mode (plain HTTP, loopback peers)
 * with that nameserver, and users are made with the SDK exactly as a client makes them.
 */
import { LoopbackNameserver } from '../../dist/dev/loopback-nameserver.js';
import { NodeClient } from '../../dist/sdk/client.js';
import {
  buildPrekeyUpload,
  buildRegistration,
  createKeystore,
  isEmptyPlan,
  planTopUp,
} from '../../dist/sdk/identity.js';
import { txtRecordName } from '../../dist/protocol/discovery.js';
import { createDatabase, dropDatabase } from './database.js';
import { freePort, startNode } from './processes.js';

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Rate limits raised out of reach: the scenarios measure throughput, not the limits. */
const UNLIMITED = {
  KEYPEARS_CLAIM_LIMIT_PER_SOURCE: '1000000',
  KEYPEARS_CLAIM_LIMIT_PER_PAIR: '1000000',
  KEYPEARS_REGISTRATION_LIMIT_PER_SOURCE: '1000000',
  KEYPEARS_EXCHANGE_LIMIT_PER_PAIR: '1000000',
  KEYPEARS_EXCHANGE_LIMIT_PER_ORIGIN: '1000000',
  KEYPEARS_RESOLVE_LIMIT_PER_SOURCE: '1000000',
};

/**
 * Starts a nameserver and one node per domain (`{ label, domain }`), each on a fresh database.
 * Returns `{ nameserver, nodes: { [label]: node }, stop() }`; a node can be stopped and
 * started again on the same port and database with `node.restart()`.
 */
export async function startFederation(specs, env = {}) {
  const nameserver = await LoopbackNameserver.start(await freePort());
  const nodes = {};
  const databases = [];
  try {
    const planned = [];
    for (const spec of specs) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      nameserver.setTxt(txtRecordName(spec.domain), `v=KP1; node=${url}`);
      const database = await createDatabase(spec.label);
      databases.push(database);
      planned.push({ spec, port, database });
    }
    for (const { spec, port, database } of planned) {
      const options = {
        name: `${spec.label}-node`,
        databaseUrl: database.url,
        domains: [spec.domain],
        port,
        env: { KEYPEARS_DNS_SERVERS: nameserver.address, ...UNLIMITED, ...env, ...spec.env },
      };
      const handle = { ...(await startNode(options)), database, domain: spec.domain };
      /** Starts the node again on its port and database; `extraEnv` is added to its environment for this start. */
      handle.restart = async (extraEnv = {}) =>
        Object.assign(handle, await startNode({ ...options, env: { ...options.env, ...extraEnv } }));
      nodes[spec.label] = handle;
    }
  } catch (e) {
    await Promise.all(Object.values(nodes).map((n) => n.stop()));
    await nameserver.stop();
    await Promise.all(databases.map(dropDatabase));
    throw e;
  }
  return {
    nameserver,
    nodes,
    async stop() {
      await Promise.all(Object.values(nodes).map((n) => n.stop()));
      await nameserver.stop();
      await Promise.all(databases.map(dropDatabase));
    },
  };
}

export function clientFor(node, ks) {
  return new NodeClient({
    baseUrl: node.url,
    allowInsecureHttp: true,
    timeoutMs: 60_000,
    ...(ks ? { signer: { address: ks.address, secretKey: ks.identitySecretKey } } : {}),
  });
}

/** Registers `address` on `node` with the SDK and tops its one-time prekeys up to `prekeys` of each kind. */
export async function registerUser(node, address, prekeys = 0) {
  const ks = createKeystore(address, node.url, nowSeconds());
  const client = clientFor(node, ks);
  await client.register(buildRegistration(ks, nowSeconds()));
  ks.registeredAt = nowSeconds();
  for (;;) {
    const plan = planTopUp(ks, await client.getAccount(), prekeys, nowSeconds());
    if (isEmptyPlan(plan)) break;
    await client.publishPrekeys(buildPrekeyUpload(ks, plan, nowSeconds()));
  }
  return { ks, client, ctx: { client, ks, save: async () => {} } };
}
