// Builds the web app (src/web/app) for browsers with esbuild: one ES module bundle, app.js,
// with the protocol core and the SDK in it, next to the page and its style sheet, and a
// manifest.json naming each file with its SHA-256, which is all the node serves (src/web).
//
// The bundle must not need Node: a static import of a node:* module anywhere in it fails the
// build, naming the importer. Node-only fast paths imported at run time (node:crypto and
// node:buffer in src/protocol) stay dynamic imports the browser refuses, and the code falls back
// to noble and @scure/base; so does liboqs' ML-KEM-768, which the bundle leaves out.
//
// Run as a script (`node scripts/build-web.js [outdir]`, default dist/web/app) or import
// buildWebApp().
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const APP = path.join(ROOT, 'src', 'web', 'app');
export const DEFAULT_OUTDIR = path.join(ROOT, 'dist', 'web', 'app');
/** Copied as they are. */
const STATIC_FILES = ['index.html', 'app.css'];
/** Optional at run time; the bundle leaves it out (the app uses noble's ML-KEM-768). */
const LEFT_OUT = ['@oqs/liboqs-js', '@oqs/liboqs-js/kem'];

/** Refuses a static node:* import; keeps a dynamic one as it is, for the browser to refuse. */
const noNodeModules = {
  name: 'no-node-modules',
  setup(b) {
    b.onResolve({ filter: /^node:|^(fs|path|crypto|buffer|url|net|dns|os|stream|util|http|https)$/ }, (args) => {
      if (args.kind === 'dynamic-import') return { path: args.path, external: true };
      return {
        errors: [
          {
            text: `${args.path} is a Node.js module: code the browser runs must not import it statically (imported by ${path.relative(ROOT, args.importer)})`,
          },
        ],
      };
    });
  },
};

/**
 * Builds the app into `outdir` (emptied first) and answers the manifest written there.
 * `entryPoint` replaces src/web/app/main.ts (the tests bundle probes of their own).
 *
 * @param {{ outdir?: string, minify?: boolean, entryPoint?: string }} [options]
 */
export async function buildWebApp({ outdir = DEFAULT_OUTDIR, minify = true, entryPoint } = {}) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: [entryPoint ?? path.join(APP, 'main.ts')],
    outfile: path.join(outdir, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify,
    legalComments: 'linked',
    external: LEFT_OUT,
    plugins: [noNodeModules],
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  for (const file of STATIC_FILES) copyFileSync(path.join(APP, file), path.join(outdir, file));
  const files = {};
  for (const file of ['app.js', 'app.js.LEGAL.txt', ...STATIC_FILES].sort()) {
    let contents;
    try {
      contents = readFileSync(path.join(outdir, file));
    } catch {
      continue;
    }
    files[file] = createHash('sha256').update(contents).digest('hex');
  }
  const manifest = { format: 'keypears-web-app', version: 1, files };
  writeFileSync(path.join(outdir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2] ? path.resolve(process.argv[2]) : DEFAULT_OUTDIR;
  await buildWebApp({ outdir });
  console.error(`web app built into ${path.relative(process.cwd(), outdir) || '.'}`);
}
