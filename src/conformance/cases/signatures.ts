/**
 * Signed client requests (docs/protocol.md §6, docs/key-directory.md "Signed requests"): the
 * profile a verifier holds every signature to, the window, the digest, the key and replays.
 * The profile cases sign their deviation correctly, so only the profile check refuses them.
 */
import { createHash } from 'node:crypto';
import { ed25519Keygen } from '../../protocol/crypto.js';
import { profileParams, type Context, type RawRequest } from '../context.js';
import { expectError, expectStatus } from '../harness.js';
import { contentDigest, freshNonce, send, signed, unixNow } from '../http.js';
import { casesOf, type ConformanceCase } from './define.js';

const profileCase = casesOf('docs/protocol.md §6');
const requestCase = casesOf('docs/key-directory.md, Signed requests');

const ME = '/api/v1/accounts/me';

/** `GET /api/v1/accounts/me` by Alice, its signature made by hand as `request` says. */
async function rawMe(ctx: Context, request: Partial<RawRequest> = {}) {
  const alice = await ctx.alice();
  return ctx.rawSignedAs(alice, { method: 'GET', path: ME, ...request });
}

const malformed = (name: string, request: (ctx: Context, keyId: string) => Partial<RawRequest>) =>
  profileCase(`signatures: ${name} -> 401 signature_malformed`, async (ctx) => {
    const alice = await ctx.alice();
    expectError(await rawMe(ctx, request(ctx, alice.address)), 401, 'signature_malformed');
  });

/** The three base components of a GET of /me, as the profile lists them. */
const baseComponents = (ctx: Context): Array<[string, string]> => [
  ['@method', 'GET'],
  ['@target-uri', ctx.api(ME)],
  ['content-digest', contentDigest('')],
];

export const signatureCases: ConformanceCase[] = [
  profileCase('signatures: a request signed under the profile -> accepted', async (ctx) => {
    expectStatus(await rawMe(ctx), 200, 'GET /me');
  }),
  requestCase('signatures: the same nonce twice -> 401 replayed_request', async (ctx) => {
    const alice = await ctx.alice();
    const nonce = freshNonce();
    expectStatus(await ctx.signedAs(alice, 'GET', ME, undefined, { nonce }), 200, 'first use');
    expectError(await ctx.signedAs(alice, 'GET', ME, undefined, { nonce }), 401, 'replayed_request', 'second use');
  }),
  profileCase('signatures: expired 280 s ago -> 401 signature_expired', async (ctx) => {
    const alice = await ctx.alice();
    expectError(await ctx.signedAs(alice, 'GET', ME, undefined, { now: unixNow() - 400 }), 401, 'signature_expired');
  }),
  profileCase('signatures: created 200 s ahead -> 401 signature_future', async (ctx) => {
    const alice = await ctx.alice();
    expectError(await ctx.signedAs(alice, 'GET', ME, undefined, { now: unixNow() + 200 }), 401, 'signature_future');
  }),
  profileCase('signatures: created 30 s ahead (within the 60 s skew) -> accepted', async (ctx) => {
    const alice = await ctx.alice();
    expectStatus(await ctx.signedAs(alice, 'GET', ME, undefined, { now: unixNow() + 30 }), 200);
  }),
  profileCase('signatures: expired 30 s ago (within the 60 s skew) -> accepted', async (ctx) => {
    const alice = await ctx.alice();
    expectStatus(await ctx.signedAs(alice, 'GET', ME, undefined, { now: unixNow() - 150, ttlSeconds: 120 }), 200);
  }),
  requestCase('signatures: signed for another node -> 401 request_signature_invalid', async (ctx) => {
    const alice = await ctx.alice();
    const answer = await ctx.signedAs(alice, 'GET', ME, undefined, { targetUri: `https://another-node.example${ME}` });
    expectError(answer, 401, 'request_signature_invalid');
  }),
  requestCase('signatures: signed with another key -> 401 request_signature_invalid', async (ctx) => {
    const alice = await ctx.alice();
    const answer = await ctx.signedAs(alice, 'GET', ME, undefined, { secretKey: ed25519Keygen().secretKey });
    expectError(answer, 401, 'request_signature_invalid');
  }),
  requestCase(
    'signatures: a key id that is no account of the node -> 401 request_signature_invalid, as a wrong key',
    async (ctx) => {
      const alice = await ctx.alice();
      const answer = await ctx.signedAs(alice, 'GET', ME, undefined, { keyId: ctx.local('nobody') });
      expectError(answer, 401, 'request_signature_invalid');
    },
  ),
  casesOf('docs/protocol.md §1.1')(
    'signatures: a key id that is the address in another spelling -> 401 request_signature_invalid',
    async (ctx) => {
      const alice = await ctx.alice();
      const answer = await ctx.signedAs(alice, 'GET', ME, undefined, { keyId: alice.address.toUpperCase() });
      expectError(answer, 401, 'request_signature_invalid');
    },
  ),
  requestCase('signatures: the body changed -> 401 digest_mismatch', async (ctx) => {
    const alice = await ctx.alice();
    const url = ctx.api('/api/v1/blocks');
    const request = signed('POST', url, '{"pattern":"x.example"}', {
      keyId: alice.address,
      secretKey: alice.ks.identitySecretKey,
    });
    expectError(await send(url, { ...request, body: '{"pattern":"y.example"}' }), 401, 'digest_mismatch');
  }),
  profileCase('signatures: the query changed -> 401 request_signature_invalid', async (ctx) => {
    const alice = await ctx.alice();
    const url = ctx.api('/api/v1/exchanges/inbox');
    const request = signed('GET', url, undefined, { keyId: alice.address, secretKey: alice.ks.identitySecretKey });
    expectError(await send(`${url}?wait=0`, request), 401, 'request_signature_invalid');
  }),
  profileCase('signatures: signed for another method -> 401 request_signature_invalid', async (ctx) => {
    expectError(await rawMe(ctx, { signedMethod: 'DELETE' }), 401, 'request_signature_invalid');
  }),
  profileCase('signatures: a Content-Digest of another algorithm -> 401 digest_mismatch', async (ctx) => {
    const digest = `sha-512=:${createHash('sha512').update('').digest('base64')}:`;
    const components: Array<[string, string]> = [...baseComponents(ctx).slice(0, 2), ['content-digest', digest]];
    const answer = await rawMe(ctx, { components, headers: { 'Content-Digest': digest } });
    expectError(answer, 401, 'digest_mismatch');
  }),
  malformed('parameters in another order (alg before created)', (_ctx, keyId) => ({
    params: `;alg="ed25519";created=${unixNow()};expires=${unixNow() + 120};nonce="${freshNonce()}";keyid="${keyId}"`,
  })),
  malformed('a label other than kp', () => ({ label: 'sig1' })),
  malformed('alg other than ed25519', (_ctx, keyId) => ({
    params: profileParams(keyId).replace('alg="ed25519"', 'alg="hmac-sha256"'),
  })),
  malformed('no nonce parameter', (_ctx, keyId) => ({
    params: `;created=${unixNow()};expires=${unixNow() + 120};keyid="${keyId}";alg="ed25519"`,
  })),
  malformed('an unknown parameter', (_ctx, keyId) => ({ params: `${profileParams(keyId)};tag="kp"` })),
  malformed('the components in another order', (ctx) => ({
    components: [baseComponents(ctx)[1], baseComponents(ctx)[0], baseComponents(ctx)[2]],
  })),
  malformed('content-digest not covered', (ctx) => ({ components: baseComponents(ctx).slice(0, 2) })),
  malformed('an extra covered header', (ctx) => ({
    components: [...baseComponents(ctx), ['keypears-origin', 'https://x.example']],
    headers: { 'keypears-origin': 'https://x.example' },
  })),
  malformed('expires - created over 300 s', (_ctx, keyId) => ({
    params: profileParams(keyId, unixNow(), unixNow() + 301),
  })),
  malformed('expires equal to created', (_ctx, keyId) => ({ params: profileParams(keyId, unixNow(), unixNow()) })),
  malformed('a nonce of 8 bytes', (_ctx, keyId) => ({
    params: profileParams(keyId, unixNow(), unixNow() + 120, freshNonce(8)),
  })),
  malformed('created with a leading zero', (_ctx, keyId) => ({
    params: profileParams(keyId).replace(';created=', ';created=0'),
  })),
  profileCase('signatures: a Signature of 63 bytes -> 401 signature_malformed', async (ctx) => {
    const signature = `kp=:${Buffer.alloc(63, 1).toString('base64')}:`;
    expectError(await rawMe(ctx, { headers: { Signature: signature } }), 401, 'signature_malformed');
  }),
  profileCase('signatures: no Signature header -> 401 signature_missing', async (ctx) => {
    const alice = await ctx.alice();
    const request = signed('GET', ctx.api(ME), undefined, {
      keyId: alice.address,
      secretKey: alice.ks.identitySecretKey,
    });
    delete request.headers!.Signature;
    expectError(await send(ctx.api(ME), request), 401, 'signature_missing');
  }),
  profileCase('signatures: no Content-Digest header -> 401 signature_missing', async (ctx) => {
    const alice = await ctx.alice();
    const request = signed('GET', ctx.api(ME), undefined, {
      keyId: alice.address,
      secretKey: alice.ks.identitySecretKey,
    });
    delete request.headers!['Content-Digest'];
    expectError(await send(ctx.api(ME), request), 401, 'signature_missing');
  }),
];
