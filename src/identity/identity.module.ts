import { Module } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { RateLimitModule } from '../common/rate-limit/rate-limit.module.js';
import { AccountModule } from './account.module.js';
import { IdentityController } from './identity.controller.js';
import { InviteRepository } from './invite.repository.js';
import { InviteService } from './invite.service.js';
import { RegistrationLimitGuard } from './registration-limit.guard.js';
import { RegistrationService } from './registration.service.js';

@Module({
  imports: [AccountModule, RateLimitModule],
  controllers: [IdentityController],
  providers: [RegistrationService, RegistrationLimitGuard, InviteService, InviteRepository, Clock],
  exports: [InviteService],
})
export class IdentityModule {}
