/**
 * `admin node-key rotate [--overlap 7d] [--json]`: start signing with a new node key; the old
 * one stays published (and valid for verification) for the overlap, so peers holding a
 * cached node document keep accepting requests. `admin node-key list` shows the published keys.
 */
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_OVERLAP_SECONDS, NodeKeysService } from '../node-keys/node-keys.service.js';
import type { NodeKey } from '../protocol/discovery.js';
import { withAdminContext, type AdminIo } from './admin-context.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `0s`, `30m`, `12h`, `7d` (at most 365d). */
export function parseOverlap(text: string): number {
  const match = /^(0|[1-9][0-9]{0,6})([smhd])$/.exec(text);
  if (!match) throw new InvalidArgumentError('expected a duration like 30m, 12h or 7d');
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2]];
  if (seconds > 365 * 86_400) throw new InvalidArgumentError('at most 365d');
  return seconds;
}

const iso = (unix: number | null) => (unix === null ? null : new Date(unix * 1000).toISOString());
const describe = (k: NodeKey) => `${k.keyId}  from ${iso(k.notBefore)}  until ${iso(k.notAfter) ?? '(current)'}`;

export function registerNodeKeyCommand(program: Command, io: AdminIo): void {
  const nodeKey = program
    .command('node-key')
    .description('the node signing keys published in /.well-known/keypears.json');
  nodeKey
    .command('rotate')
    .description('sign with a new key from now on; the previous key stays valid for the overlap')
    .option(
      '--overlap <duration>',
      'how long the previous key stays valid (0s to 365d)',
      parseOverlap,
      DEFAULT_OVERLAP_SECONDS,
    )
    .option('--json', 'print one JSON object')
    .action(async (opts: { overlap: number; json?: boolean }) => {
      const { current, retired } = await withAdminContext(io, (app) => app.get(NodeKeysService).rotate(opts.overlap));
      if (opts.json) {
        io.stdout.write(`${JSON.stringify({ current, retired })}\n`);
        return;
      }
      io.stdout.write(`New signing key: ${describe(current)}\n`);
      for (const k of retired) io.stdout.write(`Retiring:        ${describe(k)}\n`);
    });
  nodeKey
    .command('list')
    .description('the published keys, newest first')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const keys = await withAdminContext(io, (app) => app.get(NodeKeysService).publishedKeys());
      if (opts.json) io.stdout.write(`${JSON.stringify({ keys })}\n`);
      else for (const k of keys) io.stdout.write(`${describe(k)}\n`);
    });
}
