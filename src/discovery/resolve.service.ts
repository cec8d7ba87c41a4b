import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { DirectoryService } from '../directory/directory.service.js';
import type { Address } from '../protocol/address.js';
import { PeerLogService } from '../kt-peers/peer-log.service.js';
import {
  type LogAdvertisement,
  PublicIdentityAnswerSchema,
  type WithTransparency,
} from '../protocol/transparency/wire.js';
import type { PublicIdentity } from '../protocol/wire.js';
import { DISCOVERY_CLIENT, type DiscoveryClient } from './discovery.client.js';
import { DiscoveryService, type ResolvedDomain } from './discovery.service.js';
import { OutboundBudget } from './outbound-budget.js';
import { RemoteIdentityCache } from './remote-identity.cache.js';

export const ResolveResponseSchema = z.object({
  address: z.string().describe('canonical address'),
  node: z.string().describe('base URL of the node serving the address'),
  local: z.boolean().describe('true when this node serves the address itself'),
  discovery: z.object({
    method: z.enum(['local', 'dns', 'well-known', 'both']),
    cached: z.boolean(),
    stale: z.boolean().describe('the last refresh failed; this is the previous answer (at most 24 h old)'),
  }),
  identity: PublicIdentityAnswerSchema,
});
export type ResolveResponse = z.infer<typeof ResolveResponseSchema>;

/** "Which node serves this address, and what is its public identity?" (docs/discovery.md §7). */
@Injectable()
export class ResolveService {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly directory: DirectoryService,
    private readonly remoteIdentities: RemoteIdentityCache,
    @Inject(DISCOVERY_CLIENT) private readonly client: DiscoveryClient,
    private readonly budget: OutboundBudget,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly peerLogs: PeerLogService,
  ) {}

  /** @param source the asking client's IP address, charged for the outbound work a remote address needs. */
  async resolve(address: Address, source: string, known?: number): Promise<ResolveResponse> {
    const { canonical, domain } = address;
    if (this.discovery.isLocalDomain(domain)) {
      return {
        address: canonical,
        node: this.config.publicUrl,
        local: true,
        discovery: { method: 'local', cached: false, stale: false },
        identity: await this.directory.lookupPublicIdentity(address, known),
      };
    }
    // Anyone may ask, so outbound work (DNS, node documents, identity fetches) is charged to
    // the asking address; answers from the caches are free.
    const admit = this.budget.chargeTo(source);
    const resolved = await this.discovery.resolveDomain(domain, { beforeNetwork: admit });
    const identity = await this.remoteIdentity(resolved, canonical, admit, known);
    return {
      address: canonical,
      node: resolved.nodeUrl,
      local: false,
      discovery: { method: resolved.method, cached: resolved.cached, stale: resolved.stale },
      identity,
    };
  }

  /**
   * A remote identity, verified against its node's log before it is cached or relayed
   * (docs/transparency.md §11.4). A requester that asks for the proof gets a fresh answer with
   * the member, its consistency proof from the requester's size; others may get the cache.
   */
  private async remoteIdentity(
    resolved: ResolvedDomain,
    address: string,
    admit: () => Promise<void>,
    known: number | undefined,
  ): Promise<WithTransparency<PublicIdentity>> {
    const { nodeUrl, domain, document } = resolved;
    const cached = known === undefined ? this.remoteIdentities.get(nodeUrl, address) : undefined;
    if (cached) return cached;
    await admit();
    const fetched = await this.client.fetchRemoteIdentity(nodeUrl, address, await this.peerLogs.knownSize(domain));
    const member = await this.peerLogs.verifyForRelay(
      {
        address,
        domain,
        nodeUrl,
        identity: fetched.identity,
        member: fetched.transparency,
        advertised: (document.transparency ?? null) as LogAdvertisement | null,
      },
      known,
    );
    this.remoteIdentities.set(nodeUrl, address, fetched.identity, fetched.maxAgeSeconds);
    return member ? { ...fetched.identity, transparency: member } : fetched.identity;
  }
}
