/**
 * The client exchange API (docs/protocol.md §10) between two users of the node under test:
 * bundles, initiations, the inbox, long polling, confirmations and blocks.
 */
import { randomBytes } from '../../protocol/crypto.js';
import { toB64u } from '../../protocol/encoding.js';
import { initiateExchange } from '../../protocol/exchange.js';
import { ExchangeViewSchema, InboxResponseSchema } from '../../protocol/exchange-api.js';
import { decodeBundle, PrekeyBundleSchema, type ExchangeInitiation, type PrekeyBundle } from '../../protocol/wire.js';
import { acceptExchange, exchangeSecret, refreshExchange, startExchange } from '../../sdk/exchange.js';
import type { Context, User } from '../context.js';
import { check, equal, expectError, expectStatus } from '../harness.js';
import { unixNow } from '../http.js';
import { signConfirmation } from '../messages.js';
import { casesOf, type ConformanceCase } from './define.js';

const apiCase = casesOf('docs/protocol.md §10');

/** A bundle of `to` claimed by `from` through the client API, and an initiation over it. */
async function initiationOver(
  ctx: Context,
  from: User,
  to: User,
  createdAt = unixNow(),
): Promise<{ bundle: PrekeyBundle; initiation: ExchangeInitiation }> {
  const answer = await ctx.signedAs(from, 'POST', '/api/v1/exchanges/bundle', { address: to.address });
  const bundle = PrekeyBundleSchema.parse(expectStatus(answer, 200, 'bundle'));
  const { initiation } = initiateExchange({
    self: {
      address: from.address,
      identitySecretKey: from.ks.identitySecretKey,
      identityDhSecretKey: from.ks.identityDh.secretKey,
    },
    peerBundle: decodeBundle(bundle, to.address),
    createdAt,
  });
  return { bundle, initiation };
}

const start = (ctx: Context, user: User, body: unknown) => ctx.signedAs(user, 'POST', '/api/v1/exchanges', body);

/** An exchange Alice started with a fresh user of the node, which that user then accepted. */
const accepted = (ctx: Context) =>
  ctx.once('an exchange between two users of the node, accepted', async () => {
    const [alice, responder] = await Promise.all([ctx.alice(), ctx.newUser('accepting', 1)]);
    const { id } = await startExchange(alice, responder.address);
    const summary = await acceptExchange(responder, id);
    return { alice, responder, id, summary };
  });

/** The confirmation API: `responder` posts `body` for exchange `id`. */
const confirm = (ctx: Context, user: User, id: string, body: unknown) =>
  ctx.signedAs(user, 'POST', `/api/v1/exchanges/${id}/confirmation`, body);

export const exchangeApiCases: ConformanceCase[] = [
  apiCase('exchange API: a bundle of a local address -> 200 a bundle that verifies', async (ctx) => {
    const [alice, bob] = await Promise.all([ctx.alice(), ctx.bob()]);
    const answer = await ctx.signedAs(alice, 'POST', '/api/v1/exchanges/bundle', { address: bob.address });
    equal(decodeBundle(expectStatus(answer, 200, 'bundle'), bob.address).address, bob.address, 'address');
  }),
  apiCase("exchange API: a bundle of the signer's own address -> 400 invalid_request", async (ctx) => {
    const alice = await ctx.alice();
    expectError(
      await ctx.signedAs(alice, 'POST', '/api/v1/exchanges/bundle', { address: alice.address }),
      400,
      'invalid_request',
    );
  }),
  casesOf('docs/protocol.md §1.1')(
    'exchange API: a bundle request with an address not in canonical form -> 400 invalid_request',
    async (ctx) => {
      const [alice, bob] = await Promise.all([ctx.alice(), ctx.bob()]);
      const answer = await ctx.signedAs(alice, 'POST', '/api/v1/exchanges/bundle', {
        address: bob.address.toUpperCase(),
      });
      expectError(answer, 400, 'invalid_request');
    },
  ),
  casesOf('docs/protocol.md §7')('exchange, two users of the node: both derive the same secret', async (ctx) => {
    const { alice, responder, id, summary } = await accepted(ctx);
    equal(summary.status, 'confirmed', "the responder's status");
    equal((await refreshExchange(alice, id)).status, 'confirmed', "the initiator's status");
    equal(exchangeSecret(alice.ks, id), exchangeSecret(responder.ks, id), 'secret');
  }),
  apiCase('exchange API: a new initiation -> 202 {id, status, usedLastResort}', async (ctx) => {
    const [alice, to] = await Promise.all([ctx.alice(), ctx.newUser('fresh', 1)]);
    const { bundle, initiation } = await initiationOver(ctx, alice, to);
    const answer = expectStatus(await start(ctx, alice, { initiation, bundle }), 202, 'start');
    equal(answer, { id: initiation.exchangeId, status: 'delivered', usedLastResort: false }, 'answer');
  }),
  apiCase('exchange API: the same initiation again -> 202 with the current state', async (ctx) => {
    const [alice, to] = await Promise.all([ctx.alice(), ctx.newUser('twice', 0)]);
    const { bundle, initiation } = await initiationOver(ctx, alice, to);
    const first = expectStatus(await start(ctx, alice, { initiation, bundle }), 202, 'first');
    equal(expectStatus(await start(ctx, alice, { initiation, bundle }), 202, 'again'), first, 'answer');
  }),
  apiCase('exchange API: an initiation older than 10 minutes -> 422 invalid_exchange', async (ctx) => {
    const [alice, bob] = await Promise.all([ctx.alice(), ctx.bob()]);
    const { bundle, initiation } = await initiationOver(ctx, alice, bob, unixNow() - 700);
    expectError(await start(ctx, alice, { initiation, bundle }), 422, 'invalid_exchange');
  }),
  apiCase('exchange API: an initiation dated 10 minutes ahead -> 422 invalid_exchange', async (ctx) => {
    const [alice, bob] = await Promise.all([ctx.alice(), ctx.bob()]);
    const { bundle, initiation } = await initiationOver(ctx, alice, bob, unixNow() + 600);
    expectError(await start(ctx, alice, { initiation, bundle }), 422, 'invalid_exchange');
  }),
  apiCase('exchange API: an initiation from another address than the signer -> 422 invalid_exchange', async (ctx) => {
    const [alice, bob, other] = await Promise.all([ctx.alice(), ctx.bob(), ctx.newUser('impostor', 0)]);
    const { bundle, initiation } = await initiationOver(ctx, alice, bob);
    expectError(await start(ctx, other, { initiation, bundle }), 422, 'invalid_exchange');
  }),
  apiCase(
    "exchange API: an initiation naming another signed prekey than the bundle's -> 422 invalid_exchange",
    async (ctx) => {
      const [alice, bob] = await Promise.all([ctx.alice(), ctx.bob()]);
      const { bundle, initiation } = await initiationOver(ctx, alice, bob);
      const changed = { ...initiation, signedPrekeyId: initiation.signedPrekeyId + 1 };
      expectError(await start(ctx, alice, { initiation: changed, bundle }), 422, 'invalid_exchange');
    },
  ),
  apiCase('exchange API: GET of an unknown exchange -> 404 not_found', async (ctx) => {
    const alice = await ctx.alice();
    expectError(await ctx.signedAs(alice, 'GET', `/api/v1/exchanges/${toB64u(randomBytes(16))}`), 404, 'not_found');
  }),
  casesOf('docs/errors.md')(
    'exchange API: an exchange id in the path not in canonical base64url -> 404 not_found',
    async (ctx) => {
      const alice = await ctx.alice();
      const id = `${toB64u(randomBytes(16)).slice(0, 21)}B`;
      expectError(await ctx.signedAs(alice, 'GET', `/api/v1/exchanges/${id}`), 404, 'not_found');
    },
  ),
  apiCase('exchange API: the inbox -> the waiting exchanges, oldest first', async (ctx) => {
    const [alice, bob, to] = await Promise.all([ctx.alice(), ctx.bob(), ctx.newUser('popular', 0)]);
    const first = await initiationOver(ctx, alice, to, unixNow() - 5);
    const second = await initiationOver(ctx, bob, to, unixNow() - 5);
    expectStatus(await start(ctx, alice, first), 202, 'first');
    expectStatus(await start(ctx, bob, second), 202, 'second');
    const inbox = InboxResponseSchema.parse(
      expectStatus(await ctx.signedAs(to, 'GET', '/api/v1/exchanges/inbox'), 200),
    );
    equal(
      inbox.exchanges.map((e) => e.id),
      [first.initiation.exchangeId, second.initiation.exchangeId],
      'ids in order',
    );
  }),
  apiCase('long polling: an inbox waiting 30 s -> answered when an initiation arrives', async (ctx) => {
    const [alice, to] = await Promise.all([ctx.alice(), ctx.newUser('waiting', 0)]);
    const waiting = ctx.signedAs(to, 'GET', '/api/v1/exchanges/inbox?wait=30');
    const { id } = await startExchange(alice, to.address);
    const inbox = InboxResponseSchema.parse(expectStatus(await waiting, 200, 'inbox'));
    equal(
      inbox.exchanges.map((e) => e.id),
      [id],
      'the exchange that arrived',
    );
  }),
  apiCase(
    'long polling: an exchange waiting 30 s for a change of status -> answered when it is confirmed',
    async (ctx) => {
      const [alice, to] = await Promise.all([ctx.alice(), ctx.newUser('answering', 0)]);
      const { id } = await startExchange(alice, to.address);
      const waiting = ctx.signedAs(alice, 'GET', `/api/v1/exchanges/${id}?wait=30&status=delivered`);
      await acceptExchange(to, id);
      const view = ExchangeViewSchema.parse(expectStatus(await waiting, 200, 'exchange'));
      equal(view.status, 'confirmed', 'status');
    },
  ),
  apiCase('long polling: wait=31 -> 400 invalid_request naming wait', async (ctx) => {
    const message = expectError(
      await ctx.signedAs(await ctx.alice(), 'GET', '/api/v1/exchanges/inbox?wait=31'),
      400,
      'invalid_request',
    );
    check(message.includes('wait'), `the message does not name wait: ${message}`);
  }),
  apiCase('long polling: status=unknown -> 400 invalid_request naming status', async (ctx) => {
    const alice = await ctx.alice();
    const answer = await ctx.signedAs(
      alice,
      'GET',
      `/api/v1/exchanges/${toB64u(randomBytes(16))}?wait=1&status=unknown`,
    );
    const message = expectError(answer, 400, 'invalid_request');
    check(message.includes('status'), `the message does not name status: ${message}`);
  }),
  apiCase('long polling: an unknown query parameter -> 400 invalid_request, "query: ..." naming it', async (ctx) => {
    const message = expectError(
      await ctx.signedAs(await ctx.alice(), 'GET', '/api/v1/exchanges/inbox?limit=10'),
      400,
      'invalid_request',
    );
    check(
      message.includes('query') && message.includes('limit'),
      `the message does not name the parameter: ${message}`,
    );
  }),

  apiCase('confirmation API: posted by the initiator -> 409 conflict', async (ctx) => {
    const { alice, responder, id } = await accepted(ctx);
    const confirmation = responder.ks.exchanges!.get(id)!.confirmation!;
    expectError(await confirm(ctx, alice, id, { confirmation }), 409, 'conflict');
  }),
  apiCase('confirmation API: a confirmation of another exchange -> 422 invalid_exchange', async (ctx) => {
    const { responder, id } = await accepted(ctx);
    const confirmation = { ...responder.ks.exchanges!.get(id)!.confirmation!, exchangeId: toB64u(randomBytes(16)) };
    expectError(await confirm(ctx, responder, id, { confirmation }), 422, 'invalid_exchange');
  }),
  apiCase("confirmation API: not signed by the signer's identity key -> 422 bad_signature", async (ctx) => {
    const { responder, id } = await accepted(ctx);
    const confirmation = {
      ...responder.ks.exchanges!.get(id)!.confirmation!,
      signature: toB64u(new Uint8Array(64).fill(3)),
    };
    expectError(await confirm(ctx, responder, id, { confirmation }), 422, 'bad_signature');
  }),
  apiCase('confirmation API: the same confirmation again -> 202', async (ctx) => {
    const { responder, id } = await accepted(ctx);
    const confirmation = responder.ks.exchanges!.get(id)!.confirmation!;
    equal(
      (expectStatus(await confirm(ctx, responder, id, { confirmation }), 202) as { status?: unknown }).status,
      'confirmed',
      'status',
    );
  }),
  apiCase('confirmation API: another confirmation of a confirmed exchange -> 409 conflict', async (ctx) => {
    const { responder, id } = await accepted(ctx);
    const stored = responder.ks.exchanges!.get(id)!.confirmation!;
    const other = signConfirmation({ ...stored, mac: toB64u(randomBytes(32)) }, responder.ks.identitySecretKey);
    expectError(await confirm(ctx, responder, id, { confirmation: other }), 409, 'conflict');
  }),

  apiCase('blocks: POST a domain -> 200 the list with it; DELETE -> the list without it', async (ctx) => {
    const user = await ctx.newUser('blocker', null);
    const pattern = `spam-${ctx.run}.example`;
    equal(
      expectStatus(await ctx.signedAs(user, 'POST', '/api/v1/blocks', { pattern }), 200, 'POST'),
      { blocks: [pattern] },
      'after POST',
    );
    equal(expectStatus(await ctx.signedAs(user, 'GET', '/api/v1/blocks'), 200, 'GET'), { blocks: [pattern] }, 'GET');
    const answer = await ctx.signedAs(user, 'DELETE', `/api/v1/blocks/${encodeURIComponent(pattern)}`);
    equal(expectStatus(answer, 200, 'DELETE'), { blocks: [] }, 'after DELETE');
  }),
  apiCase('blocks: a pattern not in canonical form -> 400 invalid_request', async (ctx) => {
    expectError(
      await ctx.signedAs(await ctx.alice(), 'POST', '/api/v1/blocks', { pattern: 'Spam.Example' }),
      400,
      'invalid_request',
    );
  }),
  casesOf('docs/errors.md')('blocks: DELETE of a pattern not in canonical form -> 404 not_found', async (ctx) => {
    const user = await ctx.newUser('canon', null);
    expectStatus(await ctx.signedAs(user, 'POST', '/api/v1/blocks', { pattern: 'spam.example' }), 200, 'POST');
    expectError(await ctx.signedAs(user, 'DELETE', '/api/v1/blocks/Spam.Example'), 404, 'not_found');
  }),
  apiCase('blocks: DELETE of a pattern not blocked -> 404 not_found', async (ctx) => {
    expectError(
      await ctx.signedAs(await ctx.alice(), 'DELETE', `/api/v1/blocks/never-${ctx.run}.example`),
      404,
      'not_found',
    );
  }),
];
