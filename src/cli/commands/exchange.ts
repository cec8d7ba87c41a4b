/**
 * The exchange commands of the `keypears` CLI (docs/cli.md): `exchange start`, `inbox`,
 * `exchange accept`, `exchange show`, `exchange secret` and `fingerprint`. Thin over the SDK
 * (src/sdk/exchange.ts); each command returns one JSON object for `--json` and a text for
 * people, and writes progress to stderr only when not `--json`.
 */
import type { Command } from 'commander';
import { parseDiscoverySettings } from '../../net/settings.js';
import { parseAddress } from '../../protocol/address.js';
import { fromB64u } from '../../protocol/encoding.js';
import { KeyPearsError } from '../../protocol/errors.js';
import { identityFingerprint, safetyNumber } from '../../protocol/fingerprint.js';
import {
  acceptExchange,
  exchangeSecret,
  forgetExchange,
  refreshExchange,
  startExchange,
  waitForExchange,
  waitForInbox,
  type ExchangeSummary,
} from '../../sdk/exchange.js';
import { unixNow } from '../../sdk/context.js';
import { identityPublicKey } from '../../sdk/keystore.js';
import { resolveVerified } from '../../sdk/kt-lookups.js';
import { readTransparency, writeTransparency } from '../../sdk/transparency.js';
import type { CommandIo, CommandResult, RunCommand } from '../command-io.js';
import { monitorIfDue } from '../kt-monitor.js';
import { openHome, userContext } from '../user-context.js';

/** Default and largest `--timeout` of `exchange start --wait`, in seconds. */
export const DEFAULT_WAIT_SECONDS = 120;
const MAX_WAIT_SECONDS = 86_400;
const SPINNER = ['-', '\\', '|', '/'];
const SPINNER_MS = 250;

/** Runs `work` while a progress line (`line()`, redrawn every SPINNER_MS) turns; silent with --json. */
async function withProgress<T>(io: CommandIo, line: () => string, work: () => Promise<T>): Promise<T> {
  if (io.json) return work();
  let frame = 0;
  const show = () => io.progress(`${SPINNER[frame++ % SPINNER.length]} ${line()}`);
  show();
  const timer = setInterval(show, SPINNER_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    io.progress('', true);
  }
}

/** A registered user's context. */
const context = (io: CommandIo) => userContext(io, { registered: true });

const lastResortNote = (s: ExchangeSummary) =>
  s.usedLastResort ? '\nnote: the peer had no one-time prekeys left; their last-resort keys were used' : '';

function describe(s: ExchangeSummary): CommandResult {
  return {
    json: {
      id: s.id,
      status: s.status,
      peer: s.peer,
      role: s.role,
      usedLastResort: s.usedLastResort,
      ...(s.failureReason ? { failureReason: s.failureReason } : {}),
    },
    text:
      `exchange ${s.id} with ${s.peer} (${s.role === 'initiator' ? 'started by you' : 'started by them'}): ${s.status}` +
      (s.failureReason ? `\nreason: ${s.failureReason}` : '') +
      lastResortNote(s),
  };
}

/** `exchange start <address> [--wait] [--timeout S]`. */
export async function exchangeStartCommand(
  io: CommandIo,
  address: string,
  options: { wait?: boolean; timeout?: string },
): Promise<CommandResult> {
  const timeoutSeconds = seconds(options.timeout, '--timeout', DEFAULT_WAIT_SECONDS, 1);
  const ctx = await context(io);
  const startedAt = Date.now();
  let summary = await startExchange(ctx, address, { discovery: parseDiscoverySettings(io.env) });
  if (options.wait) {
    let latest = summary;
    const waited = () => Math.round((Date.now() - startedAt) / 1000);
    summary = await withProgress(
      io,
      () => `waiting for ${latest.peer} to accept: ${latest.status} (${waited()} s)`,
      () => waitForExchange(ctx, summary.id, { timeoutMs: timeoutSeconds * 1000, onProgress: (s) => (latest = s) }),
    );
  }
  const result = describe(summary);
  if (options.wait) {
    result.json.elapsedMs = Date.now() - startedAt;
    if (summary.status !== 'confirmed') {
      const why =
        summary.status === 'failed' || summary.status === 'expired' ? summary.status : `still ${summary.status}`;
      throw new KeyPearsError(
        'not_confirmed',
        `exchange ${summary.id} with ${summary.peer} is ${why} after ${timeoutSeconds} s`,
        {
          result: result.json,
        },
      );
    }
  }
  result.text = `${result.text}\nid: ${summary.id}`;
  return result;
}

/** Whole seconds from 0 to MAX_WAIT_SECONDS, or the default. */
function seconds(option: string | undefined, name: string, fallback: number, min: number): number {
  const value = option === undefined ? fallback : Number(option);
  if (!/^\d+$/.test(option ?? String(fallback)) || value < min || value > MAX_WAIT_SECONDS) {
    throw new KeyPearsError(
      'invalid_argument',
      `${name} must be a whole number of seconds from ${min} to ${MAX_WAIT_SECONDS}`,
    );
  }
  return value;
}

/** `inbox [--wait S]`: with --wait, an empty inbox is asked again until an exchange arrives or S seconds pass. */
export async function inboxCommand(io: CommandIo, options: { wait?: string } = {}): Promise<CommandResult> {
  const waitSeconds = seconds(options.wait, '--wait', 0, 0);
  const ctx = await context(io);
  const deadline = Date.now() + waitSeconds * 1000;
  const secondsLeft = () => Math.max(0, Math.round((deadline - Date.now()) / 1000));
  const exchanges =
    waitSeconds > 0
      ? await withProgress(
          io,
          () => `waiting for an incoming exchange (${secondsLeft()} s left)`,
          () =>
            waitForInbox(ctx.client, {
              timeoutMs: waitSeconds * 1000,
              // The owner's monitor, at most every 10 minutes while waiting.
              beforeEachRound: () => monitorIfDue(io, ctx.ks, ctx.save),
            }),
        )
      : (await ctx.client.inbox()).exchanges;
  const rows = exchanges.map((e) => ({
    id: e.id,
    from: e.peer,
    createdAt: e.createdAt,
    expiresAt: e.expiresAt,
    usedLastResort: e.usedLastResort,
    fingerprint: e.peerIdentity?.fingerprint ?? null,
  }));
  const text =
    rows.length === 0
      ? 'no incoming exchanges'
      : rows
          .map((r) => `${r.id}  from ${r.from}  ${r.createdAt}${r.usedLastResort ? '  (last-resort keys)' : ''}`)
          .join('\n');
  return { json: { exchanges: rows }, text };
}

/** `exchange accept <id>`. */
export async function exchangeAcceptCommand(io: CommandIo, id: string): Promise<CommandResult> {
  return describe(await acceptExchange(await context(io), id));
}

/** `exchange show <id>`. */
export async function exchangeShowCommand(io: CommandIo, id: string): Promise<CommandResult> {
  return describe(await refreshExchange(await context(io), id));
}

/**
 * `exchange secret <id> [--forget]`: refreshes an initiator's unconfirmed exchange first; with
 * `--forget` the secret is forgotten (written) before it is printed, so it is handed out once.
 */
export async function exchangeSecretCommand(
  io: CommandIo,
  id: string,
  options: { forget?: boolean } = {},
): Promise<CommandResult> {
  const home = await openHome(io);
  let { ks, save } = home;
  const known = ks.exchanges?.get(id);
  if (known && known.status !== 'confirmed' && known.forgottenAt === undefined) {
    const ctx = await context(io);
    await refreshExchange(ctx, id);
    ({ ks, save } = ctx);
  }
  const secret = exchangeSecret(ks, id);
  if (!options.forget) return { json: { id, secret }, text: secret };
  forgetExchange(ks, id, unixNow());
  await save(ks);
  return { json: { id, secret, forgotten: true }, text: secret };
}

/** `exchange forget <id>`: deletes the exchange's secret and what could derive it. */
export async function exchangeForgetCommand(io: CommandIo, id: string): Promise<CommandResult> {
  const { ks, save } = await openHome(io);
  const forgotten = forgetExchange(ks, id, unixNow());
  if (forgotten) await save(ks);
  const peer = ks.exchanges?.get(id)?.peer;
  return {
    json: { id, forgotten, forgottenAt: ks.exchanges?.get(id)?.forgottenAt ?? null },
    text: forgotten ? `forgot the secret of exchange ${id} with ${peer}` : `exchange ${id} was already forgotten`,
  };
}

/** `fingerprint <address>`: the safety number of this user and `address`, after resolving it. */
export async function fingerprintCommand(io: CommandIo, address: string): Promise<CommandResult> {
  const { ks, save } = await openHome(io);
  const peer = parseAddress(address).canonical;
  const state = readTransparency(ks);
  let resolved;
  try {
    resolved = await resolveVerified(state, peer, { ...parseDiscoverySettings(io.env), now: unixNow() });
  } finally {
    writeTransparency(ks, state);
    await save(ks);
  }
  const own = identityPublicKey(ks);
  const number = safetyNumber(
    { address: ks.address, identityKey: own },
    { address: peer, identityKey: fromB64u(resolved.identity.identityKey) },
  );
  return {
    json: {
      safetyNumber: number,
      self: { address: ks.address, fingerprint: identityFingerprint(own) },
      peer: { address: peer, fingerprint: resolved.fingerprint, node: resolved.node },
    },
    text: `safety number for ${ks.address} and ${peer}:\n${number}\nCompare it with ${peer} over a channel you trust.`,
  };
}

/** Adds the commands to a commander program, each run by the CLI's runner. */
export function registerExchangeCommands(program: Command, run: RunCommand): void {
  const exchange = program.command('exchange').description('hybrid X25519 + ML-KEM-768 key exchanges');
  exchange
    .command('start <address>')
    .description('start an exchange with an address (initiator)')
    .option('--wait', 'wait until the peer has accepted and the confirmation verified')
    .option('--timeout <seconds>', `how long --wait waits (default ${DEFAULT_WAIT_SECONDS})`)
    .action((address: string, options: { wait?: boolean; timeout?: string }) =>
      run((io) => exchangeStartCommand(io, address, options)),
    );
  exchange
    .command('accept <id>')
    .description('accept an incoming exchange and send the key confirmation (responder)')
    .action((id: string) => run((io) => exchangeAcceptCommand(io, id)));
  exchange
    .command('show <id>')
    .description('status of an exchange: pending, delivered, confirmed, failed or expired')
    .action((id: string) => run((io) => exchangeShowCommand(io, id)));
  exchange
    .command('secret <id>')
    .description('the 32-byte shared key of a confirmed exchange, in hex')
    .option('--forget', 'forget the secret once it is printed (it is handed out once)')
    .action((id: string, options: { forget?: boolean }) => run((io) => exchangeSecretCommand(io, id, options)));
  exchange
    .command('forget <id>')
    .description('delete the secret of an exchange, and everything in the keystore that could derive it again')
    .action((id: string) => run((io) => exchangeForgetCommand(io, id)));
  program
    .command('inbox')
    .description('incoming exchanges waiting for you')
    .option(
      '--wait <seconds>',
      'when there are none, wait up to this long for one to arrive (the node holds each request up to 30 s)',
    )
    .action((options: { wait?: string }) => run((io) => inboxCommand(io, options)));
  program
    .command('fingerprint <address>')
    .description('the safety number of you and another address, to compare out of band')
    .action((address: string) => run((io) => fingerprintCommand(io, address)));
}
