// Types of scripts/build-web.js, for the tests that build the web app.
export const DEFAULT_OUTDIR: string;
export interface WebAppManifest {
  format: 'keypears-web-app';
  version: 1;
  files: Record<string, string>;
}
export function buildWebApp(options?: {
  outdir?: string;
  minify?: boolean;
  entryPoint?: string;
}): Promise<WebAppManifest>;
