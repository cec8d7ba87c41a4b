// Generates the Prisma client (src/generated/prisma). Generating needs only Prisma's bundled
// WebAssembly, but the CLI insists on locating a native schema engine first; where none can
// be downloaded, any existing file satisfies that check, so point it at this Node binary.
import { spawnSync } from 'node:child_process';

const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
env.PRISMA_HIDE_UPDATE_MESSAGE ??= '1';
const result = spawnSync('npx', ['--no-install', 'prisma', 'generate'], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
