/**
 * Prekey bundles for exchanges (docs/protocol.md, "POST /api/v1/federation/claim"): a local
 * user's claim of any address's bundle, served from this node's directory or fetched over
 * federation from the address's node (clients never talk to foreign nodes), and the claims
 * other nodes make of local addresses on behalf of their users.
 */
import { KT_KNOWN_HEADER_NAME, type LogAdvertisement, type WithTransparency } from '../protocol/transparency/wire.js';
import { DiscoveryService } from '../discovery/discovery.service.js';
import { PeerLogService } from '../kt-peers/peer-log.service.js';
import { Inject, Injectable } from '@nestjs/common';
import type { AccountKey } from '../accounts/account.repository.js';
import { RateLimitService } from '../common/rate-limit/rate-limit.service.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { DirectoryService } from '../directory/directory.service.js';
import { FederationClient } from '../federation/federation.client.js';
import type { FederationOrigin } from '../federation/federation.guard.js';
import { parseAddress } from '../protocol/address.js';
import { KeyPearsError } from '../protocol/errors.js';
import type { FederationClaimRequest } from '../protocol/exchange-api.js';
import { decodeBundle, parseWire, PrekeyBundleSchema, type PrekeyBundle } from '../protocol/wire.js';
import { FEDERATION_CLAIM_PATH } from './federation-paths.js';

@Injectable()
export class BundleBrokerService {
  constructor(
    private readonly directory: DirectoryService,
    private readonly rateLimits: RateLimitService,
    private readonly federation: FederationClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly discovery: DiscoveryService,
    private readonly peerLogs: PeerLogService,
  ) {}

  /**
   * A verified prekey bundle of `address` (canonical) for a local user: claimed locally, or
   * from the address's node over federation on the user's behalf.
   *
   * @throws KeyPearsError `invalid_request` (the user's own address), `not_found`,
   *   `rate_limited`, `no_node_for_domain`, `peer_error`, `peer_unavailable`.
   */
  async claimForUser(
    account: AccountKey,
    address: string,
    source: string,
    known?: number,
  ): Promise<WithTransparency<PrekeyBundle>> {
    if (address === account.address) throw new KeyPearsError('invalid_request', 'cannot exchange keys with yourself');
    const target = parseAddress(address);
    const { domain } = target;
    if (this.config.domains.includes(domain)) {
      return this.directory.claimBundle(target, { address: account.address, source }, known);
    }
    // The peer limits per requester too; this keeps one local user from spending this node's budget there.
    await this.rateLimits.consume(
      `fedclaim:pair:${account.address}>${address}`,
      { limit: this.config.claimLimitPerPair, windowSeconds: 3600 },
      `bundle claims for ${address}`,
    );
    const resolved = await this.discovery.resolveDomain(domain);
    const ktKnown = await this.peerLogs.knownSize(domain);
    const answer = await this.federation
      .post(domain, FEDERATION_CLAIM_PATH, { requester: account.address, address } satisfies FederationClaimRequest, {
        senderDomain: parseAddress(account.address).domain,
        headers: { [KT_KNOWN_HEADER_NAME]: String(ktKnown) },
      })
      .catch((e: unknown) => {
        // What the user can act on passes through; anything else stays a peer error.
        const peerCode = e instanceof KeyPearsError ? e.details?.peerCode : undefined;
        if (peerCode === 'not_found') throw new KeyPearsError('not_found', `${address} is not registered on its node`);
        if (peerCode === 'rate_limited') {
          throw new KeyPearsError('rate_limited', `the node of ${domain} refuses more claims for now`, {
            retryAfterSeconds: 60,
          });
        }
        throw e;
      });
    const { transparency, ...plain } = (answer ?? {}) as { transparency?: unknown };
    let bundle: PrekeyBundle;
    let decoded;
    try {
      bundle = parseWire(PrekeyBundleSchema, plain, 'invalid_bundle');
      decoded = decodeBundle(bundle, address);
    } catch (e) {
      throw new KeyPearsError('peer_error', `the node of ${domain} sent an invalid bundle: ${(e as Error).message}`);
    }
    // Verified against the peer's log before it is relayed (docs/transparency.md §11.4).
    const member = await this.peerLogs.verifyForRelay(
      {
        address,
        domain,
        nodeUrl: resolved.nodeUrl,
        identity: { identityKey: decoded.identityKey, identityDhKey: decoded.identityDhKey },
        member: transparency,
        advertised: (resolved.document.transparency ?? null) as LogAdvertisement | null,
      },
      known,
    );
    return member ? { ...bundle, transparency: member } : bundle;
  }

  /**
   * A bundle of a local address, claimed by another node for one of its users; rate-limited
   * per (requester, target) pair and per origin node.
   *
   * @throws KeyPearsError `origin_not_authorized` (the requester is not of the origin's
   *   domain), `not_found`, `rate_limited`.
   */
  async claimForNode(
    origin: FederationOrigin,
    { requester, address }: FederationClaimRequest,
    known?: number,
  ): Promise<WithTransparency<PrekeyBundle>> {
    if (parseAddress(requester).domain !== origin.domain) {
      throw new KeyPearsError('origin_not_authorized', `the request acts for ${origin.domain}, not for ${requester}`);
    }
    return this.directory.claimBundle(
      parseAddress(address),
      { address: requester, source: `node:${origin.node}` },
      known,
    );
  }
}
