/**
 * `admin invite create --domain D [--ttl 7d] [--json]`: mint a single-use registration invite;
 * `admin invite list [--json]`: every invite by id (never its token), with its state;
 * `admin invite revoke <id> [--json]`: delete an unused invite.
 */
import { Command, InvalidArgumentError } from 'commander';
import { InviteService, MAX_INVITE_TTL_SECONDS, type InviteListing } from '../accounts/invite.service.js';
import { withAdminContext, type AdminIo } from './admin-context.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `30m`, `12h`, `7d`. */
export function parseTtl(text: string): number {
  const match = /^([1-9][0-9]{0,6})([smhd])$/.exec(text);
  if (!match) throw new InvalidArgumentError('expected a duration like 30m, 12h or 7d');
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2]];
  if (seconds > MAX_INVITE_TTL_SECONDS) throw new InvalidArgumentError('at most 90d');
  return seconds;
}

export function registerInviteCommand(program: Command, io: AdminIo): void {
  const invite = program.command('invite').description('registration invites (KEYPEARS_REGISTRATION=invite)');
  invite
    .command('create')
    .description('mint a single-use invite for one served domain; the token is shown only once')
    .requiredOption('--domain <domain>', 'domain the invited address will belong to')
    .option('--ttl <duration>', 'how long the invite stays valid (30m, 12h, 7d; at most 90d)', parseTtl, 7 * 86_400)
    .option('--json', 'print one JSON object')
    .action(async (opts: { domain: string; ttl: number; json?: boolean }) => {
      const created = await withAdminContext(io, (app) => app.get(InviteService).create(opts.domain, opts.ttl));
      const expiresAt = created.expiresAt.toISOString();
      if (opts.json) {
        io.stdout.write(`${JSON.stringify({ token: created.token, domain: created.domain, expiresAt })}\n`);
      } else {
        io.stdout.write(`Invite for ${created.domain}, valid until ${expiresAt}:\n${created.token}\n`);
      }
    });
  invite
    .command('list')
    .description('every invite by id (the token is never shown again): unused, used (by whom) or expired')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const invites = await withAdminContext(io, (app) => app.get(InviteService).list());
      if (opts.json) {
        io.stdout.write(`${JSON.stringify({ invites: invites.map(listing) })}\n`);
      } else if (invites.length === 0) {
        io.stdout.write('no invites\n');
      } else {
        for (const i of invites.map(listing)) {
          io.stdout.write(
            `${i.id}  ${i.domain}  ${i.state}${i.usedBy ? ` by ${i.usedBy}` : ''}  expires ${i.expiresAt}\n`,
          );
        }
      }
    });
  invite
    .command('revoke <id>')
    .description('delete an unused invite (its id from "invite list", or a unique prefix of 6+ digits)')
    .option('--json', 'print one JSON object')
    .action(async (id: string, opts: { json?: boolean }) => {
      const revoked = listing(await withAdminContext(io, (app) => app.get(InviteService).revoke(id)));
      io.stdout.write(
        opts.json ? `${JSON.stringify(revoked)}\n` : `revoked invite ${revoked.id} for ${revoked.domain}\n`,
      );
    });
}

const listing = (i: InviteListing) => ({
  id: i.id,
  domain: i.domain,
  state: i.state,
  createdAt: i.createdAt.toISOString(),
  expiresAt: i.expiresAt.toISOString(),
  usedBy: i.usedBy,
});
