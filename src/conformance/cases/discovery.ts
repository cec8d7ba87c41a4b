/**
 * The node document (docs/discovery.md §1), the resolve API (§7), and how the node finds
 * other nodes: TXT records (§2), websites and how the two are combined (§3), node documents
 * (§3 step 4) and the outbound guard (§5), seen through `GET /api/v1/resolve/{address}`.
 * Every case that publishes records uses a domain of its own, so no cache carries an answer
 * from one case to the next.
 */
import { isValidAddress } from '../../protocol/address.js';
import { parseNodeDocument } from '../../protocol/discovery.js';
import { decodePublicIdentity } from '../../protocol/wire.js';
import type { Context } from '../context.js';
import type { SiteAnswer } from '../sites.js';
import { check, equal, expectError, expectStatus } from '../harness.js';
import { casesOf, type ConformanceCase } from './define.js';

const documentCase = casesOf('docs/discovery.md §1');
const lookupCase = casesOf('docs/discovery.md §3');
const resolveCase = casesOf('docs/discovery.md §7');

/** What a case publishes for its own fresh domain, where the peer has a user. */
interface Published {
  /** The TXT record at `_keypears.<domain>`, as character-strings (one array per record), given the peer's URL. */
  txt?: (peerUrl: string, ctx: Context) => string[][];
  /** What the domain's website answers for `/.well-known/keypears.json` (needs --well-known-port). */
  website?: (peerUrl: string, ctx: Context) => SiteAnswer;
}

/** Publishes `what` for a fresh domain listed by the peer, with one user there: that user's address. */
function publish(ctx: Context, what: Published): string {
  const domain = ctx.subdomain('d');
  ctx.peer.extraDomains.push(domain);
  if (what.txt) ctx.nameserver!.set(`_keypears.${domain}`, { txt: what.txt(ctx.peer.url, ctx) });
  if (what.website) {
    ctx.nameserver!.setA(domain, '127.0.0.1');
    ctx.sites!.set(domain, what.website(ctx.peer.url, ctx));
  }
  return ctx.peerUser('u', 1, ctx.peer, domain);
}

const record = (text: (peerUrl: string) => string) => (peerUrl: string) => [[text(peerUrl)]];
const pointer = (node: (peerUrl: string, ctx: Context) => string) => (peerUrl: string, ctx: Context) => ({
  status: 200,
  body: { protocol: 'KP1', node: node(peerUrl, ctx) },
});
const needs = (what: Published) => (what.website ? (['wellKnown'] as const) : (['nameserver'] as const));

type Section = '§1' | '§2' | '§3' | '§5';

/** The case: resolving the user of a domain that publishes `what` finds the peer by `method`. */
const found = (section: Section, name: string, what: Published, method: string) =>
  casesOf(`docs/discovery.md ${section}`)(
    `${name} -> found (method ${method})`,
    async (ctx) => {
      const address = publish(ctx, what);
      const body = expectStatus(await ctx.resolve(address), 200, 'resolve') as Record<string, unknown>;
      equal(
        [body.address, body.node, body.local, (body.discovery as { method?: unknown } | undefined)?.method],
        [address, ctx.peer.url, false, method],
        'address, node, local, discovery.method',
      );
      equal(body.identity, ctx.peer.user(address).identity, 'identity');
    },
    needs(what),
  );

/** The case: resolving the user of a domain that publishes `what` is refused with `status code`. */
const refused = (section: Section, name: string, what: Published, status: number, code: string) =>
  casesOf(`docs/discovery.md ${section}`)(
    `${name} -> ${status} ${code}`,
    async (ctx) => {
      expectError(await ctx.resolve(publish(ctx, what)), status, code, 'resolve');
    },
    needs(what),
  );

/** A host name under the peer's domain resolving to `addresses` (the suite's web server by default). */
function host(ctx: Context, ...addresses: string[]): string {
  const name = ctx.subdomain('h');
  ctx.nameserver!.setA(name, ...(addresses.length ? addresses : ['127.0.0.1']));
  return name;
}

/** A node URL on the suite's web server whose document is `answer`. */
function nodeOn(ctx: Context, answer: (url: string) => SiteAnswer): string {
  const name = host(ctx);
  const url = `http://${name}:${ctx.sites!.port}`;
  ctx.sites!.set(name, answer(url));
  return url;
}

/** The peer's node document as served from `url`, its keys changed by `keys`. */
function documentAt(ctx: Context, url: string, keys: (keys: object[]) => object[] = (k) => k) {
  const document = ctx.peer.document();
  return { status: 200, body: { ...document, node: url, keys: keys(document.keys as object[]) } };
}

/** A TXT record naming the node URL `node` makes. */
const naming = (node: (ctx: Context) => string): Published => ({ txt: (_url, ctx) => [[`v=KP1; node=${node(ctx)}`]] });

export const discoveryCases: ConformanceCase[] = [
  documentCase(
    'node document: GET /.well-known/keypears.json -> 200, protocol KP1, node is its base URL',
    async (ctx) => {
      expectStatus(ctx.documentAnswer, 200, 'GET /.well-known/keypears.json');
      check(ctx.document, `the document does not parse: ${ctx.documentError}`);
      equal(ctx.document.protocol, 'KP1', 'protocol');
      equal(ctx.document.node, ctx.node, 'node');
    },
  ),
  documentCase('node document: Cache-Control -> public, max-age=300', async (ctx) => {
    equal(ctx.documentAnswer.headers.get('cache-control'), 'public, max-age=300', 'Cache-Control');
  }),
  documentCase('node document: domains -> canonical, the domain under test among them', async (ctx) => {
    check(ctx.document, `the document does not parse: ${ctx.documentError}`);
    check(ctx.document.domains.includes(ctx.domain), `the document does not list ${ctx.domain}`);
    const odd = ctx.document.domains.filter((d) => !isValidAddress(`x@${d}`) || d !== d.toLowerCase());
    equal(odd, [], 'domains not in canonical form');
  }),
  documentCase('node document: keys -> 1 to 16, unique ids, one current key (notAfter null)', async (ctx) => {
    // parseNodeDocument holds the keys to §1 (count, unique ids, 32-byte Ed25519 keys).
    const document = parseNodeDocument(ctx.documentAnswer.json, ctx.node, { allowHttp: true });
    check(
      document.keys.some((k) => k.notAfter === null),
      'no key with notAfter null',
    );
  }),

  resolveCase('resolve: a local address -> 200, local true, method local, its verified identity', async (ctx) => {
    const alice = await ctx.alice();
    const body = expectStatus(await ctx.resolve(alice.address.toUpperCase()), 200, 'resolve') as Record<
      string,
      unknown
    >;
    equal(
      [body.address, body.node, body.local, body.discovery],
      [alice.address, ctx.node, true, { method: 'local', cached: false, stale: false }],
      'address, node, local, discovery',
    );
    decodePublicIdentity(body.identity, alice.address);
  }),
  resolveCase('resolve: a peer address -> 200, local false, the identity the peer serves', async (ctx) => {
    const address = ctx.peerUser('dana');
    const before = ctx.peer.seen.length;
    const body = expectStatus(await ctx.resolve(address), 200, 'resolve') as Record<string, unknown>;
    equal([body.address, body.node, body.local], [address, ctx.peer.url, false], 'address, node, local');
    equal(body.identity, ctx.peer.user(address).identity, 'identity');
    const asked = ctx.peer.seen.slice(before).map((r) => `${r.method} ${r.path}`);
    check(
      asked.includes(`GET ${ctx.identityPath(address)}`),
      `the peer's GET /api/v1/identities/{address} was not used (${asked.join(', ')})`,
    );
  }),
  resolveCase('resolve: an address the peer does not know -> 404 not_found', async (ctx) => {
    expectError(await ctx.resolve(`nobody${ctx.run}@${ctx.peerDomain}`), 404, 'not_found');
  }),
  resolveCase('resolve: a malformed address -> 400 invalid_address', async (ctx) => {
    expectError(await ctx.resolve('not-an-address'), 400, 'invalid_address');
  }),
  resolveCase('resolve: a peer identity whose record signature fails -> 502 peer_error', async (ctx) => {
    const address = ctx.peerUser('forged');
    const user = ctx.peer.user(address);
    user.servedIdentity = (identity) => ({
      ...identity,
      signedPrekey: { ...identity.signedPrekey, signature: user.identity.pqLastResort.signature },
    });
    expectError(await ctx.resolve(address), 502, 'peer_error');
  }),
  resolveCase('resolve: a peer answering the identity of another address -> 502 peer_error', async (ctx) => {
    const address = ctx.peerUser('swapped');
    ctx.peer.user(address).servedIdentity = () => ctx.peer.user(ctx.carol).identity;
    expectError(await ctx.resolve(address), 502, 'peer_error');
  }),

  found('§2', 'TXT record: v=KP1; node=<url>', { txt: record((url) => `v=KP1; node=${url}`) }, 'dns'),
  found('§2', 'TXT record: ending with one ";"', { txt: record((url) => `v=KP1; node=${url};`) }, 'dns'),
  found(
    '§2',
    'TXT record: spaces around ";" and at both ends',
    { txt: record((url) => `  v=KP1 ;node=${url}  `) },
    'dns',
  ),
  found(
    '§2',
    'TXT record: split into character-strings, joined',
    { txt: (url) => [['v=KP1; no', `de=${url}`]] },
    'dns',
  ),
  found('§2', 'TXT record: a node URL with a trailing "/"', { txt: record((url) => `v=KP1; node=${url}/`) }, 'dns'),
  refused(
    '§2',
    'TXT record: ending with ";;"',
    { txt: record((url) => `v=KP1; node=${url};;`) },
    502,
    'discovery_record_invalid',
  ),
  refused('§2', 'TXT record: node= empty', { txt: record(() => 'v=KP1; node=') }, 502, 'discovery_record_invalid'),
  refused(
    '§2',
    'TXT record: node before v=KP1',
    { txt: record((url) => `node=${url}; v=KP1`) },
    502,
    'discovery_record_invalid',
  ),
  refused(
    '§2',
    'TXT record: another version (v=KP2)',
    { txt: record((url) => `v=KP2; node=${url}`) },
    502,
    'discovery_record_invalid',
  ),
  refused(
    '§2',
    'TXT record: an unknown field',
    { txt: record((url) => `v=KP1; node=${url}; ttl=60`) },
    502,
    'discovery_record_invalid',
  ),
  refused(
    '§2',
    'TXT record: node twice',
    { txt: record((url) => `v=KP1; node=${url}; node=${url}`) },
    502,
    'discovery_record_invalid',
  ),
  refused(
    '§2',
    'TXT record: over 1024 characters',
    { txt: (url) => [[`v=KP1; node=${url}`, ...Array<string>(4).fill(' '.repeat(250))]] },
    502,
    'discovery_record_invalid',
  ),
  refused(
    '§2',
    'TXT record: two records',
    { txt: (url, ctx) => [[`v=KP1; node=${url}`], [`v=KP1; node=${ctx.other.url}`]] },
    502,
    'discovery_record_ambiguous',
  ),
  refused(
    '§2',
    'TXT record: two records of which one is not KeyPears',
    { txt: (url) => [[`v=KP1; node=${url}`], ['v=spf1 -all']] },
    502,
    'discovery_record_ambiguous',
  ),

  refused('§3', 'lookup: no TXT record and no website', {}, 404, 'no_node_for_domain'),
  lookupCase(
    'lookup: a node whose document does not list the domain -> 502 domain_not_listed',
    async (ctx) => {
      const domain = ctx.subdomain('unlisted');
      ctx.nameserver!.setTxt(`_keypears.${domain}`, `v=KP1; node=${ctx.peer.url}`);
      expectError(await ctx.resolve(`x@${domain}`), 502, 'domain_not_listed');
    },
    ['nameserver'],
  ),
  refused(
    '§3',
    'lookup: a node that cannot be reached',
    naming(() => 'http://127.0.0.1:9'),
    503,
    'discovery_unavailable',
  ),
  refused(
    '§3',
    'lookup: a node answering 500 for its document',
    naming((ctx) => nodeOn(ctx, () => ({ status: 500, body: 'down' }))),
    503,
    'discovery_unavailable',
  ),
  refused(
    '§3',
    'lookup: a node document that is not one',
    naming((ctx) => nodeOn(ctx, (url) => ({ status: 200, body: { protocol: 'KP1', node: url } }))),
    502,
    'node_document_invalid',
  ),
  refused(
    '§3',
    'lookup: a node document naming another node URL',
    naming((ctx) => nodeOn(ctx, () => ({ status: 200, body: ctx.peer.document() }))),
    502,
    'node_document_invalid',
  ),
  refused(
    '§1',
    'node document of a peer: 17 keys',
    naming((ctx) => nodeOn(ctx, (url) => documentAt(ctx, url, (keys) => Array<object>(17).fill(keys[0])))),
    502,
    'node_document_invalid',
  ),
  refused(
    '§1',
    'node document of a peer: two keys with one id',
    naming((ctx) =>
      nodeOn(ctx, (url) => documentAt(ctx, url, (keys) => [keys[0], { ...keys[0], notAfter: 4102444800 }])),
    ),
    502,
    'node_document_invalid',
  ),
  refused(
    '§1',
    'node document of a peer: protocol KP2',
    naming((ctx) => nodeOn(ctx, (url) => ({ status: 200, body: { ...documentAt(ctx, url).body, protocol: 'KP2' } }))),
    502,
    'node_document_invalid',
  ),
  found(
    '§3',
    'lookup: a website pointing at the node, no TXT record',
    { website: pointer((url) => url) },
    'well-known',
  ),
  found(
    '§3',
    'lookup: a TXT record and a website naming the same node',
    { txt: record((url) => `v=KP1; node=${url}`), website: pointer((url) => `${url}/`) },
    'both',
  ),
  refused(
    '§3',
    'lookup: a TXT record and a website naming different nodes',
    { txt: record((url) => `v=KP1; node=${url}`), website: pointer((_url, ctx) => ctx.other.url) },
    502,
    'discovery_conflict',
  ),
  refused(
    '§3',
    'lookup: a malformed TXT record beside a good website',
    { txt: record(() => 'v=KP1; node='), website: pointer((url) => url) },
    502,
    'discovery_record_invalid',
  ),
  found(
    '§3',
    'lookup: a good TXT record beside a website answering nonsense',
    { txt: record((url) => `v=KP1; node=${url}`), website: () => ({ status: 200, body: 'not json' }) },
    'dns',
  ),
  refused(
    '§3',
    'lookup: no TXT record, a website that is not a KeyPears document',
    { website: () => ({ status: 200, body: { protocol: 'KP9' } }) },
    502,
    'well_known_invalid',
  ),
  refused(
    '§3',
    'lookup: no TXT record, a website answering 500',
    { website: () => ({ status: 500, body: 'down' }) },
    503,
    'discovery_unavailable',
  ),

  refused(
    '§5',
    'outbound: a node URL on a link-local address',
    naming(() => 'http://169.254.169.254'),
    502,
    'destination_forbidden',
  ),
  refused(
    '§5',
    'outbound: a node host name resolving to a shared (100.64/10) address',
    naming((ctx) => `http://${host(ctx, '100.64.0.1')}`),
    502,
    'destination_forbidden',
  ),
  refused(
    '§5',
    'outbound: a node host name with an allowed and a forbidden address',
    naming((ctx) => `http://${host(ctx, '127.0.0.1', '169.254.169.254')}:${ctx.sites!.port}`),
    502,
    'destination_forbidden',
  ),
  refused(
    '§5',
    'outbound: a node document redirecting to another origin',
    naming((ctx) =>
      nodeOn(ctx, () => ({ status: 302, headers: { location: `${ctx.peer.url}/.well-known/keypears.json` } })),
    ),
    502,
    'redirect_refused',
  ),
  refused(
    '§5',
    'outbound: a node document over 64 KiB',
    naming((ctx) =>
      nodeOn(ctx, () => ({ status: 200, body: { ...ctx.peer.document(), padding: 'x'.repeat(70 * 1024) } })),
    ),
    502,
    'response_too_large',
  ),
];
