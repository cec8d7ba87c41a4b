import { Module } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.js';
import { RateLimitModule } from '../common/rate-limit/rate-limit.module.js';
import { DirectoryModule } from '../directory/directory.module.js';
import { KtPeersModule } from '../kt-peers/kt-peers.module.js';
import { DiscoveryCacheRepository } from './discovery-cache.repository.js';
import { createDiscoveryClient, DISCOVERY_CLIENT } from './discovery.client.js';
import { DiscoveryService } from './discovery.service.js';
import { OutboundBudget } from './outbound-budget.js';
import { RemoteIdentityCache } from './remote-identity.cache.js';
import { ResolveController } from './resolve.controller.js';
import { ResolveService } from './resolve.service.js';

@Module({
  imports: [DirectoryModule, RateLimitModule, KtPeersModule],
  controllers: [ResolveController],
  providers: [
    DiscoveryService,
    DiscoveryCacheRepository,
    OutboundBudget,
    ResolveService,
    RemoteIdentityCache,
    { provide: DISCOVERY_CLIENT, useFactory: createDiscoveryClient, inject: [APP_CONFIG] },
  ],
  exports: [DiscoveryService, OutboundBudget, DISCOVERY_CLIENT, KtPeersModule],
})
export class DiscoveryModule {}
