// Writes docs/test-vectors/transparency.json from the built code: `npm run build && node
// scripts/transparency-vectors.js`. The spec src/protocol/transparency/vectors.spec.ts fails
// until the file is regenerated after a change to the formats.
import { writeFileSync } from 'node:fs';
import { transparencyVectors } from '../dist/protocol/transparency/vectors.js';

const file = new URL('../docs/test-vectors/transparency.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(transparencyVectors(), null, 2)}\n`);
console.log(`wrote ${file.pathname}`);
