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
import type { ProgramIo } from '../cli/command-io.js';
import type { Clock } from '../common/clock.js';
import { AdminModule } from './admin.module.js';

/** An operator command's environment and streams, and the clock its services read (tests set one). */
export interface AdminIo extends ProgramIo {
  clock?: Clock;
}

export async function withAdminContext<T>(
  io: AdminIo,
  run: (app: INestApplicationContext, config: AppConfig) => Promise<T>,
): Promise<T> {
  const config = loadConfig(io.env);
  // On the embedded database a running node is joined, not refused.
  const connection = await openDatabase(config, { attach: true });
  try {
    await migrate(connection.poolConfig);
    const app = await NestFactory.createApplicationContext(AdminModule.forRoot(config, connection, io.clock), {
      logger: false,
    });
    try {
      return await run(app, config);
    } finally {
      await app.close();
    }
  } finally {
    await connection.close();
  }
}
