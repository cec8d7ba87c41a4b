/**
 * What the command-line programs share: the `keypears` CLI (./program.ts) and the operator
 * commands (src/admin) run as functions of their arguments, environment and output streams,
 * so the same code runs from a binary and in-process in tests.
 */
import { Command, CommanderError } from 'commander';
import type { Env } from '../net/settings.js';
import { isKeyPearsError, type ErrorCode } from '../protocol/errors.js';
import type { ScryptParams } from '../sdk/keystore-format.js';

/** Asks a question on the terminal; the answer is not echoed (a passphrase) unless `echo`. */
export type Prompt = (question: string, opts?: { echo?: boolean }) => Promise<string>;

/** Where a program reads its environment and writes its output (real streams, or buffers in tests). */
export interface ProgramIo {
  env: Env;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** A prompt on the terminal; absent when standard input is not one (then only the environment gives passphrases). */
  prompt?: Prompt;
  /** The scrypt cost of keystores sealed under a new passphrase (default DEFAULT_SCRYPT; tests choose a cheap one). */
  scrypt?: ScryptParams;
}

/** What every `keypears` command needs from the CLI around it. */
export interface CommandIo {
  /** The keystore directory (`--home`, `$KEYPEARS_HOME`, `~/.keypears`). */
  home: string;
  json: boolean;
  env: Env;
  /** Writes a progress line for people (stderr); not called with `--json`. */
  progress(text: string, final?: boolean): void;
  /** Writes a warning or a note on stderr, with or without `--json`. */
  warn(text: string): void;
  /** The terminal prompt, when there is a terminal. */
  prompt?: Prompt;
  /** The scrypt cost of a keystore sealed under a new passphrase. */
  scrypt?: ScryptParams;
}

/** A command's answer: one JSON object for `--json`, a text for people. */
export interface CommandResult {
  json: Record<string, unknown>;
  text: string;
}

/**
 * The CLI's runner, handed to each command group when it registers: it builds the CommandIo
 * from the global options, prints the result and turns errors into a message on stderr and a
 * non-zero exit code.
 */
export type RunCommand = (action: (io: CommandIo) => Promise<CommandResult>) => Promise<void>;

/** A commander program that writes to `io` and reports usage errors instead of exiting. */
export function newProgram(name: string, description: string, io: ProgramIo): Command {
  // Subcommands inherit exitOverride and the output streams from the program.
  return new Command(name)
    .description(description)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
}

/**
 * Runs `program` on `argv`. Resolves to commander's exit code for a usage error or `--help`,
 * otherwise 0; any other error is passed on.
 */
export async function parseProgram(program: Command, argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    throw e;
  }
}

/** The code and message to report for a failed command (`internal_error` for a non-KeyPears error). */
export function failureOf(e: unknown): {
  code: ErrorCode;
  message: string;
  known: boolean;
  details?: Record<string, unknown>;
} {
  const known = isKeyPearsError(e);
  const details = known && e.details && Object.keys(e.details).length > 0 ? e.details : undefined;
  return {
    code: known ? e.code : 'internal_error',
    message: e instanceof Error ? e.message : String(e),
    known,
    details,
  };
}
