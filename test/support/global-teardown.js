import { rm } from 'node:fs/promises';

export default async function globalTeardown() {
  if (globalThis.__KP_TEMPLATE_ROOT__) await rm(globalThis.__KP_TEMPLATE_ROOT__, { recursive: true, force: true });
}
