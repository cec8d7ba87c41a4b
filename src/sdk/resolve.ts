/**
 * Client-side resolution (docs/cli.md: the CLI does its own discovery when it needs a node):
 * the same discovery rules and SSRF guard as the node, without a cache, then the address's
 * public identity from the node that serves it, every signature verified.
 */
import { discoverDomain, type DiscoveryMethod, type DiscoveryOptions } from '../net/domain-discovery.js';
import { fetchRemoteIdentity } from '../net/remote-identity.js';
import { parseAddress, parseDomain } from '../protocol/address.js';
import type { PublicIdentity } from '../protocol/wire.js';

/** KEYPEARS_DEV, KEYPEARS_DNS_SERVERS and KEYPEARS_DEV_WELL_KNOWN_PORT, parsed as the node parses them. */
export type ClientDiscoveryOptions = Pick<DiscoveryOptions, 'dev' | 'dnsServers' | 'devWellKnownPort' | 'timeoutMs'>;

export interface ResolvedAddress {
  address: string;
  node: string;
  /** How the node was found: discovery, or `own-node` for an address of the user's own domain. */
  method: DiscoveryMethod | 'own-node';
  identity: PublicIdentity;
  fingerprint: string;
}

/**
 * The base URL of the node serving `domain`.
 *
 * @throws KeyPearsError as `discoverDomain` (`no_node_for_domain`, `discovery_unavailable`, ...).
 */
export async function resolveNodeUrl(domain: string, opts: ClientDiscoveryOptions): Promise<string> {
  return (await discoverDomain(parseDomain(domain), opts)).nodeUrl;
}

/**
 * Discovers the node serving `address` and fetches its public identity from it.
 *
 * @example const { node, fingerprint } = await resolveAddress('bob@b.example', { dev: false });
 */
export async function resolveAddress(address: string, opts: ClientDiscoveryOptions): Promise<ResolvedAddress> {
  const { canonical, domain } = parseAddress(address);
  const found = await discoverDomain(domain, opts);
  const identity = await fetchRemoteIdentity(found.nodeUrl, canonical, opts);
  return { address: canonical, node: found.nodeUrl, method: found.method, identity, fingerprint: identity.fingerprint };
}

/**
 * `resolveAddress` for a user: an address of the user's own domain is looked up on the user's
 * own node, without discovery (it serves that domain; a try-out on `localhost` has no DNS).
 */
export async function resolveForUser(
  self: { address: string; node: string },
  address: string,
  opts: ClientDiscoveryOptions,
): Promise<ResolvedAddress> {
  const { canonical, domain } = parseAddress(address);
  if (domain !== parseAddress(self.address).domain) return resolveAddress(canonical, opts);
  const identity = await fetchRemoteIdentity(self.node, canonical, opts);
  return { address: canonical, node: self.node, method: 'own-node', identity, fingerprint: identity.fingerprint };
}
