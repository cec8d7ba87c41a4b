import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { dbBytes, fromDbBytes } from '../database/db-bytes.js';
import { isUniqueViolation } from '../database/prisma-errors.js';
import { PG_POOL } from '../database/pg-pool.js';
import { PrismaService } from '../database/prisma.service.js';
import { KeyPearsError } from '../protocol/errors.js';
import type { DecodedPrekeyUpload, KeyRecord } from '../protocol/wire.js';
import {
  ACCOUNT_ENTRY_COLUMNS,
  type AccountEntry,
  type AccountEntryRow,
  accountEntryFromRow,
} from '../transparency/logged-account.js';

const ACCOUNT_COLUMNS = `id, address, domain, identity_key, identity_dh_key_id, identity_dh_key,
  identity_dh_signature, signed_prekey_id, signed_prekey, signed_prekey_signature, signed_prekey_at,
  pq_last_resort_id, pq_last_resort, pq_last_resort_signature, created_at, ${ACCOUNT_ENTRY_COLUMNS}`;

const ACCOUNT_BY_ADDRESS = `SELECT ${ACCOUNT_COLUMNS} FROM account WHERE address = $1`;
const ACCOUNT_BY_ID = `SELECT ${ACCOUNT_COLUMNS} FROM account WHERE id = $1`;

/**
 * The whole claim in one statement and one round trip: the account by address (only once it
 * has published a signed prekey and a last-resort key, so nothing is consumed for an account
 * that cannot be looked up), and one one-time prekey of each kind deleted and returned.
 */
const CLAIM_BUNDLE = `WITH target AS (
    SELECT ${ACCOUNT_COLUMNS} FROM account
     WHERE address = $1
       AND signed_prekey_id IS NOT NULL AND signed_prekey IS NOT NULL AND signed_prekey_signature IS NOT NULL
       AND pq_last_resort_id IS NOT NULL AND pq_last_resort IS NOT NULL AND pq_last_resort_signature IS NOT NULL
  ), x AS (
    DELETE FROM one_time_prekey WHERE id = (
      SELECT id FROM one_time_prekey
       WHERE account_id = (SELECT id FROM target) AND kind = 'x25519'
       ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING key_id, public_key, signature
  ), pq AS (
    DELETE FROM one_time_prekey WHERE id = (
      SELECT id FROM one_time_prekey
       WHERE account_id = (SELECT id FROM target) AND kind = 'mlkem768'
       ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING key_id, public_key, signature
  )
  SELECT target.*,
         x.key_id AS x_key_id, x.public_key AS x_public_key, x.signature AS x_signature,
         pq.key_id AS pq_key_id, pq.public_key AS pq_public_key, pq.signature AS pq_signature
    FROM target LEFT JOIN x ON true LEFT JOIN pq ON true`;

/**
 * A key id (0 .. 2^32 - 1) as read from its BIGINT column: pg returns int8 as a string,
 * Prisma's raw queries as a bigint; both convert exactly with Number().
 */
type StoredKeyId = string | bigint | number;

interface AccountRow extends AccountEntryRow {
  id: string;
  address: string;
  domain: string;
  identity_key: Buffer;
  identity_dh_key_id: StoredKeyId;
  identity_dh_key: Buffer;
  identity_dh_signature: Buffer;
  signed_prekey_id: StoredKeyId | null;
  signed_prekey: Buffer | null;
  signed_prekey_signature: Buffer | null;
  signed_prekey_at: Date | null;
  pq_last_resort_id: StoredKeyId | null;
  pq_last_resort: Buffer | null;
  pq_last_resort_signature: Buffer | null;
  created_at: Date;
}

/** An account as the key directory sees it: its identity keys and current long-lived prekeys. */
export interface DirectoryAccount {
  id: string;
  address: string;
  identityKey: Uint8Array;
  identityDhKey: KeyRecord;
  /** null until the account publishes one. */
  signedPrekey: (KeyRecord & { publishedAt: Date | null }) | null;
  /** null until the account publishes one. */
  pqLastResort: KeyRecord | null;
  /** Its entry in the transparency log (null: none yet). */
  entry: AccountEntry | null;
}

/** A stored key record, or null when any of its columns is unset. */
function keyRecord(id: StoredKeyId | null, publicKey: Buffer | null, signature: Buffer | null): KeyRecord | null {
  return id === null || publicKey === null || signature === null
    ? null
    : { id: Number(id), publicKey: fromDbBytes(publicKey), signature: fromDbBytes(signature) };
}

function accountFromRow(r: AccountRow): DirectoryAccount {
  const signedPrekey = keyRecord(r.signed_prekey_id, r.signed_prekey, r.signed_prekey_signature);
  return {
    id: r.id,
    address: r.address,
    identityKey: fromDbBytes(r.identity_key),
    identityDhKey: keyRecord(r.identity_dh_key_id, r.identity_dh_key, r.identity_dh_signature)!,
    signedPrekey: signedPrekey && { ...signedPrekey, publishedAt: r.signed_prekey_at },
    pqLastResort: keyRecord(r.pq_last_resort_id, r.pq_last_resort, r.pq_last_resort_signature),
    entry: accountEntryFromRow(r),
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

interface ClaimRow extends AccountRow {
  x_key_id: StoredKeyId | null;
  x_public_key: Buffer | null;
  x_signature: Buffer | null;
  pq_key_id: StoredKeyId | null;
  pq_public_key: Buffer | null;
  pq_signature: Buffer | null;
}

interface LockedAccountRow {
  signed_prekey_id: StoredKeyId | null;
  signed_prekey: Uint8Array | null;
  pq_last_resort_id: StoredKeyId | null;
  pq_last_resort: Uint8Array | null;
}

const sameKey = (id: StoredKeyId | null, key: Uint8Array | null, record: KeyRecord): boolean =>
  id !== null && Number(id) === record.id && key !== null && Buffer.from(key).equals(Buffer.from(record.publicKey));

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
  async findAccountByAddress(address: string): Promise<DirectoryAccount | null> {
    const { rows } = await this.pool.query<AccountRow>({
      name: 'kp_account_by_address',
      text: ACCOUNT_BY_ADDRESS,
      values: [address],
    });
    return rows.length ? accountFromRow(rows[0]) : null;
  }

  async findAccountById(id: string): Promise<DirectoryAccount | null> {
    const { rows } = await this.pool.query<AccountRow>({ name: 'kp_account_by_id', text: ACCOUNT_BY_ID, values: [id] });
    return rows.length ? accountFromRow(rows[0]) : null;
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
          if (current.signed_prekey_id !== null && signed.id === Number(current.signed_prekey_id)) {
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
          if (current.pq_last_resort_id !== null && lastResort.id === Number(current.pq_last_resort_id)) {
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
   * The account at `address` with at most one one-time prekey of each kind, removed, in one
   * statement; null when there is no such account or it has not published its signed prekey
   * and last-resort key (then nothing is removed). Rows locked by concurrent claims (on any
   * replica) are skipped rather than waited for, so no key is ever handed out twice and claims
   * do not queue behind each other.
   */
  async claimBundle(address: string): Promise<{ account: DirectoryAccount; claimed: ClaimedPrekeys } | null> {
    const { rows } = await this.pool.query<ClaimRow>({
      name: 'kp_claim_bundle',
      text: CLAIM_BUNDLE,
      values: [address],
    });
    if (!rows.length) return null;
    const row = rows[0];
    const oneTimePrekey = keyRecord(row.x_key_id, row.x_public_key, row.x_signature);
    const pqOneTimePrekey = keyRecord(row.pq_key_id, row.pq_public_key, row.pq_signature);
    return {
      account: accountFromRow(row),
      claimed: { ...(oneTimePrekey ? { oneTimePrekey } : {}), ...(pqOneTimePrekey ? { pqOneTimePrekey } : {}) },
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
