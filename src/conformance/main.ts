#!/usr/bin/env node
/** `npm run conformance -- --node URL [--domain D] ...` (docs/conformance.md). */
import { conformanceCli } from './cli.js';

// Exits at once: connections to the node under test that are kept alive must not hold the run.
process.exit(await conformanceCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }));
