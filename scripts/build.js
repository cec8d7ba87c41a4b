// Builds the node into dist/ (Prisma client, then tsc, then the web app with esbuild:
// scripts/build-web.js) and records what it was built from.
// With --if-stale (npm start) it builds only when that record differs from the sources now:
// a digest of every file under src/ (but src/generated/, which the build derives from
// prisma/), prisma/ and prisma.config.ts, the tsconfig files, package-lock.json and the
// build scripts. Reading and hashing them takes a few tens of milliseconds; the build, tens
// of seconds.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWebApp } from './build-web.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = path.join(ROOT, 'dist', '.build-stamp');
const INPUTS = [
  'src',
  'prisma',
  'prisma.config.ts',
  'tsconfig.json',
  'tsconfig.build.json',
  'package-lock.json',
  'scripts/build.js',
  'scripts/build-web.js',
  'scripts/prisma-generate.js',
];
const EXCLUDED = new Set([path.join('src', 'generated')]);

function* files(relative) {
  const absolute = path.join(ROOT, relative);
  if (!existsSync(absolute)) return;
  if (!statSync(absolute).isDirectory()) {
    yield relative;
    return;
  }
  for (const entry of readdirSync(absolute, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const child = path.join(relative, entry.name);
    if (EXCLUDED.has(child)) continue;
    if (entry.isDirectory()) yield* files(child);
    else if (entry.isFile()) yield child;
  }
}

/** Digest of the build's inputs: each file's path and contents, in a fixed order. */
function sourceDigest() {
  const hash = createHash('sha256');
  for (const input of INPUTS) {
    for (const file of files(input)) {
      const contents = readFileSync(path.join(ROOT, file));
      hash.update(`${file}\0${contents.length}\0`).update(contents);
    }
  }
  return hash.digest('hex');
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const digest = sourceDigest();
if (process.argv.includes('--if-stale') && existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === digest) {
  console.error('dist/ is current: not rebuilding');
  process.exit(0);
}
run(process.execPath, [path.join(ROOT, 'scripts', 'prisma-generate.js')]);
rmSync(path.join(ROOT, 'dist'), { recursive: true, force: true });
run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
await buildWebApp({ outdir: path.join(ROOT, 'dist', 'web', 'app') });
writeFileSync(STAMP, `${digest}\n`);
