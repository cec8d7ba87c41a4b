/**
 * The `keypears` command line (docs/cli.md) as a function, so it runs the same from the binary and
 * in-process in tests: `keypears [--home DIR] [--json] <command>`. Commands live in
 * ./commands and register themselves; this file owns the global options, output and exit codes.
 */
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import type { Env } from '../config/config.js';
import { isKeyPearsError } from '../protocol/errors.js';
import { NODE_VERSION } from '../version.js';
import { registerAccountCommands } from './commands/account.js';
import { registerExchangeCommands, type CommandIo, type CommandResult } from './commands/exchange.js';
import { registerResolveCommand } from './commands/resolve.js';

export interface CliStreams {
  env: Env;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** `--home`, else `$KEYPEARS_HOME`, else `~/.keypears`. */
export function homeDir(option: string | undefined, env: Env): string {
  return path.resolve(option ?? env.KEYPEARS_HOME ?? path.join(env.HOME || os.homedir(), '.keypears'));
}

/** Runs one command; resolves to the exit code (0 success, 1 failure, commander's codes for usage errors). */
export async function runCli(argv: string[], streams: CliStreams): Promise<number> {
  const output = { writeOut: (s: string) => streams.stdout.write(s), writeErr: (s: string) => streams.stderr.write(s) };
  const program = new Command('keypears')
    .description('KeyPears: federated key directory and hybrid X25519 + ML-KEM-768 key exchange')
    .version(NODE_VERSION)
    .option('--home <dir>', 'keystore directory (default: $KEYPEARS_HOME, then ~/.keypears)')
    .option('--json', 'print exactly one JSON object on stdout')
    .exitOverride()
    .configureOutput(output);

  let exitCode = 0;
  const run = async (action: (io: CommandIo) => Promise<CommandResult>): Promise<void> => {
    const globals = program.opts<{ home?: string; json?: boolean }>();
    const json = globals.json === true;
    const io: CommandIo = {
      home: homeDir(globals.home, streams.env),
      json,
      env: streams.env,
      progress: (text, final = true) => {
        if (!json) streams.stderr.write(final ? `${text}\n` : `\r${text}`);
      },
    };
    try {
      const result = await action(io);
      streams.stdout.write(json ? `${JSON.stringify(result.json)}\n` : `${result.text}\n`);
    } catch (e) {
      const code = isKeyPearsError(e) ? e.code : 'internal_error';
      const message = e instanceof Error ? e.message : String(e);
      // The error's facts for programs (docs/cli.md, "details"), only when it has some.
      const details =
        isKeyPearsError(e) && e.details && Object.keys(e.details).length > 0 ? { details: e.details } : {};
      if (json) streams.stdout.write(`${JSON.stringify({ error: { code, message, ...details } })}\n`);
      streams.stderr.write(`keypears: ${message}${isKeyPearsError(e) ? ` (${code})` : ''}\n`);
      exitCode = 1;
    }
  };

  registerAccountCommands(program, run);
  registerResolveCommand(program, run);
  registerExchangeCommands(program, run);

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    throw e;
  }
  return exitCode;
}
