import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { dbBytes, fromDbBytes } from '../database/db-bytes.js';
import { PG_POOL } from '../database/pg-pool.js';
import { isUniqueViolation } from '../database/prisma-errors.js';
import { PrismaService } from '../database/prisma.service.js';
import type { DbTransaction } from '../database/transaction.js';
import { KeyPearsError } from '../protocol/errors.js';

export interface NewAccount {
  address: string;
  domain: string;
  identityKey: Uint8Array;
  /** The registration proof, kept in the key history as the identity key's own statement. */
  proof: Uint8Array;
  identityDhKey: { id: number; publicKey: Uint8Array; signature: Uint8Array };
}

/** The part of an account that authenticates its requests. */
export interface AccountKey {
  id: string;
  address: string;
  identityKey: Uint8Array;
}

/** A local account with its long-lived identity keys (what the exchange checks messages against). */
export interface LocalAccount extends AccountKey {
  identityDhKey: Uint8Array;
}

@Injectable()
export class AccountRepository {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
  ) {}

  findByAddress(address: string): Promise<LocalAccount | null> {
    return this.prisma.account.findUnique({
      where: { address },
      select: { id: true, address: true, identityKey: true, identityDhKey: true },
    });
  }

  /** The signer's key, read on every signed client request: straight to the pool (docs/performance.md). */
  async findKeyByAddress(address: string): Promise<AccountKey | null> {
    const { rows } = await this.pool.query<{ id: string; address: string; identity_key: Buffer }>({
      name: 'kp_signer_key',
      text: 'SELECT id, address, identity_key FROM account WHERE address = $1',
      values: [address],
    });
    if (!rows.length) return null;
    const { id, address: canonical, identity_key: identityKey } = rows[0];
    return { id, address: canonical, identityKey: fromDbBytes(identityKey) };
  }

  /**
   * Creates an account and the first entries of its key history in one transaction, with
   * `inTransaction`'s writes (the account's transparency log entry). With
   * `inviteTokenHash`, the invite is consumed in the same transaction, so a registration that
   * fails (for instance because the address is taken) leaves the invite usable.
   *
   * @throws KeyPearsError `address_taken` (whatever the interleaving with a concurrent
   *   registration of the same address) or `invalid_invite`.
   */
  async create<T>(
    account: NewAccount,
    options: {
      inviteTokenHash?: string;
      now: Date;
      /** More writes that commit with the account, or not at all (its transparency log entry). */
      inTransaction: (tx: DbTransaction, accountId: string) => Promise<T>;
    },
  ): Promise<T> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        if (options.inviteTokenHash !== undefined) {
          const { count } = await tx.invite.updateMany({
            where: {
              tokenHash: options.inviteTokenHash,
              domain: account.domain,
              usedAt: null,
              expiresAt: { gt: options.now },
            },
            data: { usedAt: options.now, usedBy: account.address },
          });
          if (count !== 1) {
            const invite = await tx.invite.findUnique({ where: { tokenHash: options.inviteTokenHash } });
            throw new KeyPearsError(
              'invalid_invite',
              !invite
                ? 'the invite is unknown (revoked, or mistyped)'
                : invite.usedAt
                  ? 'the invite was already used: an invite registers one address'
                  : invite.domain !== account.domain
                    ? `the invite is for ${invite.domain}, not ${account.domain}`
                    : `the invite expired at ${invite.expiresAt.toISOString()}: ask the operator for a new one`,
            );
          }
        }
        const created = await tx.account.create({
          data: {
            address: account.address,
            domain: account.domain,
            identityKey: dbBytes(account.identityKey),
            identityDhKeyId: account.identityDhKey.id,
            identityDhKey: dbBytes(account.identityDhKey.publicKey),
            identityDhSignature: dbBytes(account.identityDhKey.signature),
            createdAt: options.now,
          },
        });
        await tx.keyEvent.createMany({
          data: [
            {
              accountId: created.id,
              kind: 'identity',
              keyId: 0,
              publicKey: dbBytes(account.identityKey),
              signature: dbBytes(account.proof),
              createdAt: options.now,
            },
            {
              accountId: created.id,
              kind: 'identity-dh',
              keyId: account.identityDhKey.id,
              publicKey: dbBytes(account.identityDhKey.publicKey),
              signature: dbBytes(account.identityDhKey.signature),
              createdAt: options.now,
            },
          ],
        });
        return options.inTransaction(tx, created.id);
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw new KeyPearsError('address_taken', `${account.address} is already registered`);
      throw e;
    }
  }
}
