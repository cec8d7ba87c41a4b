/**
 * `keypears passphrase` and `keypears whoami` (docs/cli.md): change the passphrase the
 * keystore is sealed under; show whose keystore `--home` holds.
 */
import type { Command } from 'commander';
import { KeyPearsError } from '../../protocol/errors.js';
import { identityFingerprint } from '../../protocol/fingerprint.js';
import { unixNow } from '../../sdk/context.js';
import { applyRetention } from '../../sdk/exchange.js';
import {
  keyFromSource,
  keystorePath,
  loadKeystoreHeader,
  MAX_FORGET_AFTER_DAYS,
  saveKeystore,
} from '../../sdk/keystore.js';
import { displayAddress, type CommandIo, type CommandResult, type RunCommand } from '../command-io.js';
import { passphraseSource } from '../passphrase.js';
import { openHome } from '../user-context.js';

/** `passphrase [--empty-passphrase]`: the current passphrase, then the new one (typed twice, or KEYPEARS_NEW_PASSPHRASE). */
export async function passphraseCommand(io: CommandIo, options: { emptyPassphrase?: boolean }): Promise<CommandResult> {
  const { ks } = await openHome(io);
  const source = passphraseSource(io, { empty: options.emptyPassphrase, freshVariable: 'KEYPEARS_NEW_PASSPHRASE' });
  const key = await keyFromSource(ks.address, source, { ...(io.scrypt ? { params: io.scrypt } : {}) });
  await saveKeystore(io.home, ks, key);
  return {
    json: { address: ks.address, keystore: keystorePath(io.home), emptyPassphrase: key.emptyPassphrase },
    text: `the keystore of ${ks.address} is now sealed under the new passphrase`,
  };
}

/** `whoami`: the address, node and fingerprint of `--home`, read without the passphrase. */
export async function whoamiCommand(io: CommandIo): Promise<CommandResult> {
  const header = await loadKeystoreHeader(io.home);
  const fingerprint = identityFingerprint(header.identityKey!);
  const encrypted = header.version === 2;
  return {
    json: {
      address: header.address,
      node: header.node,
      fingerprint,
      keystore: keystorePath(io.home),
      encrypted,
      emptyPassphrase: header.emptyPassphrase,
    },
    text:
      `${displayAddress(header.address)}\n  node:        ${header.node}\n  fingerprint: ${fingerprint}\n  keystore:    ${keystorePath(io.home)}` +
      (!encrypted
        ? ' (not encrypted yet: sealed under a passphrase at the next command that opens it)'
        : header.emptyPassphrase
          ? ' (empty passphrase)'
          : ''),
  };
}

/** `settings [--forget-after DAYS|never]`: shows the settings, changing the retention when asked. */
export async function settingsCommand(io: CommandIo, options: { forgetAfter?: string }): Promise<CommandResult> {
  const { ks, save } = await openHome(io);
  if (options.forgetAfter !== undefined) {
    const days = forgetAfterDays(options.forgetAfter);
    const settings = { ...ks.settings };
    if (days === null) delete settings.forgetAfterDays;
    else settings.forgetAfterDays = days;
    ks.settings = settings;
    // Applied at once, as every later command does.
    applyRetention(ks, unixNow());
    await save(ks);
  }
  const days = ks.settings?.forgetAfterDays ?? null;
  return {
    json: { forgetAfterDays: days },
    text:
      days === null
        ? 'forget-after: never (secrets are kept until "keypears exchange forget")'
        : `forget-after: ${days} days (the secret of a confirmed exchange is forgotten ${days} days after it started)`,
  };
}

function forgetAfterDays(text: string): number | null {
  if (text === 'never') return null;
  if (!/^[1-9][0-9]{0,4}$/.test(text) || Number(text) > MAX_FORGET_AFTER_DAYS) {
    throw new KeyPearsError(
      'invalid_argument',
      `--forget-after must be a whole number of days from 1 to ${MAX_FORGET_AFTER_DAYS}, or "never"`,
    );
  }
  return Number(text);
}

export function registerKeystoreCommands(program: Command, run: RunCommand): void {
  program
    .command('settings')
    .description('show the keystore settings; --forget-after changes how long confirmed secrets are kept')
    .option(
      '--forget-after <days>',
      'forget the secret of a confirmed exchange this many days after it started, or "never"',
    )
    .action((options: { forgetAfter?: string }) => run((io) => settingsCommand(io, options)));
  program
    .command('passphrase')
    .description('change the passphrase the keystore is sealed under')
    .option('--empty-passphrase', 'keep the keys without a passphrase from now on (not recommended; the CLI warns)')
    .addHelpText(
      'after',
      '\nThe current passphrase comes from KEYPEARS_PASSPHRASE or the terminal, the new one from\n' +
        'KEYPEARS_NEW_PASSPHRASE or the terminal (typed twice). A wrong current passphrase changes nothing.',
    )
    .action((options: { emptyPassphrase?: boolean }) => run((io) => passphraseCommand(io, options)));
  program
    .command('whoami')
    .description('the address, node and fingerprint of this keystore (no passphrase needed)')
    .action(() => run((io) => whoamiCommand(io)));
}
