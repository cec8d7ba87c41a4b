/**
 * `keypears contacts`, `contacts accept <address>` and `verify <address>` (docs/cli.md): the
 * peers' identity keys pinned at the first completed exchange, accepting a changed key, and
 * comparing the safety number (shown as digits and as a QR code) with a record of it.
 * Thin over src/sdk/contacts.ts.
 */
import type { Command } from 'commander';
import QRCode from 'qrcode';
import { parseDiscoverySettings } from '../../net/settings.js';
import { parseAddress } from '../../protocol/address.js';
import { fromB64u } from '../../protocol/encoding.js';
import { identityFingerprint, safetyNumber } from '../../protocol/fingerprint.js';
import { acceptContactKey, checkContactKey, listContacts, markVerified, type Contact } from '../../sdk/contacts.js';
import { unixNow } from '../../sdk/context.js';
import { identityPublicKey, type Keystore } from '../../sdk/keystore.js';
import { resolveVerified } from '../../sdk/kt-lookups.js';
import type { ResolvedAddress } from '../../sdk/resolve.js';
import type { VerifiedEntry } from '../../protocol/transparency/wire.js';
import { readTransparency, writeTransparency } from '../../sdk/transparency.js';
import { displayAddress, type CommandIo, type CommandResult, type RunCommand } from '../command-io.js';
import { openHome, type OpenHome } from '../user-context.js';

/**
 * Resolves `address` for the user of `home` (their own domain on their own node) and checks
 * the key found against the pinned one, saving the changed key before the error goes on.
 *
 * @throws KeyPearsError `safety_number_changed`, or what resolving throws.
 */
export async function resolvePinned(
  io: CommandIo,
  home: OpenHome,
  address: string,
): Promise<ResolvedAddress & { entry?: VerifiedEntry }> {
  // Proven in the serving node's log first (docs/transparency.md §8.1), then the pinned key.
  const state = readTransparency(home.ks);
  try {
    const resolved = await resolveVerified(state, address, {
      ...parseDiscoverySettings(io.env),
      now: unixNow(),
      self: home.ks,
    });
    checkContactKey(home.ks, resolved.address, fromB64u(resolved.identity.identityKey), unixNow());
    return resolved;
  } finally {
    writeTransparency(home.ks, state);
    await home.save(home.ks);
  }
}

/** The safety number of the keystore's owner and `peer` under `peerKey`. */
export const safetyNumberWith = (ks: Keystore, peer: string, peerKey: Uint8Array): string =>
  safetyNumber({ address: ks.address, identityKey: identityPublicKey(ks) }, { address: peer, identityKey: peerKey });

const contactJson = (c: Contact) => ({
  address: c.address,
  fingerprint: identityFingerprint(c.identityKey),
  pinnedAt: c.pinnedAt,
  verifiedAt: c.verifiedAt ?? null,
  changedFingerprint: c.changedKey ? identityFingerprint(c.changedKey.identityKey) : null,
});

/** `contacts`: every pinned peer with its fingerprint, when it was last verified, and a pending change. */
export async function contactsCommand(io: CommandIo): Promise<CommandResult> {
  const { ks } = await openHome(io);
  const contacts = listContacts(ks).map(contactJson);
  const when = (t: number | null) => (t === null ? 'never' : new Date(t * 1000).toISOString().slice(0, 10));
  const text =
    contacts.length === 0
      ? 'no contacts yet (a peer is added at your first completed exchange)'
      : contacts
          .map(
            (c) =>
              `${displayAddress(c.address)}  ${c.fingerprint}  verified: ${when(c.verifiedAt)}` +
              (c.changedFingerprint
                ? `\n  KEY CHANGED to ${c.changedFingerprint}: keypears contacts accept ${c.address}`
                : ''),
          )
          .join('\n');
  return { json: { contacts }, text };
}

/** `contacts accept <address>`: the changed key becomes the pinned one (not verified yet). */
export async function contactsAcceptCommand(io: CommandIo, address: string): Promise<CommandResult> {
  const { ks, save } = await openHome(io);
  const contact = acceptContactKey(ks, parseAddress(address).canonical, unixNow());
  await save(ks);
  return {
    json: contactJson(contact),
    text: `accepted the new key of ${contact.address} (${identityFingerprint(contact.identityKey)}); compare the safety number with "keypears verify ${contact.address}"`,
  };
}

/**
 * `verify <address> [--yes]`: the safety number as digits and a QR code, then, on a terminal,
 * the question whether both sides show the same; a yes (or `--yes`) records the comparison.
 */
export async function verifyCommand(
  io: CommandIo,
  address: string,
  options: { yes?: boolean },
): Promise<CommandResult> {
  const home = await openHome(io);
  const resolved = await resolvePinned(io, home, address);
  const peerKey = fromB64u(resolved.identity.identityKey);
  const number = safetyNumberWith(home.ks, resolved.address, peerKey);
  const qr = await QRCode.toString(number.replaceAll(' ', ''), { type: 'utf8', errorCorrectionLevel: 'M' });
  const shown = `safety number for ${home.ks.address} and ${resolved.address}:\n${number}\n${qr}`;
  let compared = options.yes === true;
  if (!compared && io.prompt && !io.json) {
    io.warn(shown);
    const answer = await io.prompt(`Does ${resolved.address} see the same number? (yes/no) `, { echo: true });
    compared = /^y(es)?$/i.test(answer.trim());
  }
  let verifiedAt: number | null = null;
  if (compared) {
    verifiedAt = markVerified(home.ks, resolved.address, peerKey, unixNow()).verifiedAt!;
    await home.save(home.ks);
  }
  const outcome = compared
    ? `recorded: the safety number with ${resolved.address} was compared`
    : `not recorded; run "keypears verify ${resolved.address} --yes" once you have compared it`;
  return {
    json: {
      address: resolved.address,
      safetyNumber: number,
      fingerprint: resolved.fingerprint,
      verified: compared,
      verifiedAt,
    },
    text: io.prompt && !options.yes ? outcome : `${shown}${outcome}`,
  };
}

export function registerContactCommands(program: Command, run: RunCommand): void {
  const contacts = program
    .command('contacts')
    .description('the peers whose identity keys are pinned, with fingerprints and when each was verified')
    .action(() => run((io) => contactsCommand(io)));
  contacts
    .command('accept <address>')
    .description("accept a contact's changed identity key (after comparing the new safety number)")
    .action((address: string) => run((io) => contactsAcceptCommand(io, address)));
  program
    .command('verify <address>')
    .description('show the safety number (digits and a QR code) and record that you compared it')
    .option('--yes', 'record the comparison without asking (you have compared the numbers)')
    .action((address: string, options: { yes?: boolean }) => run((io) => verifyCommand(io, address, options)));
}
