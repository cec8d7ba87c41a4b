/**
 * C2SP signed notes against the published examples (Go's sumdb `note` package: PeterNeumann's
 * fixed key and signature, EnochRoot's key from an all-zero seed; the C2SP signed-note
 * example), the refusals of the reference parser, and properties.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ed25519PublicKey } from '../crypto.js';
import { utf8 } from '../encoding.js';
import { KeyPearsError } from '../errors.js';
import {
  NOTE_MAX_SIGNATURES,
  SIGNATURE_TYPE_COSIGNATURE_V1,
  SIGNATURE_TYPE_ED25519,
  addSignatureLines,
  ed25519NoteSigner,
  ed25519NoteVerifier,
  formatVerifierKey,
  isValidKeyName,
  noteKeyId,
  openNote,
  parseNote,
  parseVerifierKey,
  signNote,
} from './note.js';
import { fromBase64 } from './text.js';
import { expectCode } from '../../../test/support/expect-error.js';

// golang.org/x/mod/sumdb/note, example_test.go and note_test.go.
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG =
  '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
// c2sp.org/signed-note, "Verifier keys", example.
const C2SP_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const C2SP_NOTE =
  'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

/** The seed of a Go note private key: PRIVATE+KEY+name+id+base64(0x01 || seed). */
const peterSeed = fromBase64(PETER_SKEY.split('+').slice(4).join('+'), 'skey', 'invalid_request').subarray(1);
const peter = ed25519NoteVerifier(PETER_VKEY);
const enoch = ed25519NoteVerifier(ENOCH_VKEY);

describe('published examples', () => {
  it("reproduces PeterNeumann's key and signature from his private key", () => {
    expect(formatVerifierKey('PeterNeumann', SIGNATURE_TYPE_ED25519, ed25519PublicKey(peterSeed))).toBe(PETER_VKEY);
    expect(signNote(TEXT, [ed25519NoteSigner('PeterNeumann', peterSeed)])).toBe(`${TEXT}\n${PETER_SIG}`);
  });

  it("reproduces EnochRoot's key and signature from the all-zero seed", () => {
    const seed = new Uint8Array(32);
    expect(formatVerifierKey('EnochRoot', SIGNATURE_TYPE_ED25519, ed25519PublicKey(seed))).toBe(ENOCH_VKEY);
    expect(signNote(TEXT, [ed25519NoteSigner('PeterNeumann', peterSeed), ed25519NoteSigner('EnochRoot', seed)])).toBe(
      `${TEXT}\n${PETER_SIG}${ENOCH_SIG}`,
    );
  });

  it('opens the examples with their keys', () => {
    const opened = openNote(`${TEXT}\n${PETER_SIG}`, [peter]);
    expect(opened).toMatchObject({ text: TEXT, unknown: [] });
    expect(opened.verified.map((s) => [s.name, s.keyId])).toEqual([['PeterNeumann', 0xc74f20a3]]);
    expect(openNote(C2SP_NOTE, [ed25519NoteVerifier(C2SP_VKEY)]).text).toBe('This is an example message.\n');
  });
});

describe('opening', () => {
  const both = `${TEXT}\n${PETER_SIG}${ENOCH_SIG}`;

  it('ignores signatures by unknown keys, and needs one by a known key', () => {
    const opened = openNote(both, [peter]);
    expect(opened.verified.map((s) => s.name)).toEqual(['PeterNeumann']);
    expect(opened.unknown.map((s) => s.name)).toEqual(['EnochRoot']);
    expect(openNote(both, [peter, enoch]).verified).toHaveLength(2);
    expect(expectCode(() => openNote(both, []), 'kt_proof_invalid').details).toEqual({ reason: 'unverified' });
  });

  it('ignores a key that shares only the name or only the ID with a known one', () => {
    const otherId = `${TEXT}\n${PETER_SIG.replace('x08g', 'xxxx')}`;
    expect(expectCode(() => openNote(otherId, [peter]), 'kt_proof_invalid').details).toEqual({ reason: 'unverified' });
    const otherName = `${TEXT}\n${PETER_SIG.replace('PeterNeumann', 'CarmenSandiego')}`;
    expect(openNote(`${otherName}${PETER_SIG}`, [peter]).unknown.map((s) => s.name)).toEqual(['CarmenSandiego']);
  });

  it("rejects the note when a known key's signature fails, even beside a good one", () => {
    const bad = `${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`;
    expect(expectCode(() => openNote(`${TEXT}\n${bad}`, [peter]), 'kt_proof_invalid').details).toMatchObject({
      reason: 'bad_signature',
    });
    expectCode(
      () => openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG.slice(0, 60)}ABCD${ENOCH_SIG.slice(60)}`, [peter, enoch]),
      'kt_proof_invalid',
    );
    // A signature over another text by the right key fails too.
    expectCode(() => openNote(`${TEXT.replace('answer', 'question')}\n${PETER_SIG}`, [peter]), 'kt_proof_invalid');
  });

  it('accepts repeated identical lines once', () => {
    expect(openNote(`${TEXT}\n${PETER_SIG}${PETER_SIG}`, [peter]).verified).toHaveLength(1);
  });

  it('refuses two verifiers for one name and key ID', () => {
    expectCode(() => openNote(both, [peter, ed25519NoteVerifier(PETER_VKEY)]), 'invalid_argument');
  });

  it('reports the code it is given', () => {
    expectCode(() => openNote('no signatures', [peter], 'invalid_request'), 'invalid_request');
  });
});

describe('strict parsing', () => {
  it.each([
    ['no signature block', TEXT],
    ['a blank line and nothing after', `${TEXT}\n`],
    ['a signature without its final newline', `${TEXT}\n${PETER_SIG.slice(0, -1)}`],
    ['a control character', `\u0001${TEXT}\n${PETER_SIG}`],
    ['a tab', `a\tb\n\n${PETER_SIG}`],
    ['a carriage return', `${TEXT.replace('\n', '\r\n')}\n${PETER_SIG}`],
    ['a lone surrogate', `\ud800${TEXT}\n${PETER_SIG}`],
    [
      'a space in a key name',
      `${TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`,
    ],
    ['a line after the signatures', `${TEXT}\n${PETER_SIG}Unexpected line.\n`],
    ['a hyphen instead of an em dash', `${TEXT}\n- ${PETER_SIG.slice(2)}`],
    ['an empty signature', `${TEXT}\n— PeterNeumann \n`],
    ['a signature too short for a key ID', `${TEXT}\n— PeterNeumann AAAA\n`],
    ['unpadded base64', `${TEXT}\n${PETER_SIG.replace('AM=', 'AM')}`],
    ['non-canonical base64', `${TEXT}\n${PETER_SIG.replace('AM=', 'AN=')}`],
    ['too many signatures', `${TEXT}\n${PETER_SIG.repeat(NOTE_MAX_SIGNATURES + 1)}`],
    ['too large', `${'x'.repeat(17000)}\n\n${PETER_SIG}`],
  ])('refuses %s', (_why, note) => {
    expect(expectCode(() => parseNote(note), 'kt_proof_invalid').details).toEqual({ reason: 'malformed' });
  });

  it('takes the last blank line as the separator, so a text may hold blank lines', () => {
    const text = 'a\n\nb\n\n';
    const note = signNote(text, [ed25519NoteSigner('PeterNeumann', peterSeed)]);
    expect(openNote(note, [peter]).text).toBe(text);
  });

  it('accepts the limit of signatures', () => {
    const lines = Array.from({ length: NOTE_MAX_SIGNATURES - 1 }, (_, i) => `— other${i} AAAAAAA=\n`).join('');
    expect(openNote(`${TEXT}\n${PETER_SIG}${lines}`, [peter]).unknown).toHaveLength(NOTE_MAX_SIGNATURES - 1);
  });
});

describe('verifier keys', () => {
  it('split only at the first two +, since base64 holds + too', () => {
    const vkey = parseVerifierKey(ENOCH_VKEY.replace('ATtq', 'ATtq'));
    expect(vkey).toMatchObject({ name: 'EnochRoot', keyId: 0xaf0cfe78, type: SIGNATURE_TYPE_ED25519 });
    // Find a key whose base64 contains '+', and check it round-trips.
    let seed = 0;
    let key = '';
    do
      key = formatVerifierKey(
        'example.com/log',
        SIGNATURE_TYPE_ED25519,
        ed25519PublicKey(new Uint8Array(32).fill(seed++)),
      );
    while (!key.split('+').slice(2).join('+').includes('+'));
    expect(formatVerifierKey('example.com/log', SIGNATURE_TYPE_ED25519, parseVerifierKey(key).publicKey)).toBe(key);
  });

  it('refuse every truncation and every one-character change of a good key', () => {
    for (let i = 0; i <= PETER_VKEY.length; i++) {
      for (let j = i + 1; j <= PETER_VKEY.length; j++) {
        if (i !== 0 || j !== PETER_VKEY.length)
          expectCode(() => parseVerifierKey(PETER_VKEY.slice(i, j)), 'kt_proof_invalid');
      }
    }
    for (let i = 0; i < PETER_VKEY.length; i++) {
      const changed =
        PETER_VKEY.slice(0, i) + String.fromCharCode(PETER_VKEY.charCodeAt(i) + 1) + PETER_VKEY.slice(i + 1);
      expectCode(() => parseVerifierKey(changed), 'kt_proof_invalid');
    }
  });

  it('refuse a key of the wrong length or of an unknown type, even with a matching key ID', () => {
    expectCode(
      () => parseVerifierKey('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='),
      'kt_proof_invalid',
    );
    expectCode(
      () => parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'),
      'kt_proof_invalid',
    );
    expectCode(() => parseVerifierKey(PETER_VKEY.replace('c74f20a3', 'C74F20A3')), 'kt_proof_invalid');
  });

  it('are parsed once: a later parse is not changed by what a caller did with an earlier result', () => {
    const first = parseVerifierKey(C2SP_VKEY);
    const original = first.publicKey.slice();
    first.publicKey.fill(0);
    expect(parseVerifierKey(C2SP_VKEY).publicKey).toEqual(original);
    expectCode(() => parseVerifierKey(C2SP_VKEY.replace('+A', '+B')), 'kt_proof_invalid');
    expectCode(() => parseVerifierKey(C2SP_VKEY.replace('+A', '+B')), 'kt_proof_invalid');
  });

  it('give each signature type its own key ID', () => {
    const pk = ed25519PublicKey(peterSeed);
    expect(noteKeyId('PeterNeumann', SIGNATURE_TYPE_ED25519, pk)).toBe(0xc74f20a3);
    expect(noteKeyId('PeterNeumann', SIGNATURE_TYPE_COSIGNATURE_V1, pk)).not.toBe(0xc74f20a3);
    const cosignKey = formatVerifierKey('PeterNeumann', SIGNATURE_TYPE_COSIGNATURE_V1, pk);
    expect(parseVerifierKey(cosignKey).type).toBe(SIGNATURE_TYPE_COSIGNATURE_V1);
    expectCode(() => ed25519NoteVerifier(cosignKey), 'kt_proof_invalid');
  });
});

describe('properties', () => {
  const name = fc.stringMatching(/^[a-z0-9./_-]{1,24}$/);
  const text = fc
    .array(fc.string({ unit: fc.constantFrom(...Array.from('ab c—é€\u{1f511}+/=')), maxLength: 40 }), { maxLength: 6 })
    .map((lines) => `${lines.join('\n')}\n`);

  it('a signed note opens to its text, and adding unknown signatures changes nothing', () => {
    fc.assert(
      fc.property(name, text, fc.uint8Array({ minLength: 32, maxLength: 32 }), (n, t, seed) => {
        const signer = ed25519NoteSigner(n, seed);
        const verifier = ed25519NoteVerifier(formatVerifierKey(n, SIGNATURE_TYPE_ED25519, ed25519PublicKey(seed)));
        const note = signNote(t, [signer]);
        expect(openNote(note, [verifier]).text).toBe(t);
        const extended = addSignatureLines(note, ['— someone.else/key AAAAAAAAAA==']);
        expect(openNote(extended, [verifier]).unknown).toHaveLength(1);
      }),
      { numRuns: 100 },
    );
  });

  it('a signed note with any one character changed does not open', () => {
    const note = signNote(TEXT, [ed25519NoteSigner('PeterNeumann', peterSeed)]);
    fc.assert(
      fc.property(fc.nat({ max: note.length - 1 }), fc.constantFrom('a', 'Z', '+', '\n', ' ', '='), (at, c) => {
        const changed = note.slice(0, at) + c + note.slice(at + 1);
        if (changed !== note) expect(() => openNote(changed, [peter])).toThrow(KeyPearsError);
      }),
    );
  });

  it('key names refuse spaces, + and control characters', () => {
    for (const bad of ['', 'a b', 'a+b', 'a\u00a0b', 'a\u2028b', 'a\u3000b', 'a\u0085b', 'a\u0001b', 'a\tb']) {
      expect(isValidKeyName(bad)).toBe(false);
    }
    expect(isValidKeyName('kp.b.example/kt/1')).toBe(true);
    expect(utf8('é').length).toBe(2);
  });
});
