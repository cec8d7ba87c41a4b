/**
 * Fresh, migrated databases for each scenario, and bulk seeding straight into the node's tables
 * with SQL (INSERT ... SELECT generate_series), so that a million users take seconds.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../dist/database/migrator.js';
import { ed25519Keygen, mlkem768Keygen, x25519Keygen } from '../../dist/protocol/crypto.js';
import { signPrekey } from '../../dist/protocol/keys.js';
import { settings } from './settings.js';

const created = new Set();

/** Creates and migrates a database named `kp_bench_<label>_<random>`; returns its URL. */
export async function createDatabase(label) {
  const name = `kp_bench_${label}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: settings.serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  created.add(name);
  const url = new URL(settings.serverUrl);
  url.pathname = `/${name}`;
  await migrate({ connectionString: url.toString() });
  return { name, url: url.toString() };
}

export async function dropDatabase(database) {
  if (settings.keepDatabases) return;
  const admin = new pg.Client({ connectionString: settings.serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${database.name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  created.delete(database.name);
}

/** Drops whatever is still there (after a failure). */
export async function dropAllDatabases() {
  for (const name of [...created]) await dropDatabase({ name }).catch(() => {});
}

export async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Leaves a freshly seeded database as a long-running one would be, so that the measured runs
 * do not pay for the seeding: VACUUM sets the rows' hint bits and the visibility map (this
 * server may run without autovacuum) and ANALYZE gives the planner statistics. CHECKPOINT
 * then flushes the seeding's WAL, so that no checkpoint forced by its volume lands in the
 * middle of a measurement (where it would make every page written next log a full image). A
 * role that may not CHECKPOINT only loses that part.
 */
async function settle(client) {
  await client.query('VACUUM (ANALYZE)');
  await client.query('CHECKPOINT').catch(() => {});
}

/** The canonical address of seeded user `n`. */
export const userAddress = (n, domain) => `user${n}@${domain}`;

/** Distinct key sets generated once; seeded users cycle through them (key bytes are valid points). */
const KEY_POOL_SIZE = 256;
/** Seeded users whose key signatures verify (the first pass through the key pool). */
export const VERIFIABLE_USERS = KEY_POOL_SIZE;

/**
 * A pool of real key sets. Signatures are made for the address `user<i>@<domain>` of the
 * first pass through the pool, so they verify only for those users: enough for load tests,
 * where the node hands keys out and never re-checks them.
 */
function keyPool(domain) {
  const pool = [];
  for (let i = 0; i < KEY_POOL_SIZE; i++) {
    const address = userAddress(i, domain);
    const identity = ed25519Keygen();
    const sign = (kind, keyId, publicKey) => signPrekey({ kind, address, keyId, publicKey }, identity.secretKey);
    const dh = x25519Keygen().publicKey;
    const spk = x25519Keygen().publicKey;
    const pq = mlkem768Keygen().publicKey;
    const otk = x25519Keygen().publicKey;
    const pqOtk = mlkem768Keygen().publicKey;
    pool.push({
      n: i,
      identity: identity.publicKey,
      dh,
      dhSig: sign('identity-dh', 1, dh),
      spk,
      spkSig: sign('signed-prekey', 1, spk),
      pq,
      pqSig: sign('pq-last-resort', 1, pq),
      otk,
      otkSig: sign('one-time-prekey', 1, otk),
      pqOtk,
      pqOtkSig: sign('pq-one-time', 1, pqOtk),
    });
  }
  return pool;
}

async function loadKeyPool(client, domain) {
  await client.query(`CREATE TEMP TABLE bench_key_pool (
    n int PRIMARY KEY, identity bytea, dh bytea, dh_sig bytea, spk bytea, spk_sig bytea,
    pq bytea, pq_sig bytea, otk bytea, otk_sig bytea, pq_otk bytea, pq_otk_sig bytea)`);
  for (const k of keyPool(domain)) {
    await client.query('INSERT INTO bench_key_pool VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)', [
      k.n,
      k.identity,
      k.dh,
      k.dhSig,
      k.spk,
      k.spkSig,
      k.pq,
      k.pqSig,
      k.otk,
      k.otkSig,
      k.pqOtk,
      k.pqOtkSig,
    ]);
  }
}

/**
 * Seeds `users` complete accounts `user0@domain` ... (identity, identity DH key, signed
 * prekey, last-resort ML-KEM key) with one INSERT ... SELECT, and `oneTimePrekeys` one-time
 * prekeys of each kind (X25519 and ML-KEM-768) for each of the first `prekeyUsers` users.
 * Returns the seeding time in milliseconds.
 */
export async function seedUsers(url, { users, domain, oneTimePrekeys = 0, prekeyUsers = users }) {
  const started = Date.now();
  await withClient(url, async (client) => {
    await loadKeyPool(client, domain);
    await client.query(
      `INSERT INTO account (id, address, domain, identity_key, identity_dh_key_id, identity_dh_key,
         identity_dh_signature, signed_prekey_id, signed_prekey, signed_prekey_signature, signed_prekey_at,
         pq_last_resort_id, pq_last_resort, pq_last_resort_signature)
       SELECT gen_random_uuid(), 'user' || i || '@' || $2, $2, k.identity, 1, k.dh, k.dh_sig, 1, k.spk, k.spk_sig,
              now(), 1, k.pq, k.pq_sig
         FROM generate_series(0, $1::int - 1) AS i
         JOIN bench_key_pool k ON k.n = i % ${KEY_POOL_SIZE}`,
      [users, domain],
    );
    if (oneTimePrekeys > 0) {
      await client.query(
        `INSERT INTO one_time_prekey (account_id, kind, key_id, public_key, signature)
         SELECT a.id, kind.name, j,
                CASE kind.name WHEN 'x25519' THEN k.otk ELSE k.pq_otk END,
                CASE kind.name WHEN 'x25519' THEN k.otk_sig ELSE k.pq_otk_sig END
           FROM generate_series(0, $1::int - 1) AS i
           JOIN account a ON a.address = 'user' || i || '@' || $3
           JOIN bench_key_pool k ON k.n = i % ${KEY_POOL_SIZE}
           CROSS JOIN (VALUES ('x25519'), ('mlkem768')) AS kind(name)
           CROSS JOIN generate_series(1, $2::int) AS j`,
        [prekeyUsers, oneTimePrekeys, domain],
      );
    }
    await settle(client);
  });
  return Date.now() - started;
}

/**
 * Inserts accounts with real identity keys (the claimers of the claim scenario, who sign
 * their requests). `keys` are `{ address, identityKey }`.
 */
export async function insertSigners(url, domain, keys) {
  await withClient(url, async (client) => {
    await loadKeyPool(client, domain);
    for (const { address, identityKey } of keys) {
      await client.query(
        `INSERT INTO account (id, address, domain, identity_key, identity_dh_key_id, identity_dh_key,
           identity_dh_signature, signed_prekey_id, signed_prekey, signed_prekey_signature, signed_prekey_at,
           pq_last_resort_id, pq_last_resort, pq_last_resort_signature)
         SELECT gen_random_uuid(), $1, $2, $3, 1, k.dh, k.dh_sig, 1, k.spk, k.spk_sig, now(), 1, k.pq, k.pq_sig
           FROM bench_key_pool k WHERE k.n = 0`,
        [address, domain, identityKey],
      );
    }
  });
}
