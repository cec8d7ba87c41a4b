/**
 * README's "A first exchange, on one machine", as written: the node started the way its first
 * block says (development mode, the default domain `localhost`), then every line of the second
 * block run in order through the CLI (in-process), with the node's real address for
 * 127.0.0.1:4273, a temporary folder for `./`, and the id that `exchange start` printed for
 * `<id>`. It ends with both users printing the same secret, without the node ever stopping.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runKeypears } from './support/cli.js';
import { startTestNode, type TestNode } from './support/test-node.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('### A first exchange, on one machine'));
const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].slice(0, 2).map((m) => m[1].trim().split('\n'));

/** `A=1 B='two words'` into a record. */
const assignments = (text: string): Record<string, string> =>
  Object.fromEntries([...text.matchAll(/([A-Z_]+)=('([^']*)'|\S+)/g)].map((m) => [m[1], m[3] ?? m[2]]));

/** A command line's words: single quotes group, `#` starts a comment. */
const words = (line: string): string[] =>
  [...line.replace(/\s+#.*$/, '').matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);

let t: TestNode;
let cwd: string;

beforeAll(async () => {
  const [start] = blocks[0];
  expect(start).toMatch(/^KEYPEARS_DEV=1 npm start$/);
  t = await startTestNode(assignments(start.replace(/ npm start$/, '')));
  cwd = await mkdtemp(path.join(os.tmpdir(), 'kp-quick-start-'));
}, 60_000);

afterAll(async () => {
  await t?.destroy();
  await rm(cwd, { recursive: true, force: true });
});

describe('README quick start', () => {
  it('ends with two users holding the same secret', async () => {
    const [exportLine, kpLine, ...lines] = blocks[1];
    expect(exportLine).toMatch(/^export /);
    expect(kpLine).toBe('kp() { node dist/cli/main.js "$@"; }');
    const env = { HOME: cwd, ...assignments(exportLine) };
    let id: string | undefined;
    const secrets: string[] = [];
    for (const line of lines) {
      const [kp, ...argv] = words(line);
      expect(kp).toBe('kp');
      const args = argv.map((w) =>
        w === '<id>' ? id! : w.replace('http://127.0.0.1:4273', t.config.publicUrl).replace(/^\.\//, `${cwd}/`),
      );
      const run = await runKeypears(args, env);
      expect({ line, code: run.code, stderr: run.stderr }).toEqual({ line, code: 0, stderr: expect.any(String) });
      if (line.includes('exchange start')) id = /^id: (\S+)$/m.exec(run.stdout)?.[1];
      if (line.includes('exchange secret')) secrets.push(run.stdout.trim());
    }
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(secrets).toHaveLength(2);
    expect(secrets[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(secrets[1]).toBe(secrets[0]);
  });
});
