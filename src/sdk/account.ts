/**
 * Account flows over a NodeClient and a keystore: registering and keeping prekeys topped up.
 * Secrets are saved before each upload that publishes their public halves.
 */
import type { AccountStatus } from '../protocol/client-api.js';
import { loadFastMlkem768 } from '../protocol/crypto.js';
import { isKeyPearsError } from '../protocol/errors.js';
import { nowOf, type UserContext } from './context.js';
import { buildPrekeyUpload, buildRegistration, isEmptyPlan, planTopUp } from './identity.js';

export interface TopUpResult {
  status: AccountStatus;
  uploadedOneTimePrekeys: number;
  uploadedPqOneTimePrekeys: number;
  signedPrekeyRotated: boolean;
}

/**
 * Registers the keystore's address on its node. When the node answers `address_taken` but
 * accepts this keystore's signature, the address is already ours (an earlier attempt whose
 * answer was lost) and registration counts as done.
 */
export async function registerAccount(ctx: UserContext, invite?: string): Promise<void> {
  try {
    await ctx.client.register(buildRegistration(ctx.ks, nowOf(ctx), invite));
  } catch (e) {
    if (!(isKeyPearsError(e) && e.code === 'address_taken')) throw e;
    // Throws (request_signature_invalid) when the address belongs to another key.
    await ctx.client.getAccount().catch(() => {
      throw e;
    });
  }
  ctx.ks.registeredAt = nowOf(ctx);
  await ctx.save(ctx.ks);
}

/**
 * Uploads until the node holds `target` one-time prekeys of each kind (at most its cap), a
 * current signed prekey (rotated after 7 days) and a last-resort key.
 */
export async function topUpPrekeys(ctx: UserContext, target: number): Promise<TopUpResult> {
  const result = { uploadedOneTimePrekeys: 0, uploadedPqOneTimePrekeys: 0, signedPrekeyRotated: false };
  let status = await ctx.client.getAccount();
  for (;;) {
    const plan = planTopUp(ctx.ks, status, target, nowOf(ctx));
    if (isEmptyPlan(plan)) return { status, ...result };
    await loadFastMlkem768();
    const upload = buildPrekeyUpload(ctx.ks, plan, nowOf(ctx));
    await ctx.save(ctx.ks);
    status = await ctx.client.publishPrekeys(upload);
    result.uploadedOneTimePrekeys += plan.oneTimePrekeys;
    result.uploadedPqOneTimePrekeys += plan.pqOneTimePrekeys;
    result.signedPrekeyRotated ||= plan.newSignedPrekey;
  }
}
