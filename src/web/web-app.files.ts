/**
 * The web app's files, read once at start-up from the folder the build wrote them to
 * (scripts/build-web.js): only the files its manifest names, each checked against the SHA-256
 * recorded there, kept in memory with their content type and entity tag. A request can name
 * only one of these files; no part of a URL ever reaches the file system.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Where `npm run build` puts the app: next to this module in dist/ (dist/web/app). */
export const BUILT_WEB_APP_DIR = fileURLToPath(new URL('./app/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

const FILE_NAME = /^[a-z0-9][a-z0-9.-]{0,63}$/i;

const ManifestSchema = z.strictObject({
  format: z.literal('keypears-web-app'),
  version: z.literal(1),
  files: z.record(
    z
      .string()
      .regex(FILE_NAME)
      .refine((name) => path.extname(name) in CONTENT_TYPES, 'has no known content type'),
    z.string().regex(/^[0-9a-f]{64}$/),
  ),
});

export interface WebAppFile {
  body: Buffer;
  contentType: string;
  /** A strong entity tag: the file's SHA-256. */
  etag: string;
}

export type WebAppFiles =
  { available: true; files: ReadonlyMap<string, WebAppFile> } | { available: false; reason: string };

/**
 * The app in `dir`, or why it is not available (not built, or a file that does not match the
 * manifest): the node serves its API either way, and answers /app with the reason.
 */
export function loadWebAppFiles(dir: string): WebAppFiles {
  let manifest: z.infer<typeof ManifestSchema>;
  try {
    manifest = ManifestSchema.parse(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
  } catch {
    return { available: false, reason: 'the web app is not built on this node (npm run build builds it)' };
  }
  const files = new Map<string, WebAppFile>();
  for (const [name, sha256] of Object.entries(manifest.files)) {
    let body: Buffer;
    try {
      body = readFileSync(path.join(dir, name));
    } catch {
      return { available: false, reason: `the web app's ${name} is missing; build it again (npm run build)` };
    }
    if (createHash('sha256').update(body).digest('hex') !== sha256) {
      return { available: false, reason: `the web app's ${name} does not match its manifest; build it again` };
    }
    files.set(name, { body, contentType: CONTENT_TYPES[path.extname(name)], etag: `"${sha256}"` });
  }
  if (!files.has('index.html')) return { available: false, reason: 'the web app has no index.html' };
  return { available: true, files };
}
