import { Module } from '@nestjs/common';
import { RateLimitModule } from '../common/rate-limit/rate-limit.module.js';
import { AccountRepository } from './account.repository.js';
import { InviteRepository } from './invite.repository.js';
import { InviteService } from './invite.service.js';
import { RegistrationController } from './registration.controller.js';
import { RegistrationLimitGuard } from './registration-limit.guard.js';
import { RegistrationService } from './registration.service.js';
import { TransparencyModule } from '../transparency/transparency.module.js';

/**
 * The node's accounts (docs/key-directory.md, "Registration"): registering an address,
 * invites, and the account storage that request authentication and the exchange read.
 */
@Module({
  imports: [RateLimitModule, TransparencyModule],
  controllers: [RegistrationController],
  providers: [AccountRepository, RegistrationService, RegistrationLimitGuard, InviteService, InviteRepository],
  exports: [AccountRepository, InviteService],
})
export class AccountsModule {}
