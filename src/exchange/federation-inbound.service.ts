import { Injectable } from '@nestjs/common';
import { parseWith } from '../common/zod.js';
import type { FederationOrigin } from '../federation/federation.guard.js';
import { KeysService } from '../keys/keys.service.js';
import { parseAddress } from '../protocol/address.js';
import { KeyPearsError } from '../protocol/errors.js';
import { FederationClaimRequestSchema, type FederationAck } from '../protocol/exchange-api.js';
import type { PrekeyBundle } from '../protocol/wire.js';
import { ExchangeService, type MessageOrigin } from './exchange.service.js';

/** What other nodes may ask of this one, for the domain their request was authenticated for. */
@Injectable()
export class FederationInboundService {
  constructor(
    private readonly exchanges: ExchangeService,
    private readonly keys: KeysService,
  ) {}

  /**
   * A bundle for a local address, claimed for a user of the origin's domain; rate-limited per
   * (requester, target) pair and per origin node.
   *
   * @throws KeyPearsError `invalid_request`, `origin_not_authorized`, `not_found`, `rate_limited`.
   */
  async claim(origin: FederationOrigin, body: unknown): Promise<PrekeyBundle> {
    const { requester, address } = parseWith(FederationClaimRequestSchema, body);
    if (parseAddress(requester).domain !== origin.domain) {
      throw new KeyPearsError('origin_not_authorized', `the request acts for ${origin.domain}, not for ${requester}`);
    }
    return this.keys.claimBundle(address, { address: requester, source: `node:${origin.node}` });
  }

  /** @throws whatever ExchangeService.receiveInitiation / receiveConfirmation throw. */
  deliver(origin: FederationOrigin, body: unknown): Promise<FederationAck> {
    const from: MessageOrigin = { node: origin.node, servesDomain: async (domain) => domain === origin.domain };
    const type = (body as { type?: unknown } | null)?.type;
    if (type === 'initiation') return this.exchanges.receiveInitiation(body, from);
    if (type === 'confirmation') return this.exchanges.receiveConfirmation(body, from);
    throw new KeyPearsError('invalid_request', 'type must be initiation or confirmation');
  }
}
