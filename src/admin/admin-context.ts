/**
 * Runs an operator command against the node's database: the same configuration, database
 * opening and migrations as the node itself, and the node's own services (in a Nest
 * application context without HTTP), so commands obey the same rules as the API.
 */
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { loadConfig, type AppConfig } from '../config/config.js';
import { openDatabase } from '../database/database-connection.js';
import { migrate } from '../database/migrator.js';
import type { Env } from '../net/settings.js';
import { AdminModule } from './admin.module.js';

export async function withAdminContext<T>(
  env: Env,
  run: (app: INestApplicationContext, config: AppConfig) => Promise<T>,
): Promise<T> {
  const config = loadConfig(env);
  const connection = await openDatabase(config);
  try {
    await migrate(connection.poolConfig);
    const app = await NestFactory.createApplicationContext(AdminModule.forRoot(config, connection), { logger: false });
    try {
      return await run(app, config);
    } finally {
      await app.close();
    }
  } finally {
    await connection.close();
  }
}
