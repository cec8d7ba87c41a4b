/**
 * Runs an operator command (`npm run admin -- ...`) against a test node's database, capturing its
 * output; the node's domains are its operator's unless `env` says otherwise.
 */
import { runAdmin } from '../../src/admin/admin-program.js';
import type { Clock } from '../../src/common/clock.js';
import type { TestNode } from './test-node.js';

export async function adminFor(
  t: TestNode,
  args: string[],
  options: { env?: Record<string, string>; clock?: Clock } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const env = {
    ...(t.config.databaseUrl ? { DATABASE_URL: t.config.databaseUrl } : {}),
    KEYPEARS_DATA_DIR: t.config.dataDir,
    KEYPEARS_DOMAINS: t.config.domains.join(','),
    ...options.env,
  };
  const code = await runAdmin(args, {
    env,
    ...(options.clock ? { clock: options.clock } : {}),
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}
