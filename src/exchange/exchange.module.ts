import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { RateLimitModule } from '../common/rate-limit/rate-limit.module.js';
import { FederationModule } from '../federation/federation.module.js';
import { KeysModule } from '../keys/keys.module.js';
import { BlockRepository } from './block.repository.js';
import { ExchangeController } from './exchange.controller.js';
import { ExchangeRepository } from './exchange.repository.js';
import { ExchangeService } from './exchange.service.js';
import { ExchangeSignals } from './exchange-signals.js';
import { FederationController } from './federation.controller.js';
import { FederationInboundService } from './federation-inbound.service.js';
import { OutboxRepository } from './outbox.repository.js';
import { OutboxWorker } from './outbox.worker.js';

/**
 * The exchange (docs/protocol.md §7, §10): the client API, the federation endpoints that carry exchange
 * messages and bundle claims between nodes, and the outbox that delivers them reliably.
 */
@Module({
  imports: [AuthModule, KeysModule, RateLimitModule, FederationModule],
  controllers: [ExchangeController, FederationController],
  providers: [
    ExchangeService,
    FederationInboundService,
    ExchangeRepository,
    BlockRepository,
    OutboxRepository,
    OutboxWorker,
    ExchangeSignals,
  ],
})
export class ExchangeModule {}
