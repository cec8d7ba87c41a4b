import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { RateLimitModule } from '../common/rate-limit/rate-limit.module.js';
import { DirectoryModule } from '../directory/directory.module.js';
import { FederationModule } from '../federation/federation.module.js';
import { BlockController } from './blocks/block.controller.js';
import { BlockRepository } from './blocks/block.repository.js';
import { BlockService } from './blocks/block.service.js';
import { BundleBrokerService } from './bundle-broker.service.js';
import { ExchangeController } from './exchange.controller.js';
import { ExchangeRepository } from './exchange.repository.js';
import { ExchangeService } from './exchange.service.js';
import { ExchangeWaiters } from './exchange-waiters.js';
import { FederationController } from './federation.controller.js';
import { InboundExchangeService } from './inbound-exchange.service.js';
import { OutboxRepository } from './outbox/outbox.repository.js';
import { OutboxWorker } from './outbox/outbox.worker.js';

/**
 * The exchange (docs/protocol.md §7, §9, §10), split along the trust boundary:
 * what a foreign node may make this node store (InboundExchangeService), prekey bundles for
 * exchanges (BundleBrokerService), a local user's side (ExchangeService, with long polling
 * through ExchangeWaiters), blocks, and the outbox that delivers messages to other nodes.
 */
@Module({
  imports: [AuthModule, DirectoryModule, RateLimitModule, FederationModule],
  controllers: [ExchangeController, BlockController, FederationController],
  providers: [
    ExchangeService,
    InboundExchangeService,
    BundleBrokerService,
    ExchangeRepository,
    ExchangeWaiters,
    BlockService,
    BlockRepository,
    OutboxRepository,
    OutboxWorker,
  ],
})
export class ExchangeModule {}
