/**
 * Scenario 8 (transparency primitives): the cost of the key-transparency core on one thread,
 * each beside a baseline measured in the same run: hashing a leaf, verifying inclusion and
 * consistency proofs in a log of BENCH_KT_LEAVES entries (1,000,000 by default) and building one
 * from stored rows, the VRF against Ed25519, a checkpoint note against bare signature checks,
 * and a client's whole verification of one lookup. Figures only: nothing is asserted.
 */
import { createHash } from 'node:crypto';
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from '../../dist/protocol/crypto.js';
import { utf8 } from '../../dist/protocol/encoding.js';
import {
  cosignCheckpoint,
  cosignatureVerifier,
  formatCheckpoint,
  openCheckpoint,
} from '../../dist/protocol/transparency/checkpoint.js';
import { encodeEntry, labelInput, proveLabel, verifyLabel } from '../../dist/protocol/transparency/entry.js';
import { verifyLogAnswer } from '../../dist/protocol/transparency/log-verifier.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../../dist/protocol/transparency/merkle.js';
import {
  addSignatureLines,
  ed25519NoteSigner,
  formatVerifierKey,
  SIGNATURE_TYPE_COSIGNATURE_V1,
  SIGNATURE_TYPE_ED25519,
  signNote,
} from '../../dist/protocol/transparency/note.js';
import {
  appendEntry,
  assemble,
  planInclusionProof,
  proveConsistency,
  proveInclusion,
  readFrontier,
  rightEdge,
  rootFromFrontier,
} from '../../dist/protocol/transparency/tree-storage.js';
import { vrfProve, vrfPublicKey, vrfVerify } from '../../dist/protocol/transparency/vrf.js';
import { measure as measureFor } from '../lib/measure.js';
import { rate, row } from '../lib/report.js';
import { settings } from '../lib/settings.js';

const LEAVES = Number(process.env.BENCH_KT_LEAVES || 1_000_000);
/** The leaf whose proofs are measured: in the tree's full left half, so its path is full length. */
const SAMPLE = Math.floor(LEAVES / 8) + 1;
/** Measured time per figure: a tenth of BENCH_DURATION (1 s by default), after a short warm-up. */
const MEASURE_MS = Math.max(200, settings.duration * 100);

const measure = (fn) => measureFor(fn, MEASURE_MS);

const us = (opsPerSecond) => `${(1e6 / opsPerSecond).toFixed(1)} µs`;
const nodeSha256 = (bytes) => createHash('sha256').update(bytes).digest();

/** A log of `n` entries kept as the node keeps it: rows by leaf index and the frontier. */
function buildLog(n) {
  const rows = new Map();
  let frontier = [];
  const entries = [];
  for (let i = 0; i < n; i++) {
    const entry = encodeEntry({
      kind: i === 0 ? 'log-start' : 'register',
      label: i === 0 ? new Uint8Array(32) : nodeSha256(utf8(`label ${i}`)),
      commitment: nodeSha256(utf8(`commitment ${i}`)),
    });
    if (i < 4 || i === SAMPLE || i === n - 1) entries[i] = entry;
    const next = appendEntry(frontier, i, entry);
    rows.set(i, next.row);
    frontier = next.frontier;
  }
  return { rows, frontier, entries, read: (leaves) => new Map(leaves.map((l) => [l, rows.get(l)])) };
}

export async function run() {
  const results = [];
  const started = performance.now();
  const log = buildLog(LEAVES);
  const buildSeconds = (performance.now() - started) / 1000;
  const root = rootFromFrontier(log.frontier);
  const index = SAMPLE;
  const entry = log.entries[index];
  const inclusion = await proveInclusion(index, LEAVES, log.read);
  const from = Math.floor(LEAVES * 0.7) + 1;
  const fromRoot = rootFromFrontier(await readFrontier(from, log.read));
  const consistency = await proveConsistency(from, LEAVES, log.read);

  // 1. A leaf hash.
  const leafOurs = measure(() => leafHash(entry));
  const prefixed = new Uint8Array(entry.length + 1);
  prefixed.set(entry, 1);
  const leafBase = measure(() => nodeSha256(prefixed));
  results.push(
    row({
      scenario: `8a. leaf hash (SHA-256 of ${entry.length + 1} B, noble)`,
      ours: rate(leafOurs, 'ops/s'),
      baseline: rate(leafBase, 'ops/s'),
      baselineLabel: '(node:crypto)',
      notes: `${us(leafOurs)} per leaf hash; node:crypto ${us(leafBase)}`,
    }),
  );

  // 2. Inclusion and consistency verification at LEAVES leaves, against the same number of bare hashes.
  const node = new Uint8Array(65);
  const hashesOf = (count) => () => {
    for (let i = 0; i < count; i++) nodeSha256(node);
  };
  const inclusionOurs = measure(() => verifyInclusion(index, LEAVES, leafHash(entry), inclusion, root));
  const inclusionBase = measure(hashesOf(inclusion.length + 1));
  results.push(
    row({
      scenario: `8b. inclusion verify at ${LEAVES} leaves (${inclusion.length} hashes)`,
      ours: rate(inclusionOurs, 'ops/s'),
      baseline: rate(inclusionBase, 'ops/s'),
      baselineLabel: `(${inclusion.length + 1} node:crypto SHA-256)`,
      notes: `${us(inclusionOurs)} per verification; proof ${inclusion.length * 32} B; tree built in ${buildSeconds.toFixed(1)} s`,
    }),
  );
  const consistencyOurs = measure(() => verifyConsistency(from, LEAVES, fromRoot, root, consistency));
  const consistencyBase = measure(hashesOf(2 * consistency.length));
  results.push(
    row({
      scenario: `8c. consistency verify ${from} -> ${LEAVES} (${consistency.length} hashes)`,
      ours: rate(consistencyOurs, 'ops/s'),
      baseline: rate(consistencyBase, 'ops/s'),
      baselineLabel: `(${2 * consistency.length} node:crypto SHA-256)`,
      notes: `${us(consistencyOurs)} per verification; proof ${consistency.length * 32} B`,
    }),
  );

  // 3. Building an inclusion proof from stored rows (the rows already read), against the bare row reads.
  const indexes = Array.from({ length: 1024 }, (_, i) => (i * 7919 + 13) % LEAVES);
  const edge = rightEdge(log.frontier, LEAVES);
  const proveOurs = measure((i) => {
    const planned = planInclusionProof(indexes[i % 1024], LEAVES, edge);
    assemble(planned, log.read(planned.leaves));
  });
  const proveWithout = measure((i) => {
    const planned = planInclusionProof(indexes[i % 1024], LEAVES);
    assemble(planned, log.read(planned.leaves));
  });
  const plans = indexes.map((i) => planInclusionProof(i, LEAVES, edge));
  const proveBase = measure((i) => log.read(plans[i % 1024].leaves));
  const rowsRead = plans.reduce((sum, p) => sum + p.leaves.length, 0) / plans.length;
  results.push(
    row({
      scenario: `8d. inclusion proof from stored rows at ${LEAVES} (right edge kept)`,
      ours: rate(proveOurs, 'ops/s'),
      baseline: rate(proveBase, 'ops/s'),
      baselineLabel: '(reading the rows alone)',
      notes: `${us(proveOurs)} per proof, ${rowsRead.toFixed(1)} rows read in one query; without the right edge ${us(
        proveWithout,
      )}`,
    }),
  );

  // 4. VRF against Ed25519 (node:crypto where available, as the node signs).
  const vrfSecret = nodeSha256(utf8('vrf'));
  const vrfKey = vrfPublicKey(vrfSecret);
  const alpha = labelInput('alice@b.example');
  const proof = vrfProve(vrfSecret, alpha);
  const edSecret = nodeSha256(utf8('ed'));
  const edPublic = ed25519PublicKey(edSecret);
  const message = utf8('a message of about the size of a label input');
  const signature = ed25519Sign(message, edSecret);
  const proveVrf = measure(() => vrfProve(vrfSecret, alpha));
  const signEd = measure(() => ed25519Sign(message, edSecret));
  const verifyVrf = measure(() => vrfVerify(vrfKey, alpha, proof));
  const verifyEd = measure(() => ed25519Verify(signature, message, edPublic));
  results.push(
    row({
      scenario: '8e. VRF prove (ECVRF-EDWARDS25519-SHA512-TAI)',
      ours: rate(proveVrf, 'ops/s'),
      baseline: rate(signEd, 'ops/s'),
      baselineLabel: '(Ed25519 sign)',
      notes: `${us(proveVrf)} per proof (once per registration); Ed25519 sign ${us(signEd)}`,
    }),
    row({
      scenario: '8f. VRF verify',
      ours: rate(verifyVrf, 'ops/s'),
      baseline: rate(verifyEd, 'ops/s'),
      baselineLabel: '(Ed25519 verify)',
      notes: `${us(verifyVrf)} per verification (clients cache the label); Ed25519 verify ${us(verifyEd)}`,
    }),
  );

  // 5. Opening a checkpoint note with a log signature and a witness cosignature, against two bare verifications.
  const origin = 'kp.b.example/kt/1';
  const logSecret = nodeSha256(utf8('log'));
  const witnessSecret = nodeSha256(utf8('witness'));
  const logKey = formatVerifierKey(origin, SIGNATURE_TYPE_ED25519, ed25519PublicKey(logSecret));
  const witnessKey = formatVerifierKey(
    'kp.a.example/witness',
    SIGNATURE_TYPE_COSIGNATURE_V1,
    ed25519PublicKey(witnessSecret),
  );
  const text = formatCheckpoint({ origin, size: LEAVES, root });
  const witness = { name: 'kp.a.example/witness', secretKey: witnessSecret };
  const note = addSignatureLines(signNote(text, [ed25519NoteSigner(origin, logSecret)]), [
    cosignCheckpoint(text, witness, 1767225600),
  ]);
  const witnessVerifier = cosignatureVerifier(witnessKey);
  const openOurs = measure(() => openCheckpoint(note, logKey, [witnessVerifier]));
  const openBase = measure(() => {
    ed25519Verify(signature, message, edPublic);
    ed25519Verify(signature, message, edPublic);
  });
  results.push(
    row({
      scenario: '8g. checkpoint note verify (log signature + cosignature)',
      ours: rate(openOurs, 'ops/s'),
      baseline: rate(openBase, 'ops/s'),
      baselineLabel: '(2 Ed25519 verify)',
      notes: `${us(openOurs)} per note of ${utf8(note).length} B; two bare verifications ${us(openBase)}`,
    }),
  );

  // 6. A client's whole check of one lookup: the log answer (note, consistency, inclusion), with and without the VRF.
  const identity = { origin, logKey, vrfKey, importEnd: 1 };
  const answer = {
    checkpoint: note,
    consistency: { from, proof: consistency },
    inclusion: { index, proof: inclusion },
  };
  const state = { log: identity, size: from, root: fromRoot, checkpoint: note };
  const { vrfProof } = proveLabel(vrfSecret, 'alice@b.example');
  const answerOurs = measure(() => verifyLogAnswer({ state, advertised: identity, answer, entry }));
  const withVrf = measure(() => {
    verifyLabel(vrfKey, 'alice@b.example', vrfProof);
    verifyLogAnswer({ state, advertised: identity, answer, entry });
  });
  results.push(
    row({
      scenario: '8h. client verification of one lookup (cached label)',
      ours: rate(answerOurs, 'ops/s'),
      baseline: rate(verifyEd, 'ops/s'),
      baselineLabel: '(one Ed25519 verify)',
      notes: `${us(answerOurs)} per lookup with the label cached, ${us(withVrf)} with the VRF checked; proofs ${
        (inclusion.length + consistency.length) * 32
      } B`,
    }),
  );
  return results;
}
