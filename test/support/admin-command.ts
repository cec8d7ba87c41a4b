/** Runs an operator command (`npm run admin -- ...`) on a test node's database, capturing its output. */
import { runAdmin } from '../../src/admin/admin-program.js';
import type { Clock } from '../../src/common/clock.js';
import type { TestNode } from './test-node.js';

export interface AdminRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `args` run against the database of `t` with `env` (the node's domains, as its operator would
 * have them) and, when given, the test's clock. The embedded database admits one process at a
 * time: stop the node first there.
 */
export async function adminOn(
  t: TestNode,
  args: string[],
  env: Record<string, string>,
  clock?: Clock,
): Promise<AdminRun> {
  let stdout = '';
  let stderr = '';
  const code = await runAdmin(args, {
    env: {
      ...(t.config.databaseUrl ? { DATABASE_URL: t.config.databaseUrl } : {}),
      KEYPEARS_DATA_DIR: t.config.dataDir,
      ...env,
    },
    ...(clock ? { clock } : {}),
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}
