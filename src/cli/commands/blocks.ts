/**
 * `keypears block`, `unblock` and `blocks` (docs/cli.md): the addresses and whole domains the
 * user's node refuses exchanges from, kept by the node (`/api/v1/blocks`).
 */
import type { Command } from 'commander';
import type { CommandIo, CommandResult, RunCommand } from '../command-io.js';
import { userContext } from '../user-context.js';

const listed = (blocks: string[]): CommandResult => ({
  json: { blocks },
  text: blocks.length === 0 ? 'no blocks' : blocks.join('\n'),
});

/** `block <address|domain>`, `unblock <address|domain>`, `blocks`. */
export async function blocksCommand(
  io: CommandIo,
  change?: { block?: string; unblock?: string },
): Promise<CommandResult> {
  const { client } = await userContext(io, { registered: true });
  if (change?.block !== undefined) return listed((await client.block(change.block)).blocks);
  if (change?.unblock !== undefined) return listed((await client.unblock(change.unblock)).blocks);
  return listed((await client.blocks()).blocks);
}

export function registerBlockCommands(program: Command, run: RunCommand): void {
  program
    .command('block <pattern>')
    .description('refuse exchanges from an address (bob@b.example) or a whole domain (b.example)')
    .action((pattern: string) => run((io) => blocksCommand(io, { block: pattern })));
  program
    .command('unblock <pattern>')
    .description('take an address or domain off the block list')
    .action((pattern: string) => run((io) => blocksCommand(io, { unblock: pattern })));
  program
    .command('blocks')
    .description('the addresses and domains you block')
    .action(() => run((io) => blocksCommand(io)));
}
