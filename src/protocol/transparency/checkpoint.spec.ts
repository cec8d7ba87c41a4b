/**
 * Checkpoints, cosignatures, tlog-proofs and add-checkpoint bodies: the C2SP examples that carry
 * no secret (the tlog-witness request body), round trips, and each refusal.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ed25519PublicKey } from '../crypto.js';
import { utf8 } from '../encoding.js';
import {
  cosignCheckpoint,
  cosignatureMessage,
  cosignatureTime,
  cosignatureVerifier,
  formatAddCheckpoint,
  formatCheckpoint,
  formatTlogProof,
  openCheckpoint,
  parseAddCheckpoint,
  parseCheckpoint,
  parseTlogProof,
  witnessCosignature,
} from './checkpoint.js';
import { EMPTY_ROOT } from './merkle.js';
import {
  addSignatureLines,
  ed25519NoteSigner,
  formatVerifierKey,
  SIGNATURE_TYPE_COSIGNATURE_V1,
  SIGNATURE_TYPE_ED25519,
  signNote,
} from './note.js';
import { fromBase64, toBase64 } from './text.js';
import { expectCode } from '../../../test/support/expect-error.js';

const ORIGIN = 'kp.b.example/kt/1';
const LOG_SEED = new Uint8Array(32).fill(7);
const WITNESS_SEED = new Uint8Array(32).fill(9);
const LOG_KEY = formatVerifierKey(ORIGIN, SIGNATURE_TYPE_ED25519, ed25519PublicKey(LOG_SEED));
const WITNESS = { name: 'kp.a.example/witness', secretKey: WITNESS_SEED };
const WITNESS_KEY = formatVerifierKey(WITNESS.name, SIGNATURE_TYPE_COSIGNATURE_V1, ed25519PublicKey(WITNESS_SEED));
const ROOT = fromBase64('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=', 'root', 'invalid_request');

const sign = (text: string, seed = LOG_SEED, name = ORIGIN) => signNote(text, [ed25519NoteSigner(name, seed)]);

describe('checkpoint text', () => {
  it('is origin, size and base64 root, one per line', () => {
    const text = formatCheckpoint({ origin: 'example.com/behind-the-sofa', size: 20852163, root: ROOT });
    expect(text).toBe('example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n');
    expect(parseCheckpoint(text)).toEqual({ origin: 'example.com/behind-the-sofa', size: 20852163, root: ROOT });
  });

  it.each([
    ['an extension line', `${ORIGIN}\n5\n${toBase64(ROOT)}\nextension\n`],
    ['a missing root', `${ORIGIN}\n5\n`],
    ['no final newline', `${ORIGIN}\n5\n${toBase64(ROOT)}`],
    ['a size with a leading zero', `${ORIGIN}\n05\n${toBase64(ROOT)}\n`],
    ['a negative size', `${ORIGIN}\n-5\n${toBase64(ROOT)}\n`],
    ['a size above 2^53 - 1', `${ORIGIN}\n9007199254740992\n${toBase64(ROOT)}\n`],
    ['a short root', `${ORIGIN}\n5\n${toBase64(ROOT.subarray(1))}\n`],
    ['an origin with a space', `kp.b example\n5\n${toBase64(ROOT)}\n`],
    ['an empty origin', `\n5\n${toBase64(ROOT)}\n`],
  ])('refuses %s', (_why, text) => {
    expectCode(() => parseCheckpoint(text), 'kt_proof_invalid');
  });
});

describe('opening a checkpoint', () => {
  const text = formatCheckpoint({ origin: ORIGIN, size: 5, root: ROOT });

  it('needs the log signature, for the log origin', () => {
    expect(openCheckpoint(sign(text), LOG_KEY).checkpoint).toEqual({ origin: ORIGIN, size: 5, root: ROOT });
    expectCode(() => openCheckpoint(sign(text, WITNESS_SEED), LOG_KEY), 'kt_proof_invalid');
    const otherOrigin = formatCheckpoint({ origin: 'kp.c.example/kt/1', size: 5, root: ROOT });
    expectCode(() => openCheckpoint(sign(otherOrigin), LOG_KEY), 'kt_proof_invalid');
  });

  it('refuses an empty tree with any root but the empty one', () => {
    expect(
      openCheckpoint(sign(formatCheckpoint({ origin: ORIGIN, size: 0, root: EMPTY_ROOT })), LOG_KEY).checkpoint.size,
    ).toBe(0);
    expectCode(
      () => openCheckpoint(sign(formatCheckpoint({ origin: ORIGIN, size: 0, root: ROOT })), LOG_KEY),
      'kt_proof_invalid',
    );
  });

  it('ignores cosignatures by unknown witnesses, and checks known ones', () => {
    const cosigned = addSignatureLines(sign(text), [cosignCheckpoint(text, WITNESS, 1767225600)]);
    expect(openCheckpoint(cosigned, LOG_KEY).note.unknown).toHaveLength(1);
    const witness = cosignatureVerifier(WITNESS_KEY);
    const opened = openCheckpoint(cosigned, LOG_KEY, [witness]);
    expect(witnessCosignature(opened, witness)).toEqual({ time: 1767225600 });
    // A witness's cosignature alone does not make a checkpoint: the log must have signed it.
    const witnessOnly = `${text}\n${cosignCheckpoint(text, WITNESS, 1767225600)}\n`;
    expectCode(() => openCheckpoint(witnessOnly, LOG_KEY, [witness]), 'kt_proof_invalid');
    // A cosignature moved to another checkpoint fails.
    const other = formatCheckpoint({ origin: ORIGIN, size: 6, root: ROOT });
    const moved = addSignatureLines(sign(other), [cosignCheckpoint(text, WITNESS, 1767225600)]);
    expectCode(() => openCheckpoint(moved, LOG_KEY, [witness]), 'kt_proof_invalid');
  });
});

describe('cosignature/v1', () => {
  const text = formatCheckpoint({ origin: ORIGIN, size: 5, root: ROOT });
  const witness = cosignatureVerifier(WITNESS_KEY);

  it('signs the header, the time and the checkpoint text', () => {
    expect(new TextDecoder().decode(cosignatureMessage(text, 1679315147))).toBe(
      `cosignature/v1\ntime 1679315147\n${text}`,
    );
    const line = cosignCheckpoint(text, WITNESS, 1679315147);
    const signature = fromBase64(line.split(' ')[2], 'sig', 'invalid_request').subarray(4);
    expect(cosignatureTime(signature)).toBe(1679315147);
    expect(witness.verify(utf8(text), signature)).toBe(true);
  });

  it('fails with another time, another text, or the log key type', () => {
    const signature = fromBase64(
      cosignCheckpoint(text, WITNESS, 1000).split(' ')[2],
      'sig',
      'invalid_request',
    ).subarray(4);
    const later = signature.slice();
    later[7] ^= 1;
    expect(witness.verify(utf8(text), later)).toBe(false);
    expect(witness.verify(utf8(text.replace('5', '6')), signature)).toBe(false);
    expect(witness.verify(utf8(text), signature.subarray(8))).toBe(false);
    expectCode(() => cosignatureVerifier(LOG_KEY), 'kt_proof_invalid');
    const huge = signature.slice();
    huge[0] = 0x80;
    expect(cosignatureTime(huge)).toBeUndefined();
  });
});

describe('tlog-proof', () => {
  const note = sign(formatCheckpoint({ origin: ORIGIN, size: 5, root: ROOT }));

  it('round-trips, with and without extra data', () => {
    const proof = { extra: utf8('entry'), index: 3, inclusion: [ROOT, EMPTY_ROOT], checkpoint: note };
    const text = formatTlogProof(proof);
    expect(text).toBe(
      `c2sp.org/tlog-proof@v1\nextra ${toBase64(utf8('entry'))}\nindex 3\n${toBase64(ROOT)}\n${toBase64(EMPTY_ROOT)}\n\n${note}`,
    );
    expect(parseTlogProof(text)).toEqual(proof);
    const bare = { index: 0, inclusion: [], checkpoint: note };
    expect(formatTlogProof(bare)).toBe(`c2sp.org/tlog-proof@v1\nindex 0\n\n${note}`);
    expect(parseTlogProof(formatTlogProof(bare))).toEqual(bare);
  });

  it.each([
    ['another header', (t: string) => t.replace('tlog-proof@v1', 'tlog-proof@v2')],
    ['no index', (t: string) => t.replace('index 3\n', '')],
    ['an index with a leading zero', (t: string) => t.replace('index 3', 'index 03')],
    ['a short hash', (t: string) => t.replace(toBase64(ROOT), toBase64(ROOT.subarray(2)))],
    ['a broken checkpoint', (t: string) => t.replace('— ', '- ')],
    ['no blank line', (t: string) => t.replace(/\n\n/g, '\n')],
  ])('refuses %s', (_why, mutate) => {
    const text = formatTlogProof({ index: 3, inclusion: [ROOT], checkpoint: note });
    expectCode(() => parseTlogProof(mutate(text)), 'kt_proof_invalid');
  });
});

describe('add-checkpoint body', () => {
  // The example request of c2sp.org/tlog-witness.
  const example = `old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=
`;

  it('parses the C2SP example and formats it back byte for byte', () => {
    const request = parseAddCheckpoint(example);
    expect(request.oldSize).toBe(20852014);
    expect(request.proof).toHaveLength(4);
    expect(parseCheckpoint(request.checkpoint.split('\n\n')[0] + '\n')).toEqual({
      origin: 'example.com/behind-the-sofa',
      size: 20852163,
      root: ROOT,
    });
    expect(formatAddCheckpoint(request)).toBe(example);
  });

  it('refuses a malformed body with the code a witness answers 400 with', () => {
    expectCode(() => parseAddCheckpoint(example.replace('old ', 'old  ')), 'invalid_request');
    expectCode(() => parseAddCheckpoint(example.replace('PlRN', 'PlR')), 'invalid_request');
    expectCode(
      () =>
        parseAddCheckpoint(
          `old 1\n${`${toBase64(ROOT)}\n`.repeat(65)}\n${example.split('\n\n').slice(1).join('\n\n')}`,
        ),
      'invalid_request',
    );
  });

  it('round-trips any proof', () => {
    const note = sign(formatCheckpoint({ origin: ORIGIN, size: 5, root: ROOT }));
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 64 }),
        (oldSize, proof) => {
          const request = { oldSize, proof, checkpoint: note };
          expect(parseAddCheckpoint(formatAddCheckpoint(request))).toEqual(request);
        },
      ),
      { numRuns: 50 },
    );
  });
});
