import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { requestSource } from '../common/request-source.js';
import { RateLimitService } from '../common/rate-limit/rate-limit.service.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';

/**
 * Counts a registration attempt against its source address before the body is read, so that
 * malformed attempts spend the budget too (KEYPEARS_REGISTRATION_LIMIT_PER_SOURCE per hour).
 */
@Injectable()
export class RegistrationLimitGuard implements CanActivate {
  constructor(
    private readonly rateLimits: RateLimitService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** @throws KeyPearsError `rate_limited`. */
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const source = requestSource(context.switchToHttp().getRequest<FastifyRequest>());
    await this.rateLimits.consume(
      `register:source:${source}`,
      { limit: this.config.registrationLimitPerSource, windowSeconds: 3600 },
      'registrations from this address',
    );
    return true;
  }
}
