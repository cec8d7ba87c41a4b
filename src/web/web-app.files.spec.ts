import { afterAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { refusal } from '../../test/support/expect-error.js';
import { loadWebAppFiles } from './web-app.files.js';
import { WEB_APP_HEADERS, WebService } from './web.service.js';

const dirs: string[] = [];
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A folder with `files` and a manifest naming `listed` (default: the same files and hashes). */
async function appDir(files: Record<string, string>, listed: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kp-web-files-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  const hashes = Object.fromEntries(Object.entries(files).map(([name, text]) => [name, sha256(text)]));
  const manifest = { format: 'keypears-web-app', version: 1, files: { ...hashes, ...listed } };
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('the web app’s files', () => {
  it('serves exactly the files the manifest names, typed and tagged with their hash', async () => {
    const dir = await appDir({ 'index.html': '<!doctype html>', 'app.js': 'export {};' });
    await writeFile(path.join(dir, 'extra.js'), 'not listed');
    const web = new WebService(dir);
    expect(web.file('index.html')).toMatchObject({
      contentType: 'text/html; charset=utf-8',
      etag: `"${sha256('<!doctype html>')}"`,
    });
    expect(web.file('app.js').body.toString()).toBe('export {};');
    for (const name of ['extra.js', 'manifest.json', '../package.json', '']) {
      expect(refusal(() => web.file(name)).code).toBe('not_found');
    }
  });

  it('is unavailable, saying why, when the app is not built, a file is missing or changed', async () => {
    const notBuilt = await mkdtemp(path.join(os.tmpdir(), 'kp-web-files-'));
    dirs.push(notBuilt);
    expect(loadWebAppFiles(notBuilt)).toEqual({ available: false, reason: expect.stringMatching(/not built/) });
    const missing = await appDir({ 'index.html': 'x' }, { 'app.js': sha256('y') });
    expect(loadWebAppFiles(missing)).toEqual({ available: false, reason: expect.stringMatching(/app\.js is missing/) });
    const changed = await appDir({ 'index.html': 'x', 'app.js': 'y' });
    await writeFile(path.join(changed, 'app.js'), 'y, changed after the build');
    expect(loadWebAppFiles(changed)).toEqual({
      available: false,
      reason: expect.stringMatching(/app\.js does not match its manifest/),
    });
    const error = refusal(() => new WebService(changed).file('index.html'));
    expect(error).toMatchObject({ code: 'not_found', message: expect.stringMatching(/does not match/) });
  });

  it('refuses a manifest naming a path or a type it does not know', async () => {
    for (const name of ['../secret.html', 'sub/dir.js', 'script.php', '.hidden.js']) {
      const dir = await appDir({ 'index.html': 'x' }, { [name]: sha256('z') });
      expect(loadWebAppFiles(dir)).toEqual({ available: false, reason: expect.stringMatching(/not built/) });
    }
  });
});

describe('docs/operators.md', () => {
  it('shows every header the app is served with, as it is sent', async () => {
    const doc = await readFile(path.resolve('docs/operators.md'), 'utf8');
    for (const [name, value] of Object.entries(WEB_APP_HEADERS)) {
      expect(doc).toContain(`| \`${name}\``);
      expect(doc).toContain(`\`${value}\``);
    }
  });
});
