/** `npm run db:migrate`: apply pending migrations and exit, without starting the node. */
import { loadConfig } from '../config/config.js';
import { isKeyPearsError } from '../protocol/errors.js';
import { openDatabase } from './database-connection.js';
import { migrate } from './migrator.js';

const config = loadConfig(process.env);
const connection = await openDatabase(config);
try {
  const result = await migrate(connection.poolConfig, (m) => console.log(m));
  console.log(
    result.applied.length
      ? `applied ${result.applied.length} migration(s)`
      : `database is up to date (${result.alreadyApplied} migration(s))`,
  );
} catch (error) {
  console.error(isKeyPearsError(error) ? error.message : error);
  process.exitCode = 1;
} finally {
  await connection.close();
}
