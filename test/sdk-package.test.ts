/**
 * The SDK as another project uses it: `npm pack` makes the tarball, a consumer folder holds it
 * as node_modules/keypears-node (its dependencies linked from this checkout's node_modules),
 * docs/sdk.md's example runs there as written against a real node, importing
 * 'keypears-node/sdk' and nothing by relative path, and a TypeScript consumer type-checks
 * against the declarations in the tarball. The build is refreshed first when the sources
 * changed (scripts/build.js --if-stale).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTestNode, type TestNode } from './support/test-node.js';

const run = promisify(execFile);
const repo = path.resolve(new URL('..', import.meta.url).pathname);
const example = /```js\n([\s\S]*?)```/.exec(readFileSync(path.join(repo, 'docs/sdk.md'), 'utf8'))![1];

let t: TestNode;
let consumer: string;

beforeAll(async () => {
  await run(process.execPath, ['scripts/build.js', '--if-stale'], { cwd: repo, maxBuffer: 64 * 1024 * 1024 });
  consumer = await mkdtemp(path.join(os.tmpdir(), 'kp-sdk-consumer-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', consumer], {
    cwd: repo,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [{ filename }] = JSON.parse(stdout) as Array<{ filename: string }>;
  const installed = path.join(consumer, 'node_modules', 'keypears-node');
  await mkdir(installed, { recursive: true });
  await run('tar', ['-xzf', path.join(consumer, filename), '-C', installed, '--strip-components=1']);
  // The package's dependencies, as an install would provide them.
  for (const entry of await readdir(path.join(repo, 'node_modules'))) {
    if (entry === '.bin' || entry.startsWith('.')) continue;
    await symlink(path.join(repo, 'node_modules', entry), path.join(consumer, 'node_modules', entry));
  }
  await writeFile(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module' }));
  t = await startTestNode({ KEYPEARS_DOMAINS: 'localhost' });
}, 300_000);

afterAll(async () => {
  await t?.destroy();
  if (consumer) await rm(consumer, { recursive: true, force: true });
});

describe('keypears-node/sdk from the packed tarball', () => {
  it('holds the SDK entry point and its declarations, and no sources or tests', async () => {
    const files = await readdir(path.join(consumer, 'node_modules', 'keypears-node', 'dist', 'sdk'));
    expect(files).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'keystore-format.d.ts']));
    await expect(readdir(path.join(consumer, 'node_modules', 'keypears-node', 'test'))).rejects.toThrow();
    await expect(readdir(path.join(consumer, 'node_modules', 'keypears-node', 'src'))).rejects.toThrow();
  });

  it("runs docs/sdk.md's complete exchange as written", async () => {
    expect(example).not.toMatch(/from '\.{1,2}\//);
    await writeFile(path.join(consumer, 'example.mjs'), example);
    const { stdout } = await run(process.execPath, ['example.mjs'], {
      cwd: consumer,
      env: { ...process.env, NODE_URL: t.config.publicUrl },
    });
    expect(stdout.trim()).toBe('true');
  }, 60_000);

  it('type-checks a TypeScript consumer against the declarations', async () => {
    await writeFile(
      path.join(consumer, 'consumer.ts'),
      [
        "import { createKeystore, exchangeSecret, type Keystore, type ExchangeSummary } from 'keypears-node/sdk';",
        "const ks: Keystore = createKeystore('carol@localhost', 'http://127.0.0.1:4273', 0);",
        'const summary: ExchangeSummary | undefined = undefined;',
        "export const hex: string = summary ? exchangeSecret(ks, 'x') : '';",
        '// @ts-expect-error: the declarations are checked (a number is no address)',
        "createKeystore(42, 'http://127.0.0.1:4273', 0);",
      ].join('\n'),
    );
    await writeFile(
      path.join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    await expect(run(process.execPath, [tsc, '-p', consumer])).resolves.toBeDefined();
  }, 120_000);
});
