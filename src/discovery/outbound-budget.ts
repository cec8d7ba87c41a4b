import { Inject, Injectable } from '@nestjs/common';
import { RateLimitService } from '../common/rate-limit/rate-limit.service.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';

/**
 * The budget of outbound work (DNS lookups, node documents, identity fetches) that one source
 * may make the node do on its behalf, KEYPEARS_RESOLVE_LIMIT_PER_SOURCE per minute: spent by
 * remote resolves and by federation requests whose claimed origin must be discovered before
 * their signature can be checked. Answers from the caches cost nothing.
 */
@Injectable()
export class OutboundBudget {
  constructor(
    private readonly rateLimits: RateLimitService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * A function that spends one unit of `source`'s budget.
   *
   * @returns a function that throws KeyPearsError `rate_limited` when the budget is spent.
   */
  chargeTo(source: string): () => Promise<void> {
    return () =>
      this.rateLimits.consume(
        `resolve:source:${source}`,
        { limit: this.config.resolveLimitPerSource, windowSeconds: 60 },
        'lookups from this source that need network work',
      );
  }
}
