/**
 * The owner's monitor as the CLI runs it (docs/transparency.md §8.2): on demand (`kt monitor`),
 * at the start of the commands that talk to the node and while waiting on the inbox, at most
 * every 10 minutes. What it learns is saved in the keystore, also when it finds a foreign entry.
 */
import { parseDiscoverySettings } from '../net/settings.js';
import { isKeyPearsError } from '../protocol/errors.js';
import { unixNow } from '../sdk/context.js';
import { identityPublicKey, type Keystore } from '../sdk/keystore.js';
import { monitorSelf } from '../sdk/kt-lookups.js';
import { monitorDue, readTransparency, writeTransparency } from '../sdk/transparency.js';
import type { CommandIo } from './command-io.js';

/** Runs the monitor on `ks` and saves what it learnt (also when it finds a foreign entry). */
export async function runMonitor(io: CommandIo, ks: Keystore, save: (ks: Keystore) => Promise<void>) {
  const state = readTransparency(ks);
  try {
    return await monitorSelf(
      state,
      { address: ks.address, node: ks.node, identityKey: identityPublicKey(ks) },
      { ...parseDiscoverySettings(io.env), now: unixNow() },
    );
  } finally {
    writeTransparency(ks, state);
    await save(ks);
  }
}

/**
 * The monitor at the start of a command that talks to the node: when it is due (never run, or
 * 10 minutes ago), it runs; a foreign entry or a log that does not verify is reported on
 * stderr, and anything else (the node unreachable) is left to the command itself.
 */
export async function monitorIfDue(io: CommandIo, ks: Keystore, save: (ks: Keystore) => Promise<void>): Promise<void> {
  if (ks.registeredAt === undefined) return;
  const state = readTransparency(ks);
  if (state.self !== undefined && !monitorDue(state, unixNow())) return;
  try {
    await runMonitor(io, ks, save);
  } catch (e) {
    if (isKeyPearsError(e) && e.code.startsWith('kt_')) io.warn(`WARNING: ${e.message} (${e.code})`);
  }
}
