/**
 * The bare baseline for the lookup and claim scenarios: node:http and pg, the same pool size
 * as the node (10), the same SQL as the node's repositories, and no framework, ORM,
 * validation, authentication or logging. It answers
 *
 * - `GET /lookup/<address>`: the account row by its unique address (the query the node runs
 *   for `GET /api/v1/identities/<address>`), as the same JSON document the node returns;
 * - `POST /claim/<address>`: the node's one-statement claim (the account resolved and one
 *   one-time prekey of each kind consumed atomically), answered with the same bundle document;
 * - `GET /health`.
 *
 * Configured by DATABASE_URL, PORT and BASELINE_DOMAIN. Listens on 127.0.0.1 only.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import pg from 'pg';

const POOL_SIZE = 10;
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: POOL_SIZE });
const domain = process.env.BASELINE_DOMAIN;

const LOOKUP_SQL = `SELECT id, address, domain, identity_key, identity_dh_key_id, identity_dh_key,
  identity_dh_signature, signed_prekey_id, signed_prekey, signed_prekey_signature, signed_prekey_at,
  pq_last_resort_id, pq_last_resort, pq_last_resort_signature, created_at
  FROM account WHERE address = $1 LIMIT 1`;

/** The node's claim statement (src/directory/prekey.repository.ts), character for character. */
const CLAIM_SQL = `WITH target AS (
    SELECT id, address, domain, identity_key, identity_dh_key_id, identity_dh_key,
  identity_dh_signature, signed_prekey_id, signed_prekey, signed_prekey_signature, signed_prekey_at,
  pq_last_resort_id, pq_last_resort, pq_last_resort_signature, created_at FROM account
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

const b64u = (bytes) => Buffer.from(bytes).toString('base64url');
const record = (id, publicKey, signature) => ({ id, publicKey: b64u(publicKey), signature: b64u(signature) });

/** The identity fingerprint (docs/fingerprints.md): SHA-256 of context || key, 16 bytes, hex in groups of 4. */
const fingerprint = (key) =>
  createHash('sha256')
    .update('KeyPears/v1 fingerprint')
    .update(key)
    .digest('hex')
    .slice(0, 32)
    .match(/.{4}/g)
    .join(' ');

function send(res, status, body) {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}

/** The public identity document of an account row, as the node answers it. */
const identity = (a) => ({
  address: a.address,
  identityKey: b64u(a.identity_key),
  identityDhKey: record(a.identity_dh_key_id, a.identity_dh_key, a.identity_dh_signature),
  signedPrekey: record(a.signed_prekey_id, a.signed_prekey, a.signed_prekey_signature),
  pqLastResort: record(a.pq_last_resort_id, a.pq_last_resort, a.pq_last_resort_signature),
  fingerprint: fingerprint(a.identity_key),
});

const NOT_FOUND = [404, { error: { code: 'not_found' } }];

async function lookup(address) {
  const { rows } = await pool.query(LOOKUP_SQL, [address]);
  const a = rows[0];
  if (!a || a.signed_prekey === null || a.pq_last_resort === null) return NOT_FOUND;
  return [200, identity(a)];
}

async function claim(address) {
  const { rows } = await pool.query(CLAIM_SQL, [address]);
  const a = rows[0];
  if (!a) return NOT_FOUND;
  const body = { ...identity(a), usedLastResort: a.pq_key_id === null };
  if (a.x_key_id !== null) body.oneTimePrekey = record(a.x_key_id, a.x_public_key, a.x_signature);
  if (a.pq_key_id !== null) body.pqOneTimePrekey = record(a.pq_key_id, a.pq_public_key, a.pq_signature);
  return [200, body];
}

const server = http.createServer((req, res) => {
  const [, route, rawAddress] = req.url.split('/');
  const address = rawAddress === undefined ? '' : decodeURIComponent(rawAddress).toLowerCase();
  let work;
  if (req.method === 'GET' && route === 'health') work = Promise.resolve([200, { status: 'ok' }]);
  else if (address.endsWith(`@${domain}`) && req.method === 'GET' && route === 'lookup') work = lookup(address);
  else if (address.endsWith(`@${domain}`) && req.method === 'POST' && route === 'claim') work = claim(address);
  else work = Promise.resolve([404, { error: { code: 'not_found' } }]);
  // Drain any request body before answering.
  req.resume();
  work.then(
    ([status, body]) => send(res, status, body),
    (e) => send(res, 500, { error: { code: 'internal', message: e.message } }),
  );
});

server.keepAliveTimeout = 10_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
const stop = () => {
  server.close(() => pool.end().then(() => process.exit(0)));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
