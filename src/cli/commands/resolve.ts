/**
 * `keypears resolve <address>` (docs/cli.md): the CLI's own discovery (DNS TXT and well-known,
 * through the same SSRF guard as the node), then the public identity from the node found,
 * every signature verified. Reads KEYPEARS_DEV, KEYPEARS_DNS_SERVERS and
 * KEYPEARS_DEV_WELL_KNOWN_PORT exactly as the node does (src/net/settings.ts).
 */
import type { Command } from 'commander';
import { parseDiscoverySettings } from '../../net/settings.js';
import { unixNow } from '../../sdk/context.js';
import { resolveVerified } from '../../sdk/kt-lookups.js';
import { withTransparency } from './kt.js';
import type { CommandIo, CommandResult, RunCommand } from '../command-io.js';

export async function resolveCommand(io: CommandIo, address: string): Promise<CommandResult> {
  const found = await withTransparency(io, (state) =>
    resolveVerified(state, address, { ...parseDiscoverySettings(io.env), now: unixNow() }),
  );
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
      `${found.address}\n  node:        ${found.node} (found by ${found.method})\n  fingerprint: ${found.fingerprint}` +
      (found.entry ? `\n  log entry:   ${found.entry.index} of ${found.entry.origin} (verified)` : ''),
  };
}

export function registerResolveCommand(program: Command, run: RunCommand): void {
  program
    .command('resolve <address>')
    .description('find the node serving an address and show its public identity')
    .action((address: string) => run((io) => resolveCommand(io, address)));
}
