import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { DiscoveryModule } from '../discovery/discovery.module.js';
import { NodeKeysModule } from '../node-keys/node-keys.module.js';
import { FederationClient } from './federation.client.js';
import { FederationGuard } from './federation.guard.js';

/** Signed node-to-node requests: sending (FederationClient) and admitting (FederationGuard). */
@Module({
  imports: [AuthModule, DiscoveryModule, NodeKeysModule],
  providers: [FederationClient, FederationGuard],
  exports: [FederationClient, FederationGuard, AuthModule, DiscoveryModule],
})
export class FederationModule {}
