/**
 * `keypears init`, `register` and `publish` (docs/cli.md): create the identity keys, register
 * them on the node, keep prekeys published. Thin over src/sdk/account.ts.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { parseDevFlag, parseDiscoverySettings } from '../../net/settings.js';
import { parseAddress } from '../../protocol/address.js';
import { KeyPearsError } from '../../protocol/errors.js';
import { identityFingerprint } from '../../protocol/fingerprint.js';
import { registerAccount, topUpPrekeys } from '../../sdk/account.js';
import { normalizeNodeUrl } from '../../sdk/client.js';
import { unixNow } from '../../sdk/context.js';
import { createKeystore, DEFAULT_ONE_TIME_PREKEYS } from '../../sdk/identity.js';
import { identityPublicKey, keyFromSource, keystoreExists, keystorePath, saveKeystore } from '../../sdk/keystore.js';
import { resolveNodeUrl } from '../../sdk/resolve.js';
import { displayAddress, type CommandIo, type CommandResult, type RunCommand } from '../command-io.js';
import { passphraseSource } from '../passphrase.js';
import { userContext } from '../user-context.js';

const MAX_PREKEYS = 1000;

/** `init <address> [--node URL]`: new identity keys; the node is found by discovery unless given. */
export async function initCommand(
  io: CommandIo,
  address: string,
  options: { node?: string; emptyPassphrase?: boolean },
): Promise<CommandResult> {
  const { canonical, domain } = parseAddress(address);
  if (await keystoreExists(io.home)) {
    throw new KeyPearsError(
      'keystore_exists',
      `${keystorePath(io.home)} already holds an identity; use another --home for another address`,
    );
  }
  const dev = parseDevFlag(io.env);
  const node = normalizeNodeUrl(options.node ?? (await resolveNodeUrl(domain, parseDiscoverySettings(io.env))), dev);
  const key = await keyFromSource(canonical, passphraseSource(io, { empty: options.emptyPassphrase }), {
    ...(io.scrypt ? { params: io.scrypt } : {}),
  });
  const ks = createKeystore(canonical, node, unixNow());
  await saveKeystore(io.home, ks, key);
  const fingerprint = identityFingerprint(identityPublicKey(ks));
  return {
    json: { address: ks.address, fingerprint, node, keystore: keystorePath(io.home) },
    text: `created identity keys for ${displayAddress(ks.address)}\n  node:        ${node}\n  fingerprint: ${fingerprint}\n  keystore:    ${keystorePath(io.home)}`,
  };
}

/** `register [--invite TOKEN]`: registration, then the first prekeys. */
export async function registerCommand(io: CommandIo, options: { invite?: string }): Promise<CommandResult> {
  const ctx = await userContext(io, { registered: false });
  if (!io.json) io.progress(`registering ${ctx.ks.address} on ${ctx.ks.node}`);
  await registerAccount(ctx, options.invite);
  if (!io.json) io.progress(`publishing prekeys`);
  const { status } = await topUpPrekeys(ctx, DEFAULT_ONE_TIME_PREKEYS);
  return {
    json: {
      address: ctx.ks.address,
      node: ctx.ks.node,
      fingerprint: status.fingerprint,
      oneTimePrekeys: status.oneTimePrekeys,
      pqOneTimePrekeys: status.pqOneTimePrekeys,
    },
    text:
      `registered ${displayAddress(ctx.ks.address)} on ${ctx.ks.node}\n  fingerprint: ${status.fingerprint}\n` +
      `  one-time prekeys: ${status.oneTimePrekeys} X25519, ${status.pqOneTimePrekeys} ML-KEM-768`,
  };
}

/** `publish [--prekeys N]`: top up one-time prekeys of both kinds to N, rotate the signed prekey when due. */
export async function publishCommand(io: CommandIo, options: { prekeys: number }): Promise<CommandResult> {
  const ctx = await userContext(io, { registered: true });
  const result = await topUpPrekeys(ctx, options.prekeys);
  const { status } = result;
  return {
    json: {
      address: ctx.ks.address,
      oneTimePrekeys: status.oneTimePrekeys,
      pqOneTimePrekeys: status.pqOneTimePrekeys,
      uploaded: { oneTimePrekeys: result.uploadedOneTimePrekeys, pqOneTimePrekeys: result.uploadedPqOneTimePrekeys },
      signedPrekeyRotated: result.signedPrekeyRotated,
      signedPrekeyId: status.signedPrekey?.id ?? null,
    },
    text:
      `${ctx.ks.address}: ${status.oneTimePrekeys} X25519 and ${status.pqOneTimePrekeys} ML-KEM-768 one-time prekeys ` +
      `(uploaded ${result.uploadedOneTimePrekeys} + ${result.uploadedPqOneTimePrekeys})` +
      (result.signedPrekeyRotated ? `\nsigned prekey rotated (id ${status.signedPrekey?.id})` : ''),
  };
}

function prekeyCount(text: string): number {
  if (!/^[0-9]{1,4}$/.test(text) || Number(text) < 1 || Number(text) > MAX_PREKEYS) {
    throw new InvalidArgumentError(`expected a number from 1 to ${MAX_PREKEYS}`);
  }
  return Number(text);
}

export function registerAccountCommands(program: Command, run: RunCommand): void {
  program
    .command('init <address>')
    .description('create identity keys for an address (the node is found by discovery unless --node is given)')
    .option('--node <url>', 'base URL of the node serving the address')
    .option('--empty-passphrase', 'keep the keys without a passphrase (not recommended; the CLI warns)')
    .addHelpText(
      'after',
      '\nThe keystore is sealed under a passphrase: typed twice on a terminal, or KEYPEARS_PASSPHRASE for scripts.',
    )
    .action((address: string, options: { node?: string; emptyPassphrase?: boolean }) =>
      run((io) => initCommand(io, address, options)),
    );
  program
    .command('register')
    .description('register the address on its node and publish the first prekeys')
    .option('--invite <token>', 'invite from the node operator (nodes with invite-only registration)')
    .action((options: { invite?: string }) => run((io) => registerCommand(io, options)));
  program
    .command('publish')
    .description('top up one-time prekeys and rotate the signed prekey when it is 7 days old')
    .option('--prekeys <n>', `one-time prekeys of each kind to keep on the node`, prekeyCount, DEFAULT_ONE_TIME_PREKEYS)
    .action((options: { prekeys: number }) => run((io) => publishCommand(io, options)));
}
