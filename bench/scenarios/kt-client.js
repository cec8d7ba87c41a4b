/**
 * Scenario 12 (client verification per lookup): what the SDK spends on one served identity
 * with key transparency, beside the unverified baseline measured in the same run, the checks a
 * client made before (decoding the identity and verifying its prekey signatures). The identity
 * is a real registration at index BENCH_KT_CLIENT_LEAVES / 8 of a log of BENCH_KT_CLIENT_LEAVES
 * entries (100,000 by default), answered with its inclusion proof and a consistency proof from
 * 70 % of the log, as the SDK receives them: the member parsed, the label (VRF, or the one
 * cached with the contact's pin), the record's signatures, the entry, the log's checks.
 * Figures only: nothing is asserted.
 */
import { createHash } from 'node:crypto';
import { ed25519Keygen, ed25519PublicKey, mlkem768Keygen, x25519Keygen } from '../../dist/protocol/crypto.js';
import { toB64u, utf8 } from '../../dist/protocol/encoding.js';
import { identityFingerprint } from '../../dist/protocol/fingerprint.js';
import { signPrekey, signRegistration } from '../../dist/protocol/keys.js';
import { formatCheckpoint } from '../../dist/protocol/transparency/checkpoint.js';
import { encodeEntry, proveLabel, registrationEntry } from '../../dist/protocol/transparency/entry.js';
import {
  ed25519NoteSigner,
  formatVerifierKey,
  SIGNATURE_TYPE_ED25519,
  signNote,
} from '../../dist/protocol/transparency/note.js';
import {
  appendEntry,
  proveConsistency,
  proveInclusion,
  readFrontier,
  rootFromFrontier,
} from '../../dist/protocol/transparency/tree-storage.js';
import { vrfPublicKey } from '../../dist/protocol/transparency/vrf.js';
import { formatLogAdvertisement } from '../../dist/protocol/transparency/wire.js';
import { decodePublicIdentity } from '../../dist/protocol/wire.js';
import { verifyIdentityForClient } from '../../dist/sdk/transparency.js';
import { measure as measureFor } from '../lib/measure.js';
import { rate, row } from '../lib/report.js';
import { settings } from '../lib/settings.js';

const LEAVES = Number(process.env.BENCH_KT_CLIENT_LEAVES || 100_000);
const INDEX = Math.floor(LEAVES / 8) + 1;
const MEASURE_MS = Math.max(200, settings.duration * 100);
const NODE = 'https://kp.b.example';
const ORIGIN = 'kp.b.example/kt/1';
const ADDRESS = 'bob@b.example';
const sha = (text) => createHash('sha256').update(utf8(text)).digest();

const measure = (fn) => measureFor(fn, MEASURE_MS);

const us = (opsPerSecond) => `${(1e6 / opsPerSecond).toFixed(0)} µs`;

/** Bob's public identity as his node serves it, and his log entry. */
function account(vrfSecret) {
  const identity = ed25519Keygen(sha('identity'));
  const record = (kind, id, publicKey) => ({
    id,
    publicKey: toB64u(publicKey),
    signature: toB64u(signPrekey({ kind, address: ADDRESS, keyId: id, publicKey }, identity.secretKey)),
  });
  const dh = x25519Keygen(sha('dh')).publicKey;
  const served = {
    address: ADDRESS,
    identityKey: toB64u(identity.publicKey),
    identityDhKey: record('identity-dh', 1, dh),
    signedPrekey: record('signed-prekey', 2, x25519Keygen(sha('spk')).publicKey),
    pqLastResort: record('pq-last-resort', 3, mlkem768Keygen().publicKey),
    fingerprint: identityFingerprint(identity.publicKey),
  };
  const registeredAt = 1767225600;
  const registrationProof = signRegistration(
    {
      address: ADDRESS,
      nodeBaseUrl: NODE,
      identityKey: identity.publicKey,
      identityDhKey: dh,
      timestamp: registeredAt,
    },
    identity.secretKey,
  );
  const { vrfProof, label } = proveLabel(vrfSecret, ADDRESS);
  const opening = sha('opening');
  const decoded = decodePublicIdentity(served, ADDRESS);
  const entry = registrationEntry({
    kind: 'register',
    address: ADDRESS,
    label,
    opening,
    record: {
      nodeBaseUrl: NODE,
      identityKey: decoded.identityKey,
      identityDhKey: decoded.identityDhKey,
      registeredAt,
      registrationProof,
    },
  });
  return { served, entry, label, vrfProof, opening, registeredAt, registrationProof };
}

export async function run() {
  const vrfSecret = sha('vrf');
  const logSecret = sha('log');
  const bob = account(vrfSecret);
  const rows = new Map();
  let frontier = [];
  for (let i = 0; i < LEAVES; i++) {
    const entry =
      i === INDEX
        ? bob.entry
        : encodeEntry({
            kind: i === 0 ? 'log-start' : 'register',
            label: i === 0 ? new Uint8Array(32) : sha(`label ${i}`),
            commitment: sha(`commitment ${i}`),
          });
    const next = appendEntry(frontier, i, entry);
    rows.set(i, next.row);
    frontier = next.frontier;
  }
  const read = (leaves) => new Map(leaves.map((l) => [l, rows.get(l)]));
  const root = rootFromFrontier(frontier);
  const from = Math.floor(LEAVES * 0.7) + 1;
  const fromRoot = rootFromFrontier(await readFrontier(from, read));
  const inclusion = await proveInclusion(INDEX, LEAVES, read);
  const consistency = await proveConsistency(from, LEAVES, read);
  const logIdentity = {
    origin: ORIGIN,
    logKey: formatVerifierKey(ORIGIN, SIGNATURE_TYPE_ED25519, ed25519PublicKey(logSecret)),
    vrfKey: vrfPublicKey(vrfSecret),
    importEnd: 1,
  };
  const note = signNote(formatCheckpoint({ origin: ORIGIN, size: LEAVES, root }), [
    ed25519NoteSigner(ORIGIN, logSecret),
  ]);
  const member = {
    log: formatLogAdvertisement(logIdentity, `${NODE}/kt/1`),
    kind: 'register',
    index: INDEX,
    vrfProof: toB64u(bob.vrfProof),
    opening: toB64u(bob.opening),
    registeredAt: bob.registeredAt,
    registrationProof: toB64u(bob.registrationProof),
    checkpoint: note,
    inclusion: inclusion.map(toB64u),
    consistency: { from, proof: consistency.map(toB64u) },
  };
  const stored = { log: logIdentity, size: from, root: fromRoot, checkpoint: note };

  /** One lookup as the SDK checks it; `pinned`: the contact seen before, its label cached. */
  const lookup = (pinned) => {
    const decoded = decodePublicIdentity(bob.served, ADDRESS);
    const state = {
      logs: new Map([[ORIGIN, stored]]),
      domains: new Map([['b.example', ORIGIN]]),
      contacts: pinned
        ? new Map([[ADDRESS, { origin: ORIGIN, index: INDEX, identityKey: decoded.identityKey, label: bob.label }]])
        : new Map(),
      evidence: [],
    };
    const entry = verifyIdentityForClient(state, {
      address: ADDRESS,
      domain: 'b.example',
      nodeUrl: NODE,
      identity: decoded,
      member,
      now: 1767225700,
    });
    if (entry?.index !== INDEX) throw new Error('the lookup did not verify');
  };
  lookup(true);
  lookup(false);
  const baseline = measure(() => decodePublicIdentity(bob.served, ADDRESS));
  const cached = measure(() => lookup(true));
  const first = measure(() => lookup(false));
  const memberBytes = utf8(JSON.stringify(member)).length;
  return [
    row({
      scenario: `11. client verification per lookup (log of ${LEAVES} entries)`,
      ours: rate(cached, 'lookups/s'),
      baseline: rate(baseline, 'lookups/s'),
      baselineLabel: '(unverified: identity signatures only)',
      ratio: cached / baseline,
      notes:
        `${us(cached)} per lookup of a pinned contact (label cached), ${us(first)} at first contact (VRF), ` +
        `against ${us(baseline)} unverified; member ${memberBytes} B`,
    }),
  ];
}
