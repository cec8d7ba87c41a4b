/**
 * The web app's build (scripts/build-web.js): a bundle the browser can run without Node, and a
 * manifest the node checks every file against; a static node:* import anywhere in the bundle
 * fails the build.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildWebApp } from '../scripts/build-web.js';

const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kp-web-build-'));
  dirs.push(dir);
  return dir;
};

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('the web app build', () => {
  it('writes the page, its script and style, and a manifest of their SHA-256', async () => {
    const out = await tempDir();
    const manifest = await buildWebApp({ outdir: out });
    expect(Object.keys(manifest.files)).toEqual(expect.arrayContaining(['app.css', 'app.js', 'index.html']));
    for (const [name, sha256] of Object.entries(manifest.files)) {
      expect(
        createHash('sha256')
          .update(await readFile(path.join(out, name)))
          .digest('hex'),
      ).toBe(sha256);
    }
    expect(JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'))).toEqual(manifest);
    const js = await readFile(path.join(out, 'app.js'), 'utf8');
    // Node's modules appear only as run-time imports the browser refuses (and the code survives).
    expect(js).not.toMatch(/from\s*"node:|require\("node:/);
    expect(js.match(/import\("node:[a-z]+"\)/g)?.sort()).toEqual(['import("node:buffer")', 'import("node:crypto")']);
  });

  it('fails when code in the bundle imports a node: module statically, naming the importer', async () => {
    const dir = await tempDir();
    const entry = path.join(dir, 'probe.ts');
    await writeFile(entry, "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n");
    await expect(buildWebApp({ outdir: path.join(dir, 'out'), entryPoint: entry })).rejects.toThrow(
      /node:fs is a Node\.js module: code the browser runs must not import it statically \(imported by .*probe\.ts\)/,
    );
    await writeFile(entry, "import { createHash } from 'crypto';\nexport const h = createHash;\n");
    await expect(buildWebApp({ outdir: path.join(dir, 'out'), entryPoint: entry })).rejects.toThrow(
      /crypto is a Node\.js module/,
    );
  });
});
