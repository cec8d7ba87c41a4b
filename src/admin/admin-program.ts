/**
 * The operator command line (`npm run admin -- <command>`). Each command lives in its own
 * file and registers itself on the program here.
 */
import { failureOf, newProgram, parseProgram } from '../cli/command-io.js';
import type { AdminIo } from './admin-context.js';
import { registerInviteCommand } from './invite.command.js';
import { registerKtCommand } from './kt.command.js';
import { registerNodeKeyCommand } from './node-key.command.js';
import { registerPublicUrlCommand } from './public-url.command.js';

/** Runs one admin command; resolves to the process exit code. */
export async function runAdmin(argv: string[], io: AdminIo): Promise<number> {
  const program = newProgram(
    'keypears-admin',
    'KeyPears node administration (uses the node’s environment: DATABASE_URL, KEYPEARS_DOMAINS, ...)',
    io,
  );
  registerInviteCommand(program, io);
  registerNodeKeyCommand(program, io);
  registerPublicUrlCommand(program, io);
  registerKtCommand(program, io);
  try {
    return await parseProgram(program, argv);
  } catch (e) {
    const { code, message, known } = failureOf(e);
    io.stderr.write(`error: ${known ? `${message} (${code})` : message}\n`);
    return 1;
  }
}
