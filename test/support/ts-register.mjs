/**
 * Lets a child process run the TypeScript sources as they are (`node --import
 * ./test/support/ts-register.mjs src/main.ts`), compiled on load by SWC with the project's
 * .swcrc, as Jest runs them: for tests that need a node in a process of its own (one they can
 * SIGKILL).
 */
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
