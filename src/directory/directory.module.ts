import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { RateLimitModule } from '../common/rate-limit/rate-limit.module.js';
import { AccountKeysController } from './account-keys.controller.js';
import { IdentitiesController } from './identities.controller.js';
import { DirectoryService } from './directory.service.js';
import { PrekeyRepository } from './prekey.repository.js';
import { TransparencyModule } from '../transparency/transparency.module.js';

/**
 * The key directory (docs/key-directory.md): an account's prekeys (`/api/v1/accounts/me`),
 * public identities and bundle claims (`/api/v1/identities`). Lookups and claims are also what
 * the exchange and resolve serve to other nodes and local users.
 */
@Module({
  imports: [AuthModule, RateLimitModule, TransparencyModule],
  controllers: [AccountKeysController, IdentitiesController],
  providers: [DirectoryService, PrekeyRepository],
  exports: [DirectoryService],
})
export class DirectoryModule {}
