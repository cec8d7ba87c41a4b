/**
 * Admits a node-to-node request only when (docs/protocol.md, "Federation requests"):
 * - it is addressed to this node (`keypears-destination` is our public URL, and the signed
 *   target URI starts with it);
 * - the domain it acts for (`keypears-domain`) is served, according to discovery, by the node
 *   it claims to come from (`keypears-origin`);
 * - it is signed by a key that node publishes (its document is refetched, rate-limited, for an
 *   unknown key id or when the copy held is older than KEY_TRUST_SECONDS), within its validity
 *   window and the allowed clock skew; the discovery and refetches are charged to the
 *   request's source (OutboundBudget), after every check that needs no network;
 * - its nonce was never seen before (kept in PostgreSQL, shared by replicas).
 * The services then check that every address the request speaks for is in that domain
 * (BundleBrokerService.claimForNode, InboundExchangeService).
 */
import { CanActivate, createParamDecorator, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { SignedRequestVerifier } from '../auth/signed-request.verifier.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { requestSource } from '../common/request-source.js';
import { DiscoveryService } from '../discovery/discovery.service.js';
import { OutboundBudget } from '../discovery/outbound-budget.js';
import { parseDomain } from '../protocol/address.js';
import { normalizeNodeUrl } from '../protocol/discovery.js';
import { fromB64uSized } from '../protocol/encoding.js';
import { KeyPearsError } from '../protocol/errors.js';
import {
  DESTINATION_HEADER,
  DOMAIN_HEADER,
  FEDERATION_COVERED_HEADERS,
  FEDERATION_NONCE_SCOPE,
  ORIGIN_HEADER,
} from './federation-headers.js';

/** The authenticated sender of a federation request. */
export interface FederationOrigin {
  /** The origin node's base URL. */
  node: string;
  /** The one domain the request may speak for. */
  domain: string;
}

const ORIGIN = Symbol('federationOrigin');
type RequestWithOrigin = FastifyRequest & { [ORIGIN]?: FederationOrigin };

/** Parameter decorator: the origin authenticated by FederationGuard. */
export const CurrentOrigin = createParamDecorator((_: unknown, ctx: ExecutionContext): FederationOrigin => {
  const origin = ctx.switchToHttp().getRequest<RequestWithOrigin>()[ORIGIN];
  if (!origin) throw new Error('CurrentOrigin used on a route without FederationGuard');
  return origin;
});

function singleHeader(request: FastifyRequest, name: string): string {
  const value = request.headers[name];
  if (typeof value !== 'string' || value.length === 0 || value.length > 512) {
    throw new KeyPearsError('signature_malformed', `the request needs exactly one ${name} header`);
  }
  return value;
}

@Injectable()
export class FederationGuard implements CanActivate {
  constructor(
    private readonly verifier: SignedRequestVerifier,
    private readonly discovery: DiscoveryService,
    private readonly budget: OutboundBudget,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithOrigin>();
    const allowHttp = this.config.dev;
    const destination = singleHeader(request, DESTINATION_HEADER);
    if (destination !== this.config.publicUrl) {
      throw new KeyPearsError(
        'wrong_destination',
        `this node is ${this.config.publicUrl}, not ${destination.slice(0, 200)}`,
      );
    }
    let originNode: string;
    let domain: string;
    try {
      const rawOrigin = singleHeader(request, ORIGIN_HEADER);
      originNode = normalizeNodeUrl(rawOrigin, { allowHttp, code: 'signature_malformed' });
      // Exactly the base URL of the sender's node document, as keypears-destination is ours:
      // a second spelling of one origin would be a second thing to compare (docs/protocol.md §9.1).
      if (rawOrigin !== originNode) {
        throw new KeyPearsError('signature_malformed', `keypears-origin must be exactly ${originNode}`);
      }
      domain = parseDomain(singleHeader(request, DOMAIN_HEADER));
    } catch (e) {
      if (e instanceof KeyPearsError && e.code !== 'signature_malformed') {
        throw new KeyPearsError('signature_malformed', `federation headers: ${e.message}`);
      }
      throw e;
    }
    if (this.config.domains.includes(domain)) {
      throw new KeyPearsError('origin_not_authorized', `${domain} is served by this node, not by ${originNode}`);
    }
    await this.verifier.verify(request, {
      scope: FEDERATION_NONCE_SCOPE,
      requiredHeaders: FEDERATION_COVERED_HEADERS,
      resolveKey: async (keyId) => {
        // The node that discovery names for the domain must be the one the request says it
        // comes from (checked before the key, so a stranger's key id is not looked up at all),
        // and it must publish the key.
        // Everything checkable locally (headers, signature parameters, time window, digest)
        // has passed by now; the network work left is charged to the request's source.
        const { key } = await this.discovery.nodeVerificationKey(domain, keyId, originNode, {
          beforeNetwork: this.budget.chargeTo(requestSource(request)),
        });
        return fromB64uSized(key.publicKey, 32, 'node key');
      },
    });
    request[ORIGIN] = { node: originNode, domain };
    return true;
  }
}
