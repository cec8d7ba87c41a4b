/** The SDK context a `keypears` command acts with: the keystore in `--home` and a client of its node. */
import { parseDevFlag } from '../net/settings.js';
import { KeyPearsError } from '../protocol/errors.js';
import { NodeClient } from '../sdk/client.js';
import { unixNow, type UserContext } from '../sdk/context.js';
import { applyRetention } from '../sdk/exchange.js';
import { saveKeystore, unlockKeystore, type Keystore, type KeystoreKey } from '../sdk/keystore.js';
import type { CommandIo } from './command-io.js';
import { monitorIfDue } from './kt-monitor.js';
import { passphraseSource } from './passphrase.js';

/** An unlocked keystore and how to write it back (sealed under the same key). */
export interface OpenHome {
  ks: Keystore;
  key: KeystoreKey;
  save(ks: Keystore): Promise<void>;
}

/**
 * Unlocks the keystore of `--home` with its passphrase (docs/cli.md, "Passphrase"); a plain
 * keystore of an earlier version is sealed under a new one first, and the CLI says so. The
 * retention setting is applied here, so every command forgets what is due.
 *
 * @throws KeyPearsError `no_keystore`, `wrong_passphrase`, `passphrase_required`, ...
 */
export async function openHome(io: CommandIo): Promise<OpenHome> {
  const { ks, key, upgraded } = await unlockKeystore(io.home, passphraseSource(io), {
    ...(io.scrypt ? { params: io.scrypt } : {}),
  });
  if (upgraded) io.warn(`note: the keystore of ${ks.address} was not encrypted; it is now sealed under the passphrase`);
  const save = (k: Keystore) => saveKeystore(io.home, k, key);
  const forgotten = applyRetention(ks, unixNow());
  if (forgotten.length > 0) {
    await save(ks);
    io.warn(
      `note: forgot the secrets of ${forgotten.length} exchange(s) started ${ks.settings?.forgetAfterDays} or more days ago (keypears settings)`,
    );
  }
  return { ks, key, save };
}

/**
 * Unlocks the keystore and connects to its node, signing as its address (plain HTTP only with
 * KEYPEARS_DEV=1); saving writes the keystore back.
 *
 * @throws KeyPearsError `not_registered` when `registered` is asked for and the keystore's
 *   address is not registered yet, or a keystore error (`no_keystore`, ...).
 */
export async function userContext(io: CommandIo, opts: { registered: boolean }): Promise<UserContext> {
  const { ks, save } = await openHome(io);
  if (opts.registered && ks.registeredAt === undefined) {
    throw new KeyPearsError('not_registered', `${ks.address} is not registered yet (run "keypears register")`);
  }
  if (opts.registered) await monitorIfDue(io, ks, save);
  const client = new NodeClient({
    baseUrl: ks.node,
    signer: { address: ks.address, secretKey: ks.identitySecretKey },
    allowInsecureHttp: parseDevFlag(io.env),
  });
  return { client, ks, save };
}
