/** docs/cli.md names every error code the CLI and the SDK under it can report. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return file.endsWith('.ts') && !file.endsWith('.spec.ts') ? [file] : [];
  });

describe('docs/cli.md', () => {
  it('lists every code thrown in src/cli and src/sdk (or docs/errors.md does)', () => {
    const documented = readFileSync('docs/cli.md', 'utf8') + readFileSync('docs/errors.md', 'utf8');
    const thrown = new Set(
      [...sources('src/cli'), ...sources('src/sdk')].flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/KeyPearsError\(\s*'([a-z_]+)'/g)].map((m) => m[1]),
      ),
    );
    expect(thrown.size).toBeGreaterThan(5);
    expect([...thrown].filter((code) => !documented.includes(`\`${code}\``))).toEqual([]);
  });
});
