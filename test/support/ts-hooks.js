// Module hooks that let a child process run the TypeScript sources as they are, the way Jest
// runs them (SWC with the project's .swcrc), so that a test can start `src/main.ts` as an
// operator starts `dist/main.js`, without a build: node --import ./test/support/ts-register.js
// src/main.ts. A relative import of `x.js` loads `x.ts` when only that exists.
import { transform } from '@swc/core';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const { $schema: _schema, ...swcOptions } = JSON.parse(readFileSync(new URL('../../.swcrc', import.meta.url), 'utf8'));

export async function resolve(specifier, context, nextResolve) {
  if (/^\.{1,2}\//.test(specifier) && specifier.endsWith('.js') && context.parentURL?.startsWith('file:')) {
    const js = new URL(specifier, context.parentURL);
    const ts = new URL(js.href.replace(/\.js$/, '.ts'));
    if (!existsSync(js) && existsSync(ts)) return { url: ts.href, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const filename = fileURLToPath(url);
  const { code } = await transform(await readFile(filename, 'utf8'), { ...swcOptions, filename, swcrc: false });
  return { format: 'module', source: code, shortCircuit: true };
}
