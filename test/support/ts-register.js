// node --import ./test/support/ts-register.js src/main.ts: see ts-hooks.js.
import { register } from 'node:module';

register('./ts-hooks.js', import.meta.url);
