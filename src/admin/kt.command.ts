/**
 * `admin kt status|verify|export`: the operator's view of the node's transparency log
 * (docs/operators.md, "Key transparency"). `status` shows the head and whether the log is
 * advertised; `verify` rebuilds the whole tree from the stored entries and checks it against
 * every stored hash, checkpoint and account (exit 1 when anything does not hold); `export`
 * prints the evidence to keep outside the database, with the secret keys on request.
 */
import type { Command } from 'commander';
import { KeyPearsError } from '../protocol/errors.js';
import { PeerLogRepository } from '../kt-peers/peer-log.repository.js';
import { toB64u } from '../protocol/encoding.js';
import { LogAuditService } from '../transparency/log-audit.service.js';
import { withAdminContext, type AdminIo } from './admin-context.js';

export function registerKtCommand(program: Command, io: AdminIo): void {
  const kt = program.command('kt').description("the node's key-transparency log (docs/transparency.md)");
  kt.command('status')
    .description('the log: origin, size, import end, whether the node advertises it, the latest checkpoint')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const status = await withAdminContext(io, (app) => app.get(LogAuditService).status());
      if (opts.json) {
        io.stdout.write(`${JSON.stringify(status)}\n`);
        return;
      }
      io.stdout.write(
        [
          `log        ${status.origin} (generation ${status.generation}) at ${status.log}`,
          `size       ${status.size}`,
          `import end ${status.importEnd ?? '(backfill not finished)'}`,
          `advertised ${status.advertised ? 'yes' : 'no'}`,
          `unlogged   ${status.unlogged} account(s)`,
          `log key    ${status.logKey}`,
          `vrf key    ${status.vrfKey}`,
          ...(status.originMatchesConfig
            ? []
            : ['warning    the configured node URL gives another origin: the node will start a new generation']),
          '',
          status.checkpoint ?? '(no checkpoint)',
        ].join('\n'),
      );
    });
  kt.command('verify')
    .description('check the whole log: entries, stored hashes, every checkpoint, every account (exit 1 on a problem)')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const report = await withAdminContext(io, (app) => app.get(LogAuditService).verify());
      if (opts.json) io.stdout.write(`${JSON.stringify(report)}\n`);
      else {
        io.stdout.write(
          `${report.size} entries, ${report.checkpoints} checkpoints, ${report.accounts} accounts: ${report.ok ? 'consistent' : 'PROBLEMS'}\n`,
        );
        for (const p of report.problems) io.stdout.write(`  ${p}\n`);
      }
      if (!report.ok) {
        throw new KeyPearsError('kt_entry_mismatch', `the log does not verify (${report.problems.length} problem(s))`);
      }
    });
  kt.command('export')
    .description('the evidence to keep outside the database: log identity, latest checkpoint (JSON)')
    .option('--address <address>', "also a C2SP tlog-proof of this address's entry")
    .option('--secret-keys', 'include the log and VRF secret keys (for an offline backup; keep it secret)')
    .action(async (opts: { address?: string; secretKeys?: boolean }) => {
      const evidence = await withAdminContext(io, (app) =>
        app.get(LogAuditService).export({ address: opts.address, secretKeys: opts.secretKeys }),
      );
      io.stdout.write(`${JSON.stringify(evidence, null, 2)}\n`);
    });
  kt.command('peers')
    .description("other nodes' logs as this node verified them: origin, size, status, domains (JSON)")
    .action(async () => {
      const peers = await withAdminContext(io, (app) => app.get(PeerLogRepository).listPeers());
      const rows = peers.map((p) => ({
        origin: p.state.log.origin,
        size: p.state.size,
        root: toB64u(p.state.root),
        status: p.status,
        domains: p.domains,
        updatedAt: p.updatedAt.toISOString(),
        checkpoint: p.state.checkpoint,
      }));
      io.stdout.write(`${JSON.stringify({ peers: rows }, null, 2)}\n`);
    });
  kt.command('peer-clear <origin>')
    .description(
      'forget a peer log and its domain pins (after a reset or a fork was dealt with); pinned again at its next answer',
    )
    .action(async (origin: string) => {
      const cleared = await withAdminContext(io, (app) => app.get(PeerLogRepository).clearPeer(origin));
      if (!cleared) throw new KeyPearsError('not_found', `no peer log ${origin}`);
      io.stdout.write(`forgot the peer log ${origin}\n`);
    });
  kt.command('evidence')
    .description('export the evidence of failed verifications of peers, oldest first, one JSON object per line')
    .option('--after <id>', 'only records after this id')
    .action(async (opts: { after?: string }) => {
      if (opts.after !== undefined && !/^(0|[1-9][0-9]{0,18})$/.test(opts.after)) {
        throw new KeyPearsError('invalid_argument', '--after takes an evidence id');
      }
      const records = await withAdminContext(io, (app) =>
        app.get(PeerLogRepository).listEvidence(BigInt(opts.after ?? '0'), 100_000),
      );
      for (const r of records) io.stdout.write(`${JSON.stringify({ ...r, createdAt: r.createdAt.toISOString() })}\n`);
    });
}
