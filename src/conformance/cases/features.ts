/**
 * Versions and features (docs/protocol.md §11): a node that announces no feature ignores a
 * feature's request header and answers the base objects; a node that announces key
 * transparency marks the answers that vary on it. Readers ignore node document members they
 * do not know, so the node federates with a peer whose document has some.
 */
import { PrekeyBundleSchema, PublicIdentitySchema } from '../../protocol/wire.js';
import type { Context } from '../context.js';
import { check, equal, expectStatus } from '../harness.js';
import { send, type Answer } from '../http.js';
import { FEDERATION_CLAIM } from '../peer.js';
import { casesOf, type ConformanceCase } from './define.js';

const featureCase = casesOf('docs/protocol.md §11');
const KT = { 'KeyPears-KT-Known': '12' };

/** Whether the node under test announces key transparency (its document has the member). */
const announcesKt = (ctx: Context) => {
  const document = ctx.documentAnswer.json;
  return document !== null && typeof document === 'object' && 'transparency' in document;
};

/**
 * The answer to a request that carried the header: from a node that does not announce the
 * feature, the base object (its strict schema); from one that does, marked `Vary`.
 */
function checkOptedIn(ctx: Context, answer: Answer, schema: { parse(json: unknown): unknown }): void {
  expectStatus(answer, 200);
  if (announcesKt(ctx)) {
    check(
      /keypears-kt-known/i.test(answer.headers.get('vary') ?? ''),
      'the answer does not say Vary: KeyPears-KT-Known',
    );
  } else {
    schema.parse(answer.json);
  }
}

export const featureCases: ConformanceCase[] = [
  featureCase('features: KeyPears-KT-Known on a lookup -> the base identity, byte for byte', async (ctx) => {
    const path = ctx.identityPath((await ctx.alice()).address);
    const asked = await send(ctx.api(path), { headers: KT });
    checkOptedIn(ctx, asked, PublicIdentitySchema);
    if (!announcesKt(ctx)) equal(asked.text, (await send(ctx.api(path))).text, 'the answer with the header');
  }),
  featureCase('features: KeyPears-KT-Known on a claim -> a base PrekeyBundle', async (ctx) => {
    const [alice, bob] = await Promise.all([ctx.alice(), ctx.bob()]);
    const answer = await ctx.signedAs(alice, 'POST', `${ctx.identityPath(bob.address)}/claim`, undefined, {}, KT);
    checkOptedIn(ctx, answer, PrekeyBundleSchema);
  }),
  featureCase('features: KeyPears-KT-Known on POST /api/v1/exchanges/bundle -> a base PrekeyBundle', async (ctx) => {
    const [alice, bob] = await Promise.all([ctx.alice(), ctx.bob()]);
    const answer = await ctx.signedAs(alice, 'POST', '/api/v1/exchanges/bundle', { address: bob.address }, {}, KT);
    checkOptedIn(ctx, answer, PrekeyBundleSchema);
  }),
  featureCase('features: KeyPears-KT-Known on a federation claim -> a base PrekeyBundle', async (ctx) => {
    const bob = await ctx.bob();
    const answer = await ctx.peer.post(
      FEDERATION_CLAIM,
      { requester: ctx.carol, address: bob.address },
      { headers: KT },
    );
    checkOptedIn(ctx, answer, PrekeyBundleSchema);
  }),
  featureCase(
    'features: a peer document with members the node does not know (a future feature, ...) -> still used',
    async (ctx) => {
      const document = ctx.peer.document();
      check(
        'conformanceFutureFeature' in document && 'conformanceUnknownMember' in document,
        'the peer document lacks its unknown members',
      );
      const address = ctx.peerUser('featured');
      const body = expectStatus(await ctx.resolve(address), 200, 'resolve of a peer user') as Record<string, unknown>;
      equal(body.node, ctx.peer.url, 'node');
    },
  ),
];
