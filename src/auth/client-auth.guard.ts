/**
 * Admits a request only when it is signed by the identity key of a local account (the key id
 * is the account's canonical address). No passwords, no bearer tokens: every request carries
 * its own short-lived signature, and its nonce is spent.
 */
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { AccountRepository, type AccountKey } from '../identity/account.repository.js';
import { isValidAddress, parseAddress } from '../protocol/address.js';
import { attachAccount } from './authenticated-account.js';
import { SignedRequestVerifier } from './signed-request.verifier.js';

export const CLIENT_NONCE_SCOPE = 'client';

@Injectable()
export class ClientAuthGuard implements CanActivate {
  constructor(
    private readonly verifier: SignedRequestVerifier,
    private readonly accounts: AccountRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    let account: AccountKey | undefined;
    await this.verifier.verify(request, {
      scope: CLIENT_NONCE_SCOPE,
      resolveKey: async (keyId) => {
        account = (await this.findLocalAccount(keyId)) ?? undefined;
        return account?.identityKey;
      },
    });
    // verify() only returns after resolveKey found the account.
    attachAccount(request, account!);
    return true;
  }

  private async findLocalAccount(keyId: string): Promise<AccountKey | null> {
    if (!isValidAddress(keyId)) return null;
    const address = parseAddress(keyId);
    // Key ids are canonical addresses: another spelling is another (unknown) key id.
    if (address.canonical !== keyId || !this.config.domains.includes(address.domain)) return null;
    return this.accounts.findKeyByAddress(address.canonical);
  }
}
