import type { AppConfig } from '../config/config.js';
import { discoverDomain, fetchNodeDocument, type DiscoveredDomain } from '../net/domain-discovery.js';
import { fetchRemoteIdentityWithMaxAge, type FetchedIdentity } from '../net/remote-identity.js';
import type { NodeDocument } from '../protocol/discovery.js';

/** The network side of discovery, injectable so the cache rules can be tested without it. */
export interface DiscoveryClient {
  discoverDomain(domain: string): Promise<DiscoveredDomain>;
  fetchNodeDocument(nodeUrl: string): Promise<{ document: NodeDocument }>;
  /** The verified public identity of a remote address, and its Cache-Control max-age. */
  fetchRemoteIdentity(nodeUrl: string, address: string, ktKnown?: number): Promise<FetchedIdentity>;
}

export const DISCOVERY_CLIENT = Symbol('DISCOVERY_CLIENT');

export function createDiscoveryClient(config: AppConfig): DiscoveryClient {
  const opts = { dev: config.dev, dnsServers: config.dnsServers, devWellKnownPort: config.devWellKnownPort };
  return {
    discoverDomain: (domain) => discoverDomain(domain, opts),
    fetchNodeDocument: (nodeUrl) => fetchNodeDocument(nodeUrl, opts),
    fetchRemoteIdentity: (nodeUrl, address, ktKnown) =>
      fetchRemoteIdentityWithMaxAge(nodeUrl, address, { ...opts, ...(ktKnown !== undefined ? { ktKnown } : {}) }),
  };
}
