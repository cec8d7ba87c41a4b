/**
 * The `keypears` command line (docs/cli.md) as a function, so it runs the same from the
 * binary and in-process in tests: `keypears [--home DIR] [--json] <command>`. Commands live
 * in ./commands and register themselves; this file owns the global options, output and exit
 * codes.
 */
import os from 'node:os';
import path from 'node:path';
import type { Env } from '../net/settings.js';
import { NODE_VERSION } from '../version.js';
import { failureOf, newProgram, parseProgram, type CommandIo, type ProgramIo, type RunCommand } from './command-io.js';
import { registerAccountCommands } from './commands/account.js';
import { registerBlockCommands } from './commands/blocks.js';
import { registerContactCommands } from './commands/contacts.js';
import { ID_ARG_PREFIX, registerExchangeCommands } from './commands/exchange.js';
import { registerKeystoreCommands } from './commands/keystore.js';
import { registerKtCommands } from './commands/kt.js';
import { registerResolveCommand } from './commands/resolve.js';

/** `--home`, else `$KEYPEARS_HOME`, else `~/.keypears`. */
export function homeDir(option: string | undefined, env: Env): string {
  return path.resolve(option ?? env.KEYPEARS_HOME ?? path.join(env.HOME || os.homedir(), '.keypears'));
}

/**
 * A whole exchange id that starts with `-` (about 1 in 64 do) is an argument, not an option:
 * it is handed on as `id:<id>`, which every command taking an id reads. No option is 22
 * characters of the id alphabet.
 */
const idArgument = (arg: string): string => (/^-[A-Za-z0-9_-]{21}$/.test(arg) ? `${ID_ARG_PREFIX}${arg}` : arg);

/** Runs one command; resolves to the exit code (0 success, 1 failure, commander's codes for usage errors). */
export async function runCli(argv: string[], streams: ProgramIo): Promise<number> {
  const program = newProgram(
    'keypears',
    'KeyPears: federated key directory and hybrid X25519 + ML-KEM-768 key exchange',
    streams,
  )
    .version(NODE_VERSION)
    .option('--home <dir>', 'keystore directory (default: $KEYPEARS_HOME, then ~/.keypears)')
    .option('--json', 'print exactly one JSON object on stdout')
    .addHelpText(
      'after',
      '\nThe keystore is sealed under a passphrase: asked on the terminal (no echo), or KEYPEARS_PASSPHRASE.',
    );

  let exitCode = 0;
  const run: RunCommand = async (action) => {
    const globals = program.opts<{ home?: string; json?: boolean }>();
    const json = globals.json === true;
    let drawn = false;
    const io: CommandIo = {
      home: homeDir(globals.home, streams.env),
      json,
      env: streams.env,
      progress: (text, final = true) => {
        if (json) return;
        // A line redrawn in place is cleared to its end first (ANSI "erase in line").
        if (!final) streams.stderr.write(`\r\x1b[K${text}`);
        else streams.stderr.write(`${drawn ? '\r\x1b[K' : ''}${text === '' ? '' : `${text}\n`}`);
        drawn = !final;
      },
      warn: (text) => streams.stderr.write(`${text}\n`),
      ...(streams.prompt ? { prompt: streams.prompt } : {}),
      ...(streams.scrypt ? { scrypt: streams.scrypt } : {}),
    };
    try {
      const result = await action(io);
      streams.stdout.write(json ? `${JSON.stringify(result.json)}\n` : `${result.text}\n`);
    } catch (e) {
      const { code, message, known, details } = failureOf(e);
      // The error's facts for programs (docs/cli.md, "details"), only when it has some.
      if (json)
        streams.stdout.write(`${JSON.stringify({ error: { code, message, ...(details ? { details } : {}) } })}
`);
      streams.stderr.write(`keypears: ${message}${known ? ` (${code})` : ''}
`);
      exitCode = 1;
    }
  };

  registerAccountCommands(program, run);
  registerResolveCommand(program, run);
  registerExchangeCommands(program, run);
  registerKeystoreCommands(program, run);
  registerKtCommands(program, run);
  registerContactCommands(program, run);
  registerBlockCommands(program, run);

  const usage = await parseProgram(program, argv.map(idArgument));
  return usage || exitCode;
}
