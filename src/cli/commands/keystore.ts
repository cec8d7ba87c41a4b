/**
 * `keypears passphrase` and `keypears whoami` (docs/cli.md): change the passphrase the
 * keystore is sealed under; show whose keystore `--home` holds.
 */
import type { Command } from 'commander';
import { identityFingerprint } from '../../protocol/fingerprint.js';
import { keyFromSource, keystorePath, loadKeystoreHeader, saveKeystore } from '../../sdk/keystore.js';
import type { CommandIo, CommandResult, RunCommand } from '../command-io.js';
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
      `${header.address}\n  node:        ${header.node}\n  fingerprint: ${fingerprint}\n  keystore:    ${keystorePath(io.home)}` +
      (!encrypted
        ? ' (not encrypted yet: sealed under a passphrase at the next command that opens it)'
        : header.emptyPassphrase
          ? ' (empty passphrase)'
          : ''),
  };
}

export function registerKeystoreCommands(program: Command, run: RunCommand): void {
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
