/** The SDK context a `keypears` command acts with: the keystore in `--home` and a client of its node. */
import { parseDevFlag } from '../net/settings.js';
import { KeyPearsError } from '../protocol/errors.js';
import { NodeClient } from '../sdk/client.js';
import type { UserContext } from '../sdk/context.js';
import { loadKeystore, saveKeystore } from '../sdk/keystore.js';
import type { CommandIo } from './command-io.js';

/**
 * Loads the keystore and connects to its node, signing as its address (plain HTTP only with
 * KEYPEARS_DEV=1); saving writes the keystore back.
 *
 * @throws KeyPearsError `not_registered` when `registered` is asked for and the keystore's
 *   address is not registered yet, or a keystore error (`no_keystore`, ...).
 */
export async function userContext(io: CommandIo, opts: { registered: boolean }): Promise<UserContext> {
  const ks = await loadKeystore(io.home);
  if (opts.registered && ks.registeredAt === undefined) {
    throw new KeyPearsError('not_registered', `${ks.address} is not registered yet (run "keypears register")`);
  }
  const client = new NodeClient({
    baseUrl: ks.node,
    signer: { address: ks.address, secretKey: ks.identitySecretKey },
    allowInsecureHttp: parseDevFlag(io.env),
  });
  return { client, ks, save: (k) => saveKeystore(io.home, k) };
}
