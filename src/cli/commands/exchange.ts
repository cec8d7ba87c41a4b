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
import { EXCHANGE_STATUSES } from '../../protocol/exchange-api.js';
import { identityFingerprint } from '../../protocol/fingerprint.js';
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
import { matchExchangeId } from '../../sdk/exchange-id.js';
import { identityPublicKey, type Keystore } from '../../sdk/keystore.js';
import { resolveNodeUrl } from '../../sdk/resolve.js';
import { displayAddress, type CommandIo, type CommandResult, type RunCommand } from '../command-io.js';
import { monitorIfDue } from '../kt-monitor.js';
import { openHome, userContext } from '../user-context.js';
import { resolvePinned, safetyNumberWith } from './contacts.js';

/** Default and largest `--timeout` of `exchange start --wait`, in seconds. */
export const DEFAULT_WAIT_SECONDS = 120;
const MAX_WAIT_SECONDS = 86_400;
const SPINNER = ['-', '\\', '|', '/'];
const SPINNER_MS = 250;

/** Runs `work` while a progress line (`line()`, redrawn every SPINNER_MS) turns; silent with --json. */
async function withProgress<T>(io: CommandIo, line: () => string, work: () => Promise<T>): Promise<T> {
  if (io.json) return work();
  let frame = 0;
  // Redrawn in place (a carriage return, no new line): a two-minute wait is one line, not 480.
  const show = () => io.progress(`${SPINNER[frame++ % SPINNER.length]} ${line()}`, false);
  show();
  const timer = setInterval(show, SPINNER_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    io.progress('', true);
  }
}

/** What `id:` in front of an id or prefix says: never an option, whatever its first character. */
export const ID_ARG_PREFIX = 'id:';

/**
 * The exchange id an argument names: the whole id (given as is, known here or not), or a
 * unique prefix of an exchange in the keystore or, with `incoming`, in the inbox.
 */
async function exchangeIdOf(text: string, ks: Keystore, incoming?: () => Promise<string[]>): Promise<string> {
  const arg = text.startsWith(ID_ARG_PREFIX) ? text.slice(ID_ARG_PREFIX.length) : text;
  if (arg.length === 22 || ks.exchanges?.has(arg)) return matchExchangeId(arg, [arg]);
  const known = [...(ks.exchanges?.keys() ?? [])];
  if (incoming && !known.some((id) => id.startsWith(arg))) known.push(...(await incoming()));
  return matchExchangeId(arg, known);
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
      `exchange ${s.id} with ${displayAddress(s.peer)} (${s.role === 'initiator' ? 'started by you' : 'started by them'}): ${s.status}` +
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
  // The user's own domain is served by the user's own node; any other is discovered here.
  const discovery = parseDiscoverySettings(io.env);
  const own = parseAddress(ctx.ks.address).domain;
  let summary = await startExchange(ctx, address, {
    nodeUrlOf: (domain) => (domain === own ? Promise.resolve(ctx.ks.node) : resolveNodeUrl(domain, discovery)),
  });
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
          .map(
            (r) =>
              `${r.id}  from ${displayAddress(r.from)}  ${r.createdAt}${r.usedLastResort ? '  (last-resort keys)' : ''}`,
          )
          .join('\n');
  return { json: { exchanges: rows }, text };
}

/** `exchange accept <id>`: the id or a prefix of it (of an exchange in the inbox). */
export async function exchangeAcceptCommand(io: CommandIo, idText: string): Promise<CommandResult> {
  const ctx = await context(io);
  const id = await exchangeIdOf(idText, ctx.ks, async () => (await ctx.client.inbox()).exchanges.map((e) => e.id));
  return describe(await acceptExchange(ctx, id));
}

/** `exchange show <id>`. */
export async function exchangeShowCommand(io: CommandIo, idText: string): Promise<CommandResult> {
  const ctx = await context(io);
  const id = await exchangeIdOf(idText, ctx.ks, async () => (await ctx.client.inbox()).exchanges.map((e) => e.id));
  return describe(await refreshExchange(ctx, id));
}

/** `exchange list [--status S]`: the exchanges in the keystore, newest first (no network). */
export async function exchangeListCommand(io: CommandIo, options: { status?: string }): Promise<CommandResult> {
  if (options.status !== undefined && !(EXCHANGE_STATUSES as readonly string[]).includes(options.status)) {
    throw new KeyPearsError('invalid_argument', `--status must be one of ${EXCHANGE_STATUSES.join(', ')}`);
  }
  const { ks } = await openHome(io);
  const rows = [...(ks.exchanges?.values() ?? [])]
    .filter((e) => options.status === undefined || e.status === options.status)
    .sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id))
    .map((e) => ({
      id: e.id,
      peer: e.peer,
      role: e.role,
      status: e.status,
      createdAt: e.createdAt,
      usedLastResort: e.usedLastResort,
      forgotten: e.forgottenAt !== undefined,
    }));
  const text =
    rows.length === 0
      ? 'no exchanges'
      : rows
          .map(
            (r) =>
              `${r.id}  ${r.status.padEnd(9)}  ${r.role === 'initiator' ? 'to  ' : 'from'} ${r.peer}  ` +
              `${new Date(r.createdAt * 1000).toISOString()}${r.forgotten ? '  (forgotten)' : ''}`,
          )
          .join('\n');
  return { json: { exchanges: rows }, text };
}

/**
 * `exchange secret <id> [--forget]`: refreshes an initiator's unconfirmed exchange first; with
 * `--forget` the secret is forgotten (written) before it is printed, so it is handed out once.
 */
export async function exchangeSecretCommand(
  io: CommandIo,
  idText: string,
  options: { forget?: boolean } = {},
): Promise<CommandResult> {
  const home = await openHome(io);
  let { ks, save } = home;
  const id = await exchangeIdOf(idText, ks);
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
export async function exchangeForgetCommand(io: CommandIo, idText: string): Promise<CommandResult> {
  const { ks, save } = await openHome(io);
  const id = await exchangeIdOf(idText, ks);
  const forgotten = forgetExchange(ks, id, unixNow());
  if (forgotten) await save(ks);
  const peer = ks.exchanges?.get(id)?.peer;
  return {
    json: { id, forgotten, forgottenAt: ks.exchanges?.get(id)?.forgottenAt ?? null },
    text: forgotten ? `forgot the secret of exchange ${id} with ${peer}` : `exchange ${id} was already forgotten`,
  };
}

/** `fingerprint <address>`: the safety number of this user and `address`, after resolving it (and checking its pin). */
export async function fingerprintCommand(io: CommandIo, address: string): Promise<CommandResult> {
  const home = await openHome(io);
  const { ks } = home;
  const resolved = await resolvePinned(io, home, address);
  const peer = resolved.address;
  const number = safetyNumberWith(ks, peer, fromB64u(resolved.identity.identityKey));
  const verifiedAt = ks.contacts?.get(peer)?.verifiedAt ?? null;
  return {
    json: {
      safetyNumber: number,
      self: { address: ks.address, fingerprint: identityFingerprint(identityPublicKey(ks)) },
      peer: { address: peer, fingerprint: resolved.fingerprint, node: resolved.node, verifiedAt },
    },
    text:
      `safety number for ${displayAddress(ks.address)} and ${displayAddress(peer)}:\n${number}\n` +
      (verifiedAt === null
        ? `Compare it with ${peer} over a channel you trust (keypears verify ${peer}).`
        : 'verified'),
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
    .command('list')
    .description('the exchanges in this keystore, newest first')
    .option('--status <status>', `only those with this status (${EXCHANGE_STATUSES.join(', ')})`)
    .action((options: { status?: string }) => run((io) => exchangeListCommand(io, options)));
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
