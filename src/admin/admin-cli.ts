#!/usr/bin/env node
/** Entry point of `npm run admin -- <command>`; see admin-program.ts. */
import 'reflect-metadata';
import { runAdmin } from './admin-program.js';

process.exitCode = await runAdmin(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});
