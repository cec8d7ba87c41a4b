import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ed25519Keygen, ed25519Sign, ed25519Verify, sha256 } from './crypto.js';
import { fromHex, toB64u, toHex, utf8 } from './encoding.js';
import { BlockRequestSchema, FederationClaimRequestSchema, InboxQuerySchema } from './exchange-api.js';
import { KeyPearsError } from './errors.js';
import { signRequest, verifyRequest, type VerifyRequestOptions } from './http-signature.js';
import { expectAsyncCode, expectCode } from '../../test/support/expect-error.js';

const alice = ed25519Keygen(new Uint8Array(32).fill(1));
const mallory = ed25519Keygen(new Uint8Array(32).fill(2));
const node = ed25519Keygen(new Uint8Array(32).fill(3));
const keys: Record<string, Uint8Array> = {
  'alice@a.example': alice.publicKey,
  'mallory@a.example': mallory.publicKey,
  'https://a.example#2026-01': node.publicKey,
};

const NOW = 1_800_000_000;
const TARGET = 'https://b.example/api/v1/exchanges?x=1';
const BODY = utf8('{"hello":"world"}');

function signed(overrides: Partial<Parameters<typeof signRequest>[0]> = {}) {
  return signRequest({
    method: 'POST',
    targetUri: TARGET,
    body: BODY,
    keyId: 'alice@a.example',
    secretKey: alice.secretKey,
    now: NOW,
    ...overrides,
  });
}

function verify(headers: VerifyRequestOptions['headers'], overrides: Partial<VerifyRequestOptions> = {}) {
  return verifyRequest({
    method: 'POST',
    targetUri: TARGET,
    body: BODY,
    headers,
    now: NOW,
    resolveKey: (keyId) => keys[keyId],
    ...overrides,
  });
}

/** Replaces the member value of the Signature-Input header (everything after `kp=`). */
function withParams(headers: Record<string, string>, params: string): Record<string, string> {
  return { ...headers, 'Signature-Input': `kp=${params}` };
}

const PARAMS_OK = `("@method" "@target-uri" "content-digest");created=${NOW};expires=${NOW + 120};nonce="AAAAAAAAAAAAAAAAAAAAAA";keyid="alice@a.example";alg="ed25519"`;

describe('signRequest / verifyRequest', () => {
  it('round-trips a client request and returns what the server needs', async () => {
    const headers = signed({ nonce: 'bm9uY2Vub25jZW5vbmNlMQ' });
    expect(Object.keys(headers)).toEqual(['Content-Digest', 'Signature-Input', 'Signature']);
    expect(headers['Signature-Input']).toBe(
      `kp=("@method" "@target-uri" "content-digest");created=${NOW};expires=${NOW + 120};` +
        `nonce="bm9uY2Vub25jZW5vbmNlMQ";keyid="alice@a.example";alg="ed25519"`,
    );
    await expect(verify(headers)).resolves.toEqual({
      keyId: 'alice@a.example',
      nonce: 'bm9uY2Vub25jZW5vbmNlMQ',
      created: NOW,
      expires: NOW + 120,
      coveredHeaders: {},
    });
  });

  it('round-trips a federation request covering keypears-origin, with an async key lookup', async () => {
    const origin = 'https://a.example';
    const headers = signed({
      keyId: 'https://a.example#2026-01',
      secretKey: node.secretKey,
      headers: { 'keypears-origin': origin },
      ttlSeconds: 300,
    });
    const result = await verify(
      { ...headers, 'keypears-origin': origin },
      { requiredHeaders: ['keypears-origin'], resolveKey: async (keyId) => keys[keyId] },
    );
    expect(result.keyId).toBe('https://a.example#2026-01');
    expect(result.coveredHeaders).toEqual({ 'keypears-origin': origin });
    expect(result.expires - result.created).toBe(300);
  });

  it('digests an absent body as the empty string, and uses fresh random nonces', async () => {
    const headers = signed({ method: 'GET', body: undefined });
    expect(headers['Content-Digest']).toBe('sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:');
    const result = await verify(headers, { method: 'GET', body: new Uint8Array(0) });
    expect(Buffer.from(result.nonce, 'base64url')).toHaveLength(16);
    expect((await verify(signed())).nonce).not.toBe((await verify(signed())).nonce);
  });

  it('reads header names in any case, arrays as Node.js gives them, and trims values', async () => {
    const headers = signed({ headers: { 'keypears-origin': 'https://a.example' } });
    const nodeStyle = {
      'content-digest': [headers['Content-Digest']],
      'SIGNATURE-INPUT': headers['Signature-Input'],
      signature: ` ${headers.Signature}\t`,
      'KeyPears-Origin': 'https://a.example',
      'x-unrelated': 'caf\u00e9\r\n',
    };
    await expect(verify(nodeStyle, { requiredHeaders: ['keypears-origin'] })).resolves.toMatchObject({
      coveredHeaders: { 'keypears-origin': 'https://a.example' },
    });
  });

  describe('refuses tampering', () => {
    const headers = signed({ headers: { 'keypears-origin': 'https://a.example' } });
    const request = { ...headers, 'keypears-origin': 'https://a.example' };
    const opts = { requiredHeaders: ['keypears-origin'] };

    it('accepts the untampered request', async () => {
      await expect(verify(request, opts)).resolves.toBeDefined();
    });

    it.each([
      ['method', { method: 'PUT' }],
      ['target URI path', { targetUri: 'https://b.example/api/v1/exchanges?x=2' }],
      ['target URI host', { targetUri: 'https://c.example/api/v1/exchanges?x=1' }],
    ])('%s -> bad_signature', async (_, change) => {
      await expectAsyncCode(verify(request, { ...opts, ...change }), 'bad_signature');
    });

    it('body -> digest_mismatch', async () => {
      await expectAsyncCode(verify(request, { ...opts, body: utf8('{"hello":"World"}') }), 'digest_mismatch');
    });

    it('body with a matching new Content-Digest -> bad_signature', async () => {
      const body = utf8('{"evil":true}');
      const digest = signed({ body })['Content-Digest'];
      await expectAsyncCode(verify({ ...request, 'Content-Digest': digest }, { ...opts, body }), 'bad_signature');
    });

    it('covered header -> bad_signature', async () => {
      await expectAsyncCode(verify({ ...request, 'keypears-origin': 'https://evil.example' }, opts), 'bad_signature');
    });

    it.each([
      ['created', (p: string) => p.replace(`created=${NOW}`, `created=${NOW - 1}`)],
      ['expires', (p: string) => p.replace(`expires=${NOW + 120}`, `expires=${NOW + 121}`)],
      ['nonce', (p: string) => p.replace(/nonce="[^"]+"/, 'nonce="AAAAAAAAAAAAAAAAAAAAAA"')],
      ['keyid (another known key)', (p: string) => p.replace('alice@a.example', 'mallory@a.example')],
    ])('signature parameter %s -> bad_signature', async (_, edit) => {
      const input = edit(headers['Signature-Input']);
      expect(input).not.toBe(headers['Signature-Input']);
      await expectAsyncCode(verify({ ...request, 'Signature-Input': input }, opts), 'bad_signature');
    });

    it('parameters in another order, correctly signed -> signature_malformed', async () => {
      // Every parameter present once and the signature valid over the reordered text: only the
      // order is wrong, and a verifier must refuse it rather than accept what another refuses.
      const params = headers['Signature-Input']
        .slice(3)
        .replace(/;alg="ed25519"$/, '')
        .replace(/\);/, ');alg="ed25519";');
      const digest = headers['Content-Digest'];
      const base = `"@method": POST\n"@target-uri": ${TARGET}\n"content-digest": ${digest}\n"keypears-origin": https://a.example\n"@signature-params": ${params}`;
      const signature = `kp=:${Buffer.from(ed25519Sign(utf8(base), alice.secretKey)).toString('base64')}:`;
      const reordered = { ...withParams(request, params), Signature: signature };
      await expectAsyncCode(verify(reordered, opts), 'signature_malformed');
    });

    it('any single signature byte -> bad_signature', async () => {
      const signature = Buffer.from(headers.Signature.slice(4, -1), 'base64');
      for (const index of [0, 31, 32, 63]) {
        const flipped = Buffer.from(signature);
        flipped[index] ^= 0x01;
        const header = `kp=:${flipped.toString('base64')}:`;
        await expectAsyncCode(verify({ ...request, Signature: header }, opts), 'bad_signature');
      }
    });

    it('a signature by another key under this keyid -> bad_signature', async () => {
      const forged = signRequest({ ...signedArgs(), secretKey: mallory.secretKey });
      await expectAsyncCode(verify(forged), 'bad_signature');
    });
  });

  describe('validity window', () => {
    const headers = signed({ ttlSeconds: 100 });

    it('accepts up to maxSkewSeconds after expiry, then refuses with signature_expired', async () => {
      await expect(verify(headers, { now: NOW + 100 + 60 })).resolves.toBeDefined();
      await expectAsyncCode(verify(headers, { now: NOW + 100 + 61 }), 'signature_expired');
      await expect(verify(headers, { now: NOW + 110, maxSkewSeconds: 10 })).resolves.toBeDefined();
      await expectAsyncCode(verify(headers, { now: NOW + 111, maxSkewSeconds: 10 }), 'signature_expired');
    });

    it('accepts up to maxSkewSeconds before created, then refuses with signature_future', async () => {
      await expect(verify(headers, { now: NOW - 60 })).resolves.toBeDefined();
      await expectAsyncCode(verify(headers, { now: NOW - 61 }), 'signature_future');
      await expectAsyncCode(verify(headers, { now: NOW - 1, maxSkewSeconds: 0 }), 'signature_future');
    });

    it('refuses a validity longer than 300 s, or an expiry not after creation, as signature_malformed', async () => {
      const base = signed();
      const long = PARAMS_OK.replace(`expires=${NOW + 120}`, `expires=${NOW + 301}`);
      const error = await expectAsyncCode(verify(withParams(base, long)), 'signature_malformed');
      expect(error.message).toMatch(/300 seconds/);
      await expect(
        verify(withParams(base, PARAMS_OK.replace(`expires=${NOW + 120}`, `expires=${NOW + 300}`))),
      ).rejects.toMatchObject({ code: 'bad_signature' });
      for (const expires of [NOW, NOW - 1]) {
        const input = PARAMS_OK.replace(`expires=${NOW + 120}`, `expires=${expires}`);
        await expectAsyncCode(verify(withParams(base, input)), 'signature_malformed');
      }
    });
  });

  describe('keys', () => {
    it('refuses an unknown key id with unknown_key', async () => {
      await expectAsyncCode(verify(signed({ keyId: 'nobody@a.example' })), 'unknown_key');
      await expectAsyncCode(verify(signed(), { resolveKey: async () => undefined }), 'unknown_key');
      await expectAsyncCode(verify(signed(), { resolveKey: () => new Uint8Array(31) }), 'unknown_key');
    });

    it('refuses a signature that does not match the resolved key with bad_signature', async () => {
      await expectAsyncCode(verify(signed(), { resolveKey: () => mallory.publicKey }), 'bad_signature');
    });

    it('lets errors of the key resolver through unchanged', async () => {
      const failure = new KeyPearsError('discovery_unavailable', 'discovery failed');
      await expect(verify(signed(), { resolveKey: () => Promise.reject(failure) })).rejects.toBe(failure);
    });
  });

  describe('missing or malformed headers', () => {
    const good = signed();

    it('signature_missing when Signature, Signature-Input or Content-Digest is absent', async () => {
      await expectAsyncCode(verify({}), 'signature_missing');
      await expectAsyncCode(verify({ ...good, Signature: undefined }), 'signature_missing');
      await expectAsyncCode(verify({ ...good, 'Signature-Input': undefined }), 'signature_missing');
      await expectAsyncCode(verify({ ...good, signature: [] as string[], Signature: undefined }), 'signature_missing');
      await expectAsyncCode(verify({ ...good, 'Content-Digest': undefined }), 'signature_missing');
    });

    it('digest_mismatch when Content-Digest is not a single sha-256 value', async () => {
      const digest = good['Content-Digest'];
      for (const value of [
        digest.replace('sha-256', 'sha-512'),
        `${digest}, sha-512=:AAAA:`,
        digest.replace(/=:$/, ':'),
        'sha-256=:not base64:',
      ]) {
        await expectAsyncCode(verify({ ...good, 'Content-Digest': value }), 'digest_mismatch');
      }
    });

    const sig = good.Signature;
    const malformedInputs: Array<[string, Record<string, string | string[]>]> = [
      ['duplicate label', withParams(good, `${PARAMS_OK}, kp=${PARAMS_OK}`)],
      [
        'duplicate label via repeated header',
        { ...good, 'Signature-Input': [good['Signature-Input'], good['Signature-Input']] },
      ],
      ['a second signature', { ...good, 'Signature-Input': `${good['Signature-Input']}, other=()` }],
      ['another label', { ...good, 'Signature-Input': `sig1=${PARAMS_OK}`, Signature: sig.replace('kp=', 'sig1=') }],
      ['duplicate signature label', { ...good, Signature: `${sig}, ${sig}` }],
      ['missing created', withParams(good, PARAMS_OK.replace(`;created=${NOW}`, ''))],
      ['missing expires', withParams(good, PARAMS_OK.replace(`;expires=${NOW + 120}`, ''))],
      ['missing nonce', withParams(good, PARAMS_OK.replace(/;nonce="[^"]+"/, ''))],
      ['missing keyid', withParams(good, PARAMS_OK.replace(/;keyid="[^"]+"/, ''))],
      ['missing alg', withParams(good, PARAMS_OK.replace(';alg="ed25519"', ''))],
      ['duplicate parameter', withParams(good, `${PARAMS_OK};created=${NOW}`)],
      ['unknown parameter', withParams(good, `${PARAMS_OK};tag="x"`)],
      ['boolean parameter', withParams(good, `${PARAMS_OK};flag`)],
      ['unknown alg', withParams(good, PARAMS_OK.replace('"ed25519"', '"rsa-pss-sha512"'))],
      ['alg as a token', withParams(good, PARAMS_OK.replace('"ed25519"', 'ed25519'))],
      ['fractional time', withParams(good, PARAMS_OK.replace(`created=${NOW}`, `created=${NOW}.5`))],
      ['negative time', withParams(good, PARAMS_OK.replace(`created=${NOW}`, `created=-${NOW}`))],
      ['time with leading zero', withParams(good, PARAMS_OK.replace(`created=${NOW}`, `created=0${NOW}`))],
      ['time as a string', withParams(good, PARAMS_OK.replace(`created=${NOW}`, `created="${NOW}"`))],
      ['overlong time', withParams(good, PARAMS_OK.replace(`created=${NOW}`, 'created=1234567890123456'))],
      ['nonce as an integer', withParams(good, PARAMS_OK.replace(/nonce="[^"]+"/, 'nonce=1'))],
      ['short nonce', withParams(good, PARAMS_OK.replace(/nonce="[^"]+"/, 'nonce="AAAAAAAAAAAAAAAAAAAA"'))],
      ['nonce not base64url', withParams(good, PARAMS_OK.replace(/nonce="[^"]+"/, 'nonce="AAAAAAAAAAAAAAAAAAAA+/"'))],
      ['overlong keyid', withParams(good, PARAMS_OK.replace('alice@a.example', 'a'.repeat(513)))],
      ['empty keyid', withParams(good, PARAMS_OK.replace('alice@a.example', ''))],
      ['escaped string', withParams(good, PARAMS_OK.replace('alice@a.example', 'alice\\"@a.example'))],
      ['non-ASCII string', withParams(good, PARAMS_OK.replace('alice@a.example', 'alic\u00e9@a.example'))],
      ['unterminated string', withParams(good, PARAMS_OK.replace(/;keyid=.*$/, ';keyid="alice'))],
      ['missing component', withParams(good, PARAMS_OK.replace(' "content-digest"', ''))],
      [
        'reordered components',
        withParams(good, PARAMS_OK.replace('"@method" "@target-uri"', '"@target-uri" "@method"')),
      ],
      ['extra component', withParams(good, PARAMS_OK.replace('"content-digest")', '"content-digest" "date")'))],
      ['duplicate component', withParams(good, PARAMS_OK.replace('"content-digest")', '"content-digest" "@method")'))],
      ['component with a parameter', withParams(good, PARAMS_OK.replace('"@method"', '"@method";req'))],
      ['double space', withParams(good, PARAMS_OK.replace('" "', '"  "'))],
      ['space after parameter', withParams(good, PARAMS_OK.replace(';expires', '; expires'))],
      ['no inner list', withParams(good, PARAMS_OK.replace(/^\([^)]*\)/, '"@method"'))],
      ['unclosed inner list', withParams(good, PARAMS_OK.replace(')', ''))],
      ['trailing garbage', withParams(good, `${PARAMS_OK}x`)],
      ['missing label', { ...good, 'Signature-Input': PARAMS_OK }],
      ['overlong Signature-Input', withParams(good, `${PARAMS_OK};keyid="${'a'.repeat(5000)}"`)],
      ['signature not a byte sequence', { ...good, Signature: sig.replace(/:/g, '"') }],
      ['signature of 63 bytes', { ...good, Signature: `kp=:${Buffer.alloc(63).toString('base64')}:` }],
      ['signature without padding', { ...good, Signature: sig.replace(/=+:$/, ':') }],
      ['signature with a parameter', { ...good, Signature: `${sig};x=1` }],
      ['unterminated signature', { ...good, Signature: sig.slice(0, -1) }],
      ['overlong Signature', { ...good, Signature: `kp=:${Buffer.alloc(300).toString('base64')}:` }],
      ['header with a line break', { ...good, Signature: `${sig}\r\nX-Evil: 1` }],
      ['header given in two spellings', { ...good, signature: sig }],
    ];

    it.each(malformedInputs)('%s -> signature_malformed', async (_, headers) => {
      await expectAsyncCode(verify(headers), 'signature_malformed');
    });

    it('refuses a required header that is not covered, or covered but absent', async () => {
      await expectAsyncCode(verify(good, { requiredHeaders: ['keypears-origin'] }), 'signature_malformed');
      const covering = signed({ headers: { 'keypears-origin': 'https://a.example' } });
      await expectAsyncCode(verify(covering), 'signature_malformed');
      await expectAsyncCode(verify(covering, { requiredHeaders: ['keypears-origin'] }), 'signature_malformed');
    });

    it('refuses a request target the signature base cannot carry', async () => {
      await expectAsyncCode(verify(good, { targetUri: 'https://b.example/a b' }), 'signature_malformed');
      await expectAsyncCode(verify(good, { targetUri: '/api/v1/exchanges' }), 'signature_malformed');
      await expectAsyncCode(verify(good, { method: 'PO ST' }), 'signature_malformed');
    });

    it('throws only KeyPearsError for arbitrary header values', async () => {
      const printable = fc.string({
        unit: fc.constantFrom(...'kp=()";:, -_abcdefnoritsxyz0123456789@+/\\\t'.split('')),
      });
      await fc.assert(
        fc.asyncProperty(printable, printable, async (input, signature) => {
          const error = await verify({ ...good, 'Signature-Input': input, Signature: signature }).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(KeyPearsError);
        }),
        { numRuns: 300 },
      );
    });

    it('refuses every single-character edit of valid headers, only with KeyPearsError', async () => {
      const fields = ['Signature-Input', 'Signature', 'Content-Digest'] as const;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...fields),
          fc.nat(),
          fc.constantFrom('delete', 'insert', 'replace'),
          fc.string({ minLength: 1, maxLength: 1 }),
          async (field, at, edit, ch) => {
            const value = good[field];
            const i = at % value.length;
            const edited =
              edit === 'delete'
                ? value.slice(0, i) + value.slice(i + 1)
                : value.slice(0, i) + ch + value.slice(edit === 'insert' ? i : i + 1);
            // Leading and trailing spaces are optional whitespace in HTTP: not an edit.
            fc.pre(edited.replace(/^[ \t]+|[ \t]+$/g, '') !== value);
            const error = await verify({ ...good, [field]: edited }).then(
              () => undefined,
              (e: unknown) => e,
            );
            expect(error).toBeInstanceOf(KeyPearsError);
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe('signer input checks (invalid_argument)', () => {
    it.each([
      ['method', { method: 'GET /' }],
      ['relative target URI', { targetUri: '/api' }],
      ['target URI with fragment', { targetUri: 'https://b.example/#x' }],
      ['target URI with a space', { targetUri: 'https://b.example/a b' }],
      ['non-http target URI', { targetUri: 'ftp://b.example/' }],
      ['keyId with a quote', { keyId: 'a"b' }],
      ['empty keyId', { keyId: '' }],
      ['ttl of 0', { ttlSeconds: 0 }],
      ['ttl above 300', { ttlSeconds: 301 }],
      ['fractional now', { now: 1.5 }],
      ['short nonce', { nonce: 'AAAA' }],
      ['padded nonce', { nonce: 'AAAAAAAAAAAAAAAAAAAAAA==' }],
      ['upper-case header name', { headers: { 'KeyPears-Origin': 'x' } }],
      ['signature header covered twice', { headers: { 'content-digest': 'x' } }],
      ['header value with a line break', { headers: { 'keypears-origin': 'a\nb' } }],
      ['header value with outer spaces', { headers: { 'keypears-origin': ' a' } }],
      ['body that is not bytes', { body: 'text' as unknown as Uint8Array }],
    ])('%s', (_, change) => {
      expectCode(() => signed(change), 'invalid_argument');
    });

    it('refuses a secret key of the wrong size with invalid_key', () => {
      expectCode(() => signed({ secretKey: new Uint8Array(31) }), 'invalid_key');
    });

    it('refuses bad verifier options with invalid_argument', async () => {
      await expectAsyncCode(verify(signed(), { maxSkewSeconds: -1 }), 'invalid_argument');
      await expectAsyncCode(verify(signed(), { now: Number.NaN }), 'invalid_argument');
      await expectAsyncCode(verify(signed(), { requiredHeaders: ['Signature'] }), 'invalid_argument');
    });
  });
});

describe('docs/test-vectors/http-signature.json', () => {
  const vectors = JSON.parse(
    readFileSync(new URL('../../docs/test-vectors/http-signature.json', import.meta.url), 'utf8'),
  ) as {
    cases: Array<{
      name: string;
      secretKey: string;
      publicKey: string;
      request: {
        method: string;
        targetUri: string;
        body: string;
        keyId: string;
        coveredHeaders: Record<string, string>;
        created: number;
        expires: number;
        nonce: string;
      };
      signatureBase: string;
      signature: string;
      headers: Record<string, string>;
    }>;
  };

  // Each case must be a request a node accepts as it stands: its route, query and body.
  const routes: Record<string, (url: URL, body: unknown, vector: (typeof vectors.cases)[number]) => void> = {
    'POST /api/v1/blocks': (_, body) => BlockRequestSchema.parse(body),
    'GET /api/v1/exchanges/inbox': (url) => InboxQuerySchema.parse(Object.fromEntries(url.searchParams)),
    'POST /api/v1/federation/claim': (url, body, vector) => {
      FederationClaimRequestSchema.parse(body);
      const headers = vector.request.coveredHeaders;
      expect(Object.keys(headers)).toEqual(['keypears-origin', 'keypears-destination', 'keypears-domain']);
      expect(`${url.origin}`).toBe(headers['keypears-destination']);
      expect(vector.request.keyId).toBe(toB64u(sha256(fromHex(vector.publicKey))).slice(0, 22));
    },
  };

  it.each(vectors.cases.map((c) => [c.name, c] as const))('%s is a request a node accepts', (_, vector) => {
    const url = new URL(vector.request.targetUri);
    const route = routes[`${vector.request.method} ${url.pathname}`];
    expect(route).toBeDefined();
    route(url, vector.request.body === '' ? undefined : JSON.parse(vector.request.body), vector);
  });

  it.each(vectors.cases.map((c) => [c.name, c] as const))('%s', async (_, vector) => {
    const { request } = vector;
    const secretKey = fromHex(vector.secretKey);
    expect(toHex(ed25519Keygen(secretKey).publicKey)).toBe(vector.publicKey);
    expect(ed25519Verify(fromHex(vector.signature), utf8(vector.signatureBase), fromHex(vector.publicKey))).toBe(true);
    const body = request.body === '' ? undefined : utf8(request.body);
    const headers = signRequest({
      method: request.method,
      targetUri: request.targetUri,
      body,
      keyId: request.keyId,
      secretKey,
      headers: request.coveredHeaders,
      now: request.created,
      ttlSeconds: request.expires - request.created,
      nonce: request.nonce,
    });
    expect(headers).toEqual(vector.headers);
    expect(headers.Signature).toBe(`kp=:${Buffer.from(fromHex(vector.signature)).toString('base64')}:`);
    await expect(
      verifyRequest({
        method: request.method,
        targetUri: request.targetUri,
        body,
        headers: { ...headers, ...request.coveredHeaders },
        requiredHeaders: Object.keys(request.coveredHeaders),
        now: request.created,
        resolveKey: () => fromHex(vector.publicKey),
      }),
    ).resolves.toMatchObject({ keyId: request.keyId, nonce: request.nonce });
  });
});

function signedArgs() {
  return {
    method: 'POST',
    targetUri: TARGET,
    body: BODY,
    keyId: 'alice@a.example',
    secretKey: alice.secretKey,
    now: NOW,
  };
}
