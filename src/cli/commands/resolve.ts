/**
 * `keypears resolve <address>` (docs/cli.md): the CLI's own discovery (DNS TXT and well-known,
 * through the same SSRF guard as the node), then the public identity from the node found,
 * every signature verified. Reads KEYPEARS_DEV, KEYPEARS_DNS_SERVERS and
 * KEYPEARS_DEV_WELL_KNOWN_PORT exactly as the node does.
 */
import type { Command } from 'commander';
import { parseDevFlag, parseDevWellKnownPort, parseDnsServers, type Env } from '../../config/config.js';
import { resolveAddress, type ClientDiscoveryOptions } from '../../sdk/resolve.js';
import type { CommandIo, CommandResult } from './exchange.js';

/** The discovery settings of the environment, parsed by the node's own parsers. */
export const discoveryOptionsFromEnv = (env: Env): ClientDiscoveryOptions => ({
  dev: parseDevFlag(env),
  dnsServers: parseDnsServers(env.KEYPEARS_DNS_SERVERS),
  devWellKnownPort: parseDevWellKnownPort(env),
});

export async function resolveCommand(io: CommandIo, address: string): Promise<CommandResult> {
  const found = await resolveAddress(address, discoveryOptionsFromEnv(io.env));
  return {
    json: {
      address: found.address,
      node: found.node,
      fingerprint: found.fingerprint,
      method: found.method,
      identity: found.identity,
    },
    text: `${found.address}\n  node:        ${found.node} (found by ${found.method})\n  fingerprint: ${found.fingerprint}`,
  };
}

export function registerResolveCommand(
  program: Command,
  run: (action: (io: CommandIo) => Promise<CommandResult>) => Promise<void>,
): void {
  program
    .command('resolve <address>')
    .description('find the node serving an address and show its public identity')
    .action((address: string) => run((io) => resolveCommand(io, address)));
}
