/**
 * `keypears resolve <address>` (docs/cli.md): the CLI's own discovery (DNS TXT and well-known,
 * through the same SSRF guard as the node), then the public identity from the node found,
 * every signature verified. Reads KEYPEARS_DEV, KEYPEARS_DNS_SERVERS and
 * KEYPEARS_DEV_WELL_KNOWN_PORT exactly as the node does (src/net/settings.ts).
 */
import type { Command } from 'commander';
import { parseDiscoverySettings } from '../../net/settings.js';
import { resolveVerified } from '../../sdk/kt-lookups.js';
import { keystoreExists } from '../../sdk/keystore.js';
import { emptyTransparency } from '../../sdk/transparency.js';
import { unixNow } from '../../sdk/context.js';
import { displayAddress, type CommandIo, type CommandResult, type RunCommand } from '../command-io.js';
import { openHome } from '../user-context.js';
import { resolvePinned } from './contacts.js';

/**
 * Without a keystore in `--home`: discovery. With one: its own domain on its own node, and the
 * key found checked against the pinned one (so the passphrase is needed).
 */
export async function resolveCommand(io: CommandIo, address: string): Promise<CommandResult> {
  const found = (await keystoreExists(io.home))
    ? await resolvePinned(io, await openHome(io), address)
    : await resolveVerified(emptyTransparency(), address, { ...parseDiscoverySettings(io.env), now: unixNow() });
  return {
    json: {
      address: found.address,
      node: found.node,
      fingerprint: found.fingerprint,
      method: found.method,
      identity: found.identity,
      transparency: found.entry
        ? { origin: found.entry.origin, index: found.entry.index, kind: found.entry.kind }
        : null,
    },
    text:
      `${displayAddress(found.address)}\n  node:        ${found.node} (found by ${found.method})\n  fingerprint: ${found.fingerprint}` +
      (found.entry ? `\n  log entry:   ${found.entry.index} of ${found.entry.origin} (verified)` : ''),
  };
}

export function registerResolveCommand(program: Command, run: RunCommand): void {
  program
    .command('resolve <address>')
    .description('find the node serving an address and show its public identity')
    .action((address: string) => run((io) => resolveCommand(io, address)));
}
