import { Module } from '@nestjs/common';
import { RateLimitModule } from '../common/rate-limit/rate-limit.module.js';
import { AccountModule } from '../identity/account.module.js';
import { ClientAuthGuard } from './client-auth.guard.js';
import { NonceRepository } from './nonce.repository.js';
import { SignedRequestVerifier } from './signed-request.verifier.js';

@Module({
  imports: [AccountModule, RateLimitModule],
  providers: [ClientAuthGuard, SignedRequestVerifier, NonceRepository],
  exports: [ClientAuthGuard, SignedRequestVerifier, AccountModule],
})
export class AuthModule {}
