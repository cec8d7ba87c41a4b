import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { RateLimitModule } from '../common/rate-limit/rate-limit.module.js';
import { AccountKeysController } from './account-keys.controller.js';
import { IdentitiesController } from './identities.controller.js';
import { KeysService } from './keys.service.js';
import { PrekeyRepository } from './prekey.repository.js';

@Module({
  imports: [AuthModule, RateLimitModule],
  controllers: [AccountKeysController, IdentitiesController],
  providers: [KeysService, PrekeyRepository],
  exports: [KeysService],
})
export class KeysModule {}
