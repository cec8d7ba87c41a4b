import { Inject, Injectable } from '@nestjs/common';
import { KeyPearsError } from '../protocol/errors.js';
import { loadWebAppFiles, type WebAppFile, type WebAppFiles } from './web-app.files.js';

export const WEB_APP_DIR = Symbol('WEB_APP_DIR');

/**
 * The policy every answer under /app carries (docs/operators.md, "The web app"): scripts,
 * styles and requests only from this node, no inline script or style, no eval, no plugins,
 * no framing, no form posted anywhere, and DOM sinks closed to strings (Trusted Types).
 */
export const WEB_APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/** Headers of every answer under /app, besides its type and tag. */
export const WEB_APP_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': WEB_APP_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
  // Revalidated on every load (the tag is the file's hash), so a new build is picked up at once.
  'Cache-Control': 'no-cache',
};

@Injectable()
export class WebService {
  private readonly app: WebAppFiles;

  constructor(@Inject(WEB_APP_DIR) dir: string) {
    this.app = loadWebAppFiles(dir);
  }

  /**
   * The file `name` of the app (`index.html` for the app's root).
   *
   * @throws KeyPearsError `not_found`: no such file, or the app is not built here.
   */
  file(name: string): WebAppFile {
    if (!this.app.available) throw new KeyPearsError('not_found', this.app.reason);
    const file = this.app.files.get(name);
    if (!file || name === 'manifest.json') throw new KeyPearsError('not_found', `the web app has no file ${name}`);
    return file;
  }
}
