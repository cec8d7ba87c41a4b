/**
 * `admin public-url show [--json]`: the public URL every replica on this database must start
 * with (recorded by the first node to start). `admin public-url set <url> [--json]`: records
 * another one, to move the node: stop every replica, set it, start them with the new
 * KEYPEARS_PUBLIC_URL (docs/operators.md, "Replicas behind a balancer").
 */
import { Command, InvalidArgumentError } from 'commander';
import { NodePublicationService } from '../node-keys/node-publication.service.js';
import { normalizeNodeUrl } from '../protocol/discovery.js';
import { withAdminContext, type AdminIo } from './admin-context.js';

function parseUrl(text: string): string {
  try {
    return normalizeNodeUrl(text, { allowHttp: true });
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

export function registerPublicUrlCommand(program: Command, io: AdminIo): void {
  const publicUrl = program
    .command('public-url')
    .description('the public URL (KEYPEARS_PUBLIC_URL) every replica on this database must publish');
  publicUrl
    .command('show')
    .description('the recorded URL (none before a node first started on this database)')
    .option('--json', 'print one JSON object: {"publicUrl": "<url>" | null}')
    .action(async (opts: { json?: boolean }) => {
      const recorded = await withAdminContext(io, (app) => app.get(NodePublicationService).recorded());
      if (opts.json) io.stdout.write(`${JSON.stringify({ publicUrl: recorded ?? null })}\n`);
      else io.stdout.write(`${recorded ?? '(none recorded yet: the first node to start records its own)'}\n`);
    });
  publicUrl
    .command('set')
    .argument('<url>', 'the new public URL, as KEYPEARS_PUBLIC_URL takes it')
    .description('move the node: with every replica stopped, record the URL they will start with')
    .option('--json', 'print one JSON object: {"publicUrl": "<url>", "previous": "<url>" | null}')
    .action(async (url: string, opts: { json?: boolean }) => {
      const next = parseUrl(url);
      const previous = await withAdminContext(io, (app) => app.get(NodePublicationService).replace(next));
      if (opts.json) io.stdout.write(`${JSON.stringify({ publicUrl: next, previous: previous ?? null })}\n`);
      else io.stdout.write(`Public URL: ${next}${previous ? ` (was ${previous})` : ''}\n`);
    });
}
