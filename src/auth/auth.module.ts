import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module.js';
import { RateLimitModule } from '../common/rate-limit/rate-limit.module.js';
import { ClientAuthGuard } from './client-auth.guard.js';
import { NonceRepository } from './nonce.repository.js';
import { SignedRequestVerifier } from './signed-request.verifier.js';

@Module({
  imports: [AccountsModule, RateLimitModule],
  providers: [ClientAuthGuard, SignedRequestVerifier, NonceRepository],
  exports: [ClientAuthGuard, SignedRequestVerifier, AccountsModule],
})
export class AuthModule {}
