import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { DATABASE_CONNECTION, type DatabaseConnection } from '../database/database-connection.js';
import { KeyPearsError } from '../protocol/errors.js';
import { NODE_VERSION } from '../version.js';
import { HealthRepository } from './health.repository.js';

@Injectable()
export class HealthService {
  constructor(
    private readonly repository: HealthRepository,
    @Inject(DATABASE_CONNECTION) private readonly connection: DatabaseConnection,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async check() {
    try {
      await this.repository.ping(2000);
    } catch {
      throw new KeyPearsError('database_unavailable', 'the database is not reachable');
    }
    return {
      status: 'ok' as const,
      version: NODE_VERSION,
      database: {
        status: 'up' as const,
        kind: this.connection.embedded ? ('embedded' as const) : ('postgresql' as const),
      },
      domains: this.config.domains,
    };
  }
}
