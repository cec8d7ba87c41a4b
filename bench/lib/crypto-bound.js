/**
 * The protocol's own work for one exchange, with nothing else (no HTTP, no database): Bob's
 * one-time prekeys, the bundle check, `initiateExchange`, `acceptExchange` and
 * `verifyConfirmation`, between fixed identities. The bound scenario 4 is compared with, and
 * the side of the crypto scenario that libsignal's session setup is measured against.
 */
import {
  cryptoBackends,
  ed25519Keygen,
  loadFastMlkem768,
  mlkem768Keygen,
  x25519Keygen,
} from '../../dist/protocol/crypto.js';
import {
  acceptExchange as acceptDerivation,
  initiateExchange,
  verifyConfirmation,
} from '../../dist/protocol/exchange.js';
import { signPrekey } from '../../dist/protocol/keys.js';
import { decodeBundle, decodePublicIdentity, encodeKeyRecord } from '../../dist/protocol/wire.js';
import { identityFingerprint } from '../../dist/protocol/fingerprint.js';
import { nowSeconds } from './federation.js';
import { libsignalSessionSetup } from './libsignal.js';
import { rate, row } from './report.js';
import { settings } from './settings.js';

/** A complete identity (secret and public parts). */
function identity(address) {
  const keys = ed25519Keygen();
  const dh = x25519Keygen();
  const spk = x25519Keygen();
  const pq = mlkem768Keygen();
  const sign = (kind, publicKey) =>
    encodeKeyRecord({
      id: 1,
      publicKey,
      signature: signPrekey({ kind, address, keyId: 1, publicKey }, keys.secretKey),
    });
  return {
    keys,
    dh,
    spk,
    pq,
    public: {
      address,
      identityKey: Buffer.from(keys.publicKey).toString('base64url'),
      identityDhKey: sign('identity-dh', dh.publicKey),
      signedPrekey: sign('signed-prekey', spk.publicKey),
      pqLastResort: sign('pq-last-resort', pq.publicKey),
      fingerprint: identityFingerprint(keys.publicKey),
    },
  };
}

/** Returns a function that performs one complete exchange per call. */
export function cryptoOnlyExchange() {
  const bobAddress = 'bob@b.example';
  const alice = identity('alice@a.example');
  const bob = identity(bobAddress);
  const aliceKeys = {
    address: 'alice@a.example',
    identitySecretKey: alice.keys.secretKey,
    identityDhSecretKey: alice.dh.secretKey,
  };
  const aliceIdentity = decodePublicIdentity(alice.public, 'alice@a.example');
  const sign = (kind, keyId, publicKey) =>
    encodeKeyRecord({
      id: keyId,
      publicKey,
      signature: signPrekey({ kind, address: bobAddress, keyId, publicKey }, bob.keys.secretKey),
    });

  return function exchange() {
    // Bob's one-time prekeys for this exchange (published ahead in the real flow).
    const otk = x25519Keygen();
    const pqOtk = mlkem768Keygen();
    const bundle = {
      ...bob.public,
      usedLastResort: false,
      oneTimePrekey: sign('one-time-prekey', 1, otk.publicKey),
      pqOneTimePrekey: sign('pq-one-time', 1, pqOtk.publicKey),
    };
    const started = initiateExchange({
      self: aliceKeys,
      peerBundle: decodeBundle(bundle, bobAddress),
      createdAt: nowSeconds(),
    });
    const accepted = acceptDerivation({
      self: {
        address: bobAddress,
        identitySecretKey: bob.keys.secretKey,
        identityDhSecretKey: bob.dh.secretKey,
        signedPrekeySecret: () => bob.spk.secretKey,
        oneTimePrekeySecret: () => otk.secretKey,
        pqPrekeySecret: (kind) => (kind === 'pq-one-time' ? pqOtk.secretKey : bob.pq.secretKey),
      },
      initiation: started.initiation,
      initiatorIdentity: aliceIdentity,
      now: nowSeconds(),
    });
    verifyConfirmation({
      confirmation: accepted.confirmation,
      initiation: started.initiation,
      responderIdentityKey: bob.keys.publicKey,
      confirmKey: started.confirmKey,
      transcriptHash: started.transcriptHash,
    });
  };
}

/** Rounds per side in `compareLoops`, as in measureSideBySide. */
const ROUNDS = 4;

/**
 * Runs `{ name, setup }` loops (each `setup` may be async) in ROUNDS alternating rounds of
 * `roundSeconds` each, in the order A B B A A B B A, after one unmeasured warm-up round of a
 * second each. Returns per loop: operations per second over all its rounds, each round's
 * figure, and the CPU time per operation of this process (the loops run here, one at a time).
 */
export async function compareLoops(loops, roundSeconds) {
  for (const loop of loops) await runFor(loop.setup, 1);
  const rounds = loops.map(() => []);
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? [...loops.keys()] : [...loops.keys()].reverse();
    for (const k of order) {
      const result = await runFor(loops[k].setup, roundSeconds);
      console.error(
        `[bench]   round ${i + 1}/${ROUNDS} ${loops[k].name}: ${result.perSecond.toFixed(0)}/s, ` +
          `${result.cpuUsPerOp.toFixed(0)} µs CPU each`,
      );
      rounds[k].push(result);
    }
  }
  return rounds.map((results) => {
    const count = results.reduce((n, r) => n + r.count, 0);
    const seconds = results.reduce((n, r) => n + r.seconds, 0);
    const cpuUs = results.reduce((n, r) => n + r.cpuUs, 0);
    return {
      perSecond: count / seconds,
      rounds: results.map((r) => r.perSecond),
      cpuUsPerOp: cpuUs / count,
      count,
    };
  });
}

async function runFor(setup, seconds) {
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const end = started + BigInt(Math.round(seconds * 1e9));
  let count = 0;
  let now = started;
  while (now < end) {
    await setup();
    count++;
    now = process.hrtime.bigint();
  }
  const cpu = process.cpuUsage(cpuBefore);
  const elapsed = Number(now - started) / 1e9;
  return {
    count,
    seconds: elapsed,
    perSecond: count / elapsed,
    cpuUs: cpu.user + cpu.system,
    cpuUsPerOp: (cpu.user + cpu.system) / count,
  };
}

/** Measures both loops side by side; returns the row and the figures. */
export async function compareWithLibsignal(scenario) {
  // As the SDK does before its exchanges.
  await loadFastMlkem768();
  const backends = cryptoBackends();
  const [ours, signal] = await compareLoops(
    [
      { name: 'crypto-only exchange', setup: cryptoOnlyExchange() },
      { name: 'libsignal PQXDH session setup', setup: libsignalSessionSetup() },
    ],
    Math.max(1, settings.duration / 2),
  );
  const comparison = row({
    scenario,
    ours: rate(ours.perSecond, 'exch/s'),
    baseline: rate(signal.perSecond, 'setups/s'),
    baselineLabel: '(libsignal)',
    target: '>= 0.50',
    notes:
      `rounds (ours / libsignal, per second): ${ours.rounds.map((r) => r.toFixed(0)).join(' ')} / ` +
      `${signal.rounds.map((r) => r.toFixed(0)).join(' ')}; CPU per operation ${ours.cpuUsPerOp.toFixed(0)} µs / ` +
      `${signal.cpuUsPerOp.toFixed(0)} µs; ours with Ed25519 and X25519 from ${backends.x25519}, ML-KEM-768 from ${backends.mlkem768}`,
  });
  comparison.met = comparison.ratio >= 0.5;
  return { row: comparison, ours, signal };
}
