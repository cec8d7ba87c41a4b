import { Module } from '@nestjs/common';
import { RateLimitModule } from '../common/rate-limit/rate-limit.module.js';
import { AccountModule } from './account.module.js';
import { IdentityController } from './identity.controller.js';
import { InviteRepository } from './invite.repository.js';
import { InviteService } from './invite.service.js';
import { RegistrationService } from './registration.service.js';

@Module({
  imports: [AccountModule, RateLimitModule],
  controllers: [IdentityController],
  providers: [RegistrationService, InviteService, InviteRepository],
  exports: [InviteService],
})
export class IdentityModule {}
