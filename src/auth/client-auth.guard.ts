/**
 * Admits a request only when it is signed by the identity key of a local account (the key id
 * is the account's canonical address). No passwords, no bearer tokens: every request carries
 * its own short-lived signature, and its nonce is spent, together with the route's
 * `@AdmissionLimits` if it has any.
 *
 * Signers' keys are kept in memory for a minute: an account's identity key never changes and
 * accounts are never deleted, so a cached key is never a wrong one, and a signed request then
 * costs one database round trip fewer (docs/performance.md). Unknown key ids are not cached.
 *
 * A key id that is no local account is checked against a decoy key (its secret thrown away at
 * start-up), so the request fails exactly as one signed with the wrong key for a registered
 * address does (401 `request_signature_invalid`, after the same signature check): signing with
 * a throw-away key does not tell a stranger which addresses are registered.
 */
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AccountRepository, type AccountKey } from '../accounts/account.repository.js';
import { Clock } from '../common/clock.js';
import { ExpiringCache } from '../common/expiring-cache.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { ed25519Keygen } from '../protocol/crypto.js';
import { isValidAddress, parseAddress } from '../protocol/address.js';
import { ADMISSION_LIMITS, type AdmissionLimitsOf } from './admission-limits.js';
import { attachAccount } from './authenticated-account.js';
import { SignedRequestVerifier } from './signed-request.verifier.js';

export const CLIENT_NONCE_SCOPE = 'client';

const SIGNER_KEY_TTL_MS = 60_000;
const SIGNER_KEY_CACHE_ENTRIES = 10_000;

@Injectable()
export class ClientAuthGuard implements CanActivate {
  private readonly signerKeys: ExpiringCache<AccountKey>;
  /** Stands in for the key of every key id that is no account: no signature verifies with it. */
  private readonly decoyKey = ed25519Keygen().publicKey;

  constructor(
    private readonly verifier: SignedRequestVerifier,
    private readonly accounts: AccountRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly reflector: Reflector,
    clock: Clock,
  ) {
    this.signerKeys = new ExpiringCache(SIGNER_KEY_CACHE_ENTRIES, () => clock.now().getTime());
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    let account: AccountKey | undefined;
    const limitsOf = this.reflector.get<AdmissionLimitsOf | undefined>(ADMISSION_LIMITS, context.getHandler());
    await this.verifier.verify(request, {
      scope: CLIENT_NONCE_SCOPE,
      limits: limitsOf && ((verified) => limitsOf({ request, signer: verified.keyId, config: this.config })),
      resolveKey: async (keyId) => {
        account = (await this.findLocalAccount(keyId)) ?? undefined;
        return account?.identityKey ?? this.decoyKey;
      },
    });
    // verify() only returns after resolveKey found the account (the decoy key verifies nothing).
    attachAccount(request, account!);
    return true;
  }

  private async findLocalAccount(keyId: string): Promise<AccountKey | null> {
    if (!isValidAddress(keyId)) return null;
    const address = parseAddress(keyId);
    // Key ids are canonical addresses: another spelling is another (unknown) key id.
    if (address.canonical !== keyId || !this.config.domains.includes(address.domain)) return null;
    const cached = this.signerKeys.get(keyId);
    if (cached) return cached;
    const account = await this.accounts.findKeyByAddress(keyId);
    if (account) this.signerKeys.set(keyId, account, SIGNER_KEY_TTL_MS);
    return account;
  }
}
