import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { dbBytes, fromDbBytes } from '../database/db-bytes.js';
import { isUniqueViolation } from '../database/prisma-errors.js';
import { PG_POOL } from '../database/pg-pool.js';
import { PrismaService } from '../database/prisma.service.js';
import type { Account } from '../generated/prisma/client.js';
import { KeyPearsError } from '../protocol/errors.js';
import type { DecodedPrekeyUpload, KeyRecord } from '../protocol/wire.js';

/** Values of `one_time_prekey.kind`. */
const ACCOUNT_BY_ADDRESS = `SELECT id, address, domain, identity_key, identity_dh_key_id, identity_dh_key,
  identity_dh_signature, signed_prekey_id, signed_prekey, signed_prekey_signature, signed_prekey_at,
  pq_last_resort_id, pq_last_resort, pq_last_resort_signature, created_at
  FROM account WHERE address = $1`;

/** Both kinds in one statement; on the claim path, so straight to the pool (docs/performance.md). */
const CLAIM_ONE_TIME_PREKEYS = `WITH x AS (
    DELETE FROM one_time_prekey WHERE id = (
      SELECT id FROM one_time_prekey
       WHERE account_id = $1::uuid AND kind = 'x25519'
       ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING kind, key_id, public_key, signature
  ), pq AS (
    DELETE FROM one_time_prekey WHERE id = (
      SELECT id FROM one_time_prekey
       WHERE account_id = $1::uuid AND kind = 'mlkem768'
       ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING kind, key_id, public_key, signature
  )
  SELECT kind, key_id, public_key, signature FROM x
  UNION ALL
  SELECT kind, key_id, public_key, signature FROM pq`;

interface AccountRow {
  id: string;
  address: string;
  domain: string;
  identity_key: Buffer;
  identity_dh_key_id: number;
  identity_dh_key: Buffer;
  identity_dh_signature: Buffer;
  signed_prekey_id: number | null;
  signed_prekey: Buffer | null;
  signed_prekey_signature: Buffer | null;
  signed_prekey_at: Date | null;
  pq_last_resort_id: number | null;
  pq_last_resort: Buffer | null;
  pq_last_resort_signature: Buffer | null;
  created_at: Date;
}

const maybeBytes = (b: Buffer | null) => (b === null ? null : fromDbBytes(b));

function accountFromRow(r: AccountRow): Account {
  return {
    id: r.id,
    address: r.address,
    domain: r.domain,
    identityKey: fromDbBytes(r.identity_key),
    identityDhKeyId: r.identity_dh_key_id,
    identityDhKey: fromDbBytes(r.identity_dh_key),
    identityDhSignature: fromDbBytes(r.identity_dh_signature),
    signedPrekeyId: r.signed_prekey_id,
    signedPrekey: maybeBytes(r.signed_prekey),
    signedPrekeySignature: maybeBytes(r.signed_prekey_signature),
    signedPrekeyAt: r.signed_prekey_at,
    pqLastResortId: r.pq_last_resort_id,
    pqLastResort: maybeBytes(r.pq_last_resort),
    pqLastResortSignature: maybeBytes(r.pq_last_resort_signature),
    createdAt: r.created_at,
  };
}

export type OneTimePrekeyKind = 'x25519' | 'mlkem768';

export interface OneTimePrekeyCounts {
  x25519: number;
  mlkem768: number;
}

export interface ClaimedPrekeys {
  oneTimePrekey?: KeyRecord;
  pqOneTimePrekey?: KeyRecord;
}

interface ClaimedRow {
  kind: OneTimePrekeyKind;
  key_id: number;
  public_key: Buffer;
  signature: Buffer;
}

interface LockedAccountRow {
  signed_prekey_id: number | null;
  signed_prekey: Uint8Array | null;
  pq_last_resort_id: number | null;
  pq_last_resort: Uint8Array | null;
}

const sameKey = (id: number | null, key: Uint8Array | null, record: KeyRecord): boolean =>
  id === record.id && key !== null && Buffer.from(key).equals(Buffer.from(record.publicKey));

@Injectable()
export class PrekeyRepository {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
  ) {}

  /**
   * The read behind every public lookup and claim, so it goes straight to the pool: Prisma's
   * client-side query handling costs more than the query. (Unnamed statements: the embedded
   * database has one backend for all its connections, where named ones would collide.)
   */
  async findAccountByAddress(address: string): Promise<Account | null> {
    const { rows } = await this.pool.query<AccountRow>({
      text: ACCOUNT_BY_ADDRESS,
      values: [address],
    });
    return rows.length ? accountFromRow(rows[0]) : null;
  }

  findAccountById(id: string): Promise<Account | null> {
    return this.prisma.account.findUnique({ where: { id } });
  }

  async countOneTimePrekeys(accountId: string): Promise<OneTimePrekeyCounts> {
    const groups = await this.prisma.oneTimePrekey.groupBy({
      by: ['kind'],
      where: { accountId },
      _count: { _all: true },
    });
    const count = (kind: OneTimePrekeyKind) => groups.find((g) => g.kind === kind)?._count._all ?? 0;
    return { x25519: count('x25519'), mlkem768: count('mlkem768') };
  }

  /**
   * Stores a verified upload all-or-nothing. The account row is locked for the transaction,
   * so concurrent uploads cannot both pass `assertCapacity`. A new signed prekey or last-resort
   * key replaces the current one on the account and is appended to the key history; resending
   * the current one unchanged is a no-op.
   *
   * @param assertCapacity called with the stored counts inside the transaction; throws to refuse.
   * @throws KeyPearsError `not_found` (no such account) or `conflict` (a key id already in use).
   */
  async storeUpload(
    accountId: string,
    upload: DecodedPrekeyUpload,
    now: Date,
    assertCapacity: (stored: OneTimePrekeyCounts) => void,
  ): Promise<void> {
    try {
      await this.prisma.$transaction(async (tx) => {
        const [current] = await tx.$queryRaw<LockedAccountRow[]>`
          SELECT signed_prekey_id, signed_prekey, pq_last_resort_id, pq_last_resort
            FROM account WHERE id = ${accountId}::uuid FOR UPDATE`;
        if (!current) throw new KeyPearsError('not_found', 'no such account');
        const groups = await tx.oneTimePrekey.groupBy({ by: ['kind'], where: { accountId }, _count: { _all: true } });
        const count = (kind: OneTimePrekeyKind) => groups.find((g) => g.kind === kind)?._count._all ?? 0;
        assertCapacity({ x25519: count('x25519'), mlkem768: count('mlkem768') });

        const oneTime = [
          ...upload.oneTimePrekeys.map((r) => ({ kind: 'x25519', record: r })),
          ...upload.pqOneTimePrekeys.map((r) => ({ kind: 'mlkem768', record: r })),
        ];
        if (oneTime.length > 0) {
          await tx.oneTimePrekey.createMany({
            data: oneTime.map(({ kind, record }) => keyRow(accountId, kind, record, now)),
          });
        }

        const signed = upload.signedPrekey;
        if (signed && !sameKey(current.signed_prekey_id, current.signed_prekey, signed)) {
          if (signed.id === current.signed_prekey_id) {
            throw new KeyPearsError('conflict', `signed prekey id ${signed.id} is already in use for another key`);
          }
          await tx.account.update({
            where: { id: accountId },
            data: {
              signedPrekeyId: signed.id,
              signedPrekey: dbBytes(signed.publicKey),
              signedPrekeySignature: dbBytes(signed.signature),
              signedPrekeyAt: now,
            },
          });
          await tx.keyEvent.create({ data: keyRow(accountId, 'signed-prekey', signed, now) });
        }

        const lastResort = upload.pqLastResort;
        if (lastResort && !sameKey(current.pq_last_resort_id, current.pq_last_resort, lastResort)) {
          if (lastResort.id === current.pq_last_resort_id) {
            throw new KeyPearsError(
              'conflict',
              `last-resort key id ${lastResort.id} is already in use for another key`,
            );
          }
          await tx.account.update({
            where: { id: accountId },
            data: {
              pqLastResortId: lastResort.id,
              pqLastResort: dbBytes(lastResort.publicKey),
              pqLastResortSignature: dbBytes(lastResort.signature),
            },
          });
          await tx.keyEvent.create({ data: keyRow(accountId, 'pq-last-resort', lastResort, now) });
        }
      });
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw new KeyPearsError('conflict', 'a one-time prekey with one of these ids is already stored');
      }
      throw e;
    }
  }

  /**
   * Removes and returns at most one one-time prekey of each kind, in one statement. Rows locked
   * by concurrent claims (on any replica) are skipped rather than waited for, so no key is ever
   * handed out twice and claims do not queue behind each other.
   */
  async claimOneTimePrekeys(accountId: string): Promise<ClaimedPrekeys> {
    const { rows } = await this.pool.query<ClaimedRow>({
      text: CLAIM_ONE_TIME_PREKEYS,
      values: [accountId],
    });
    const record = (row: ClaimedRow): KeyRecord => ({
      id: Number(row.key_id),
      publicKey: fromDbBytes(row.public_key),
      signature: fromDbBytes(row.signature),
    });
    const x = rows.find((r) => r.kind === 'x25519');
    const pq = rows.find((r) => r.kind === 'mlkem768');
    return {
      ...(x ? { oneTimePrekey: record(x) } : {}),
      ...(pq ? { pqOneTimePrekey: record(pq) } : {}),
    };
  }
}

/** The columns a key history entry and a one-time prekey row share. */
function keyRow(accountId: string, kind: string, record: KeyRecord, now: Date) {
  return {
    accountId,
    kind,
    keyId: record.id,
    publicKey: dbBytes(record.publicKey),
    signature: dbBytes(record.signature),
    createdAt: now,
  };
}
