/**
 * The operator command line (`npm run admin -- <command>`). Each command lives in its own
 * file and registers itself on the program here.
 */
import { Command, CommanderError } from 'commander';
import { isKeyPearsError } from '../protocol/errors.js';
import type { AdminIo } from './admin-io.js';
import { registerInviteCommand } from './invite.command.js';
import { registerNodeKeyCommand } from './node-key.command.js';

/** Runs one admin command; resolves to the process exit code. */
export async function runAdmin(argv: string[], io: AdminIo): Promise<number> {
  const program = new Command('keypears-admin')
    .description('KeyPears node administration (uses the node’s environment: DATABASE_URL, KEYPEARS_DOMAINS, ...)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  // Subcommands inherit exitOverride and the output streams from the program.
  registerInviteCommand(program, io);
  registerNodeKeyCommand(program, io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    io.stderr.write(`error: ${isKeyPearsError(e) ? `${e.message} (${e.code})` : (e as Error).message}\n`);
    return 1;
  }
}
