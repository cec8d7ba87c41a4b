#!/usr/bin/env node
/** The `keypears` binary; see program.ts. */
import { terminalPrompt } from './passphrase.js';
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  ...(process.stdin.isTTY ? { prompt: terminalPrompt } : {}),
});
