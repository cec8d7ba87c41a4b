/**
 * Puts a seeded database's accounts in a transparency log before a node starts on it, so that
 * the node finds its log complete and starts at once instead of logging every seeded account
 * (docs/transparency.md §12.3: one VRF proof each, milliseconds apiece; hours for the growth
 * scenario's million users). The log is what the node would have built: generation 1 for the
 * node's URL, the log-start entry, one `import` entry per account (commitments over the stored
 * rows, so the node's self-check passes, stored hashes and frontier as appends write them), a
 * signed checkpoint of the final size and import end.
 *
 * One shortcut, the seeded keys' own: VRF proofs are real only for the first VERIFIABLE_USERS
 * addresses (as only their key signatures verify); the others reuse those proofs, so their
 * labels repeat and a client could not verify them. The node never verifies a VRF proof when it
 * serves one, so what a lookup costs is unchanged. The scenario that measures client
 * verification (transparency.js) samples verifiable users only.
 */
import { randomBytes } from 'node:crypto';
import { ed25519PublicKey } from '../../dist/protocol/crypto.js';
import { concatBytes } from '../../dist/protocol/encoding.js';
import { formatCheckpoint } from '../../dist/protocol/transparency/checkpoint.js';
import { logStartEntry, proveLabel, registrationEntry } from '../../dist/protocol/transparency/entry.js';
import { ed25519NoteSigner, signNote } from '../../dist/protocol/transparency/note.js';
import { appendEntry, rootFromFrontier } from '../../dist/protocol/transparency/tree-storage.js';
import { vrfPublicKey } from '../../dist/protocol/transparency/vrf.js';
import { logOrigin } from '../../dist/protocol/transparency/wire.js';
import { VERIFIABLE_USERS, withClient } from './database.js';

const BATCH = 5000;

/** Logs every account of the database at `databaseUrl` for the node that will run at `nodeUrl`; a no-op without accounts or with a log. */
export async function logSeededAccounts(databaseUrl, nodeUrl) {
  await withClient(databaseUrl, async (client) => {
    const { rows: logs } = await client.query('SELECT 1 FROM kt_log LIMIT 1');
    const { rows: counted } = await client.query('SELECT count(*)::int AS n FROM account');
    if (logs.length > 0 || counted[0].n === 0) return;
    const origin = logOrigin(nodeUrl, 1);
    const logSecret = randomBytes(32);
    const vrfSecret = randomBytes(32);
    const signer = ed25519NoteSigner(origin, logSecret);
    const startedAt = Math.floor(Date.now() / 1000);
    const proofs = new Map();
    const proofFor = (address) => {
      const n = Number(/^user(\d+)@/.exec(address)?.[1] ?? 0) % VERIFIABLE_USERS;
      const pool = address.replace(/^user\d+@/, `user${n}@`);
      if (!proofs.has(pool)) proofs.set(pool, proveLabel(vrfSecret, pool));
      return proofs.get(pool);
    };
    let frontier = [];
    let size = 0;
    const append = (entry) => {
      const appended = appendEntry(frontier, size, entry);
      frontier = appended.frontier;
      return { idx: size++, entry, hashes: appended.row };
    };
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO kt_log (generation, origin, log_public_key, log_secret_key, vrf_public_key, vrf_secret_key,
         started_at, size, frontier) VALUES (1, $1, $2, $3, $4, $5, $6, 0, '\\x')`,
      [origin, ed25519PublicKey(logSecret), logSecret, vrfPublicKey(vrfSecret), vrfSecret, startedAt],
    );
    const leaves = [append(logStartEntry({ origin, startedAt }))];
    const insertLeaves = async () => {
      await client.query(
        `INSERT INTO kt_leaf (generation, idx, entry, hashes)
         SELECT 1, * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])`,
        [leaves.map((l) => l.idx), leaves.map((l) => Buffer.from(l.entry)), leaves.map((l) => Buffer.from(l.hashes))],
      );
      leaves.length = 0;
    };
    for (let after = ''; ;) {
      const { rows } = await client.query(
        `SELECT id, address, identity_key, identity_dh_key_id, identity_dh_key, identity_dh_signature
           FROM account WHERE address > $1 ORDER BY address LIMIT ${BATCH}`,
        [after],
      );
      if (rows.length === 0) break;
      const updates = { id: [], idx: [], vrf: [], opening: [] };
      for (const r of rows) {
        const { vrfProof, label } = proofFor(r.address);
        const opening = randomBytes(32);
        const record = {
          nodeBaseUrl: nodeUrl,
          identityKey: new Uint8Array(r.identity_key),
          identityDhKey: {
            id: Number(r.identity_dh_key_id),
            publicKey: new Uint8Array(r.identity_dh_key),
            signature: new Uint8Array(r.identity_dh_signature),
          },
        };
        const leaf = append(registrationEntry({ kind: 'import', address: r.address, label, opening, record }));
        leaves.push(leaf);
        updates.id.push(r.id);
        updates.idx.push(leaf.idx);
        updates.vrf.push(Buffer.from(vrfProof));
        updates.opening.push(opening);
      }
      await insertLeaves();
      await client.query(
        `UPDATE account a SET kt_generation = 1, kt_index = u.idx, kt_kind = 'import', kt_vrf_proof = u.vrf,
           kt_opening = u.opening
           FROM unnest($1::uuid[], $2::bigint[], $3::bytea[], $4::bytea[]) AS u(id, idx, vrf, opening)
          WHERE a.id = u.id`,
        [updates.id, updates.idx, updates.vrf, updates.opening],
      );
      after = rows[rows.length - 1].address;
    }
    if (leaves.length) await insertLeaves();
    const note = signNote(formatCheckpoint({ origin, size, root: rootFromFrontier(frontier) }), [signer]);
    await client.query('INSERT INTO kt_checkpoint (generation, size, note) VALUES (1, $1, $2)', [size, note]);
    await client.query('UPDATE kt_log SET size = $1, frontier = $2, import_end = $1 WHERE generation = 1', [
      size,
      Buffer.from(concatBytes(...frontier)),
    ]);
    await client.query('COMMIT');
    await client.query('VACUUM (ANALYZE) account, kt_leaf');
  });
}
