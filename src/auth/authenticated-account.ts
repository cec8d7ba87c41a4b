import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AccountKey } from '../accounts/account.repository.js';

/** The local account whose identity key signed the request. */
export type AuthenticatedAccount = AccountKey;

const ACCOUNT = Symbol('authenticatedAccount');

type RequestWithAccount = FastifyRequest & { [ACCOUNT]?: AuthenticatedAccount };

export function attachAccount(request: FastifyRequest, account: AuthenticatedAccount): void {
  (request as RequestWithAccount)[ACCOUNT] = account;
}

/** Parameter decorator: the account authenticated by ClientAuthGuard. */
export const CurrentAccount = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthenticatedAccount => {
  const account = ctx.switchToHttp().getRequest<RequestWithAccount>()[ACCOUNT];
  // Only reachable if a route forgot the guard: fail closed.
  if (!account) throw new Error('CurrentAccount used on a route without ClientAuthGuard');
  return account;
});
