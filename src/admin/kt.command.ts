/**
 * `admin kt status|verify|export`: the operator's view of the node's transparency log
 * (docs/operators.md, "Key transparency"). `status` shows the head and whether the log is
 * advertised; `verify` rebuilds the whole tree from the stored entries and checks it against
 * every stored hash, checkpoint and account (exit 1 when anything does not hold); `export`
 * prints the evidence to keep outside the database, with the secret keys on request.
 */
import type { Command } from 'commander';
import { KeyPearsError } from '../protocol/errors.js';
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
}
