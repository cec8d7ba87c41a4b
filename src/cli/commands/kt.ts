/**
 * `keypears kt status` and `keypears kt monitor` (docs/cli.md, "Key transparency"): what the
 * keystore holds about transparency logs (the logs pinned and their sizes, the user's own
 * entry, when the monitor last ran), and the owner's scan of the user's own node's log for
 * entries under the user's label this device did not make. Also the monitor run at the start
 * of the commands that talk to the node, at most every 10 minutes.
 */
import type { Command } from 'commander';
import { toB64u } from '../../protocol/encoding.js';
import { KeyPearsError } from '../../protocol/errors.js';
import { keystoreExists } from '../../sdk/keystore.js';
import {
  emptyTransparency,
  forgetContactPin,
  readTransparency,
  type TransparencyState,
  writeTransparency,
} from '../../sdk/transparency.js';
import type { CommandIo, CommandResult, RunCommand } from '../command-io.js';
import { runMonitor } from '../kt-monitor.js';
import { openHome } from '../user-context.js';

const iso = (seconds: number | undefined) => (seconds === undefined ? null : new Date(seconds * 1000).toISOString());

/** `kt status`: the pinned logs, the own entry, the last monitor run. */
export async function ktStatusCommand(io: CommandIo): Promise<CommandResult> {
  const { ks } = await openHome(io);
  const state = readTransparency(ks);
  const domains = (origin: string) => [...state.domains].filter(([, o]) => o === origin).map(([d]) => d);
  const logs = [...state.logs.values()].map((l) => ({
    origin: l.log.origin,
    size: l.size,
    root: toB64u(l.root),
    domains: domains(l.log.origin),
  }));
  const self = state.self && {
    origin: state.self.origin,
    indexes: state.self.indexes,
    scannedTo: state.self.scan.size,
    foreign: state.self.foreign.map((f) => ({ index: f.index, entry: toB64u(f.entry), tlogProof: f.tlogProof })),
  };
  const json = {
    address: ks.address,
    logs,
    self: self ?? null,
    contacts: state.contacts.size,
    lastMonitorAt: iso(state.lastMonitorAt),
    evidence: state.evidence.length,
  };
  const lines = [
    `key transparency for ${ks.address}`,
    ...(logs.length === 0
      ? ['  no log pinned yet']
      : logs.map((l) => `  ${l.origin}: size ${l.size} (${l.domains.join(', ')})`)),
    self
      ? `  own entry: ${self.indexes.join(', ')} in ${self.origin}, scanned to ${self.scannedTo}` +
        (self.foreign.length > 0 ? `; FOREIGN ENTRIES: ${self.foreign.map((f) => f.index).join(', ')}` : '')
      : '  own entry: not known yet (run "keypears kt monitor")',
    `  last monitor run: ${json.lastMonitorAt ?? 'never'}`,
    `  contacts pinned: ${json.contacts}; evidence kept: ${json.evidence}`,
  ];
  return { json, text: lines.join('\n') };
}

/** `kt monitor`: exit 0 when the log holds nothing under the user's label that this device did not make. */
export async function ktMonitorCommand(io: CommandIo): Promise<CommandResult> {
  const { ks, save } = await openHome(io);
  if (ks.registeredAt === undefined) {
    throw new KeyPearsError('not_registered', `${ks.address} is not registered yet (run "keypears register")`);
  }
  const report = await runMonitor(io, ks, save);
  return {
    json: { origin: report.origin, size: report.size, scanned: report.scanned, foreign: [] },
    text: `${report.origin}: ${report.size} entries, ${report.scanned} read now; nothing under ${ks.address} that this device did not make`,
  };
}

/** `kt accept <address>`: forget a contact's pinned log entry, after comparing safety numbers. */
export async function ktAcceptCommand(io: CommandIo, address: string): Promise<CommandResult> {
  const { ks, save } = await openHome(io);
  const state = readTransparency(ks);
  const forgotten = forgetContactPin(state, address);
  writeTransparency(ks, state);
  await save(ks);
  return {
    json: { address, forgotten },
    text: forgotten
      ? `forgot the pinned key of ${address}; its current key is pinned at the next lookup`
      : `${address} had no pinned key`,
  };
}

/**
 * Runs `use` with the keystore's transparency state and saves it afterwards, also after a
 * failure (the evidence); without a keystore, with a state of this run only.
 */
export async function withTransparency<T>(io: CommandIo, use: (state: TransparencyState) => Promise<T>): Promise<T> {
  if (!(await keystoreExists(io.home))) return use(emptyTransparency());
  const { ks, save } = await openHome(io);
  const state = readTransparency(ks);
  try {
    return await use(state);
  } finally {
    writeTransparency(ks, state);
    await save(ks);
  }
}

export function registerKtCommands(program: Command, run: RunCommand): void {
  const kt = program
    .command('kt')
    .description('key transparency: the logs pinned, and the scan of your own node log (docs/transparency.md)');
  kt.command('status')
    .description('the logs pinned and their sizes, your own entry, when the monitor last ran')
    .action(() => run((io) => ktStatusCommand(io)));
  kt.command('monitor')
    .description('scan your node log for entries under your address that this device did not make (exit 1 if any)')
    .action(() => run((io) => ktMonitorCommand(io)));
  kt.command('accept <address>')
    .description("accept a contact's changed key after comparing safety numbers (forgets its pinned log entry)")
    .action((address: string) => run((io) => ktAcceptCommand(io, address)));
}
