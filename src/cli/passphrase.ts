/**
 * Where the `keypears` CLI gets a keystore's passphrase: `KEYPEARS_PASSPHRASE` (scripts), else
 * a prompt on the terminal that does not echo, else it stops with `passphrase_required`. A new
 * passphrase is typed twice; for `keypears passphrase` it comes from `KEYPEARS_NEW_PASSPHRASE`
 * when set. An empty passphrase is taken only when the command was asked for one
 * (`--empty-passphrase`), and the CLI then warns.
 */
import { read } from 'read';
import { KeyPearsError } from '../protocol/errors.js';
import type { PassphraseSource } from '../sdk/keystore.js';
import type { CommandIo, Prompt } from './command-io.js';

/** A prompt on the process's terminal: reads stdin (without echo unless asked), asks on stderr. */
export const terminalPrompt: Prompt = async (question, opts = {}) =>
  String(await read({ prompt: question, silent: !opts.echo, replace: '', output: process.stderr }));

export const EMPTY_PASSPHRASE_WARNING =
  'warning: the keystore is not protected by a passphrase: anyone who reads keystore.json (a backup, a synced folder, a lost laptop) has every key and secret in it';

const required = (address: string, variable: string) =>
  new KeyPearsError(
    'passphrase_required',
    `the passphrase of ${address}'s keystore is needed: run on a terminal, or set ${variable}`,
  );

export interface PassphraseOptions {
  /** The user asked for an empty passphrase (`--empty-passphrase`). */
  empty?: boolean;
  /** The variable a new passphrase is read from: KEYPEARS_PASSPHRASE, or KEYPEARS_NEW_PASSPHRASE when changing it. */
  freshVariable?: 'KEYPEARS_PASSPHRASE' | 'KEYPEARS_NEW_PASSPHRASE';
}

export function passphraseSource(io: CommandIo, opts: PassphraseOptions = {}): PassphraseSource {
  const freshVariable = opts.freshVariable ?? 'KEYPEARS_PASSPHRASE';
  return {
    async existing(address) {
      const fromEnv = io.env.KEYPEARS_PASSPHRASE;
      if (fromEnv !== undefined) return fromEnv;
      if (!io.prompt) throw required(address, 'KEYPEARS_PASSPHRASE');
      return io.prompt(`passphrase for ${address}: `);
    },
    async fresh(address) {
      if (opts.empty) {
        io.warn(EMPTY_PASSPHRASE_WARNING);
        return { passphrase: '', allowEmpty: true };
      }
      const emptyRefused = new KeyPearsError(
        'invalid_argument',
        'the new passphrase is empty: give one, or pass --empty-passphrase to keep the keys without one',
      );
      const fromEnv = io.env[freshVariable];
      if (fromEnv !== undefined) {
        if (fromEnv === '') throw emptyRefused;
        return { passphrase: fromEnv, allowEmpty: false };
      }
      if (!io.prompt) throw required(address, freshVariable);
      const first = await io.prompt(`new passphrase for ${address}: `);
      if (first === '') throw emptyRefused;
      const again = await io.prompt('the same passphrase again: ');
      if (again !== first)
        throw new KeyPearsError('invalid_argument', 'the two passphrases differ; nothing was changed');
      return { passphrase: first, allowEmpty: false };
    },
  };
}
