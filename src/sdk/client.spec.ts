/**
 * How the SDK's node client reads answers that are not what it asked for: error answers (a
 * code of this protocol, or anything else a node may send) and oversized bodies. Against a
 * server on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startLoopbackHttp, type LoopbackHttp } from '../../test/support/loopback-http.js';
import { NodeClient } from './client.js';

/** What the server answers next: status, headers and body. */
let next: { status: number; headers?: Record<string, string>; body: string | Buffer };
let server: LoopbackHttp;
let client: NodeClient;

beforeAll(async () => {
  server = await startLoopbackHttp((_req, res) => {
    res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
    res.end(next.body);
  });
  client = new NodeClient({ baseUrl: server.url, allowInsecureHttp: true });
});

afterAll(() => server?.close());

const failure = (answer: typeof next) => {
  next = answer;
  return client.lookup('bob@b.example').then(
    () => {
      throw new Error('expected the lookup to fail');
    },
    (e: unknown) => e,
  );
};
const errorBody = (code: unknown, message: unknown) => JSON.stringify({ error: { code, message } });

describe('NodeClient error answers', () => {
  it('keeps a documented code with its status and Retry-After', async () => {
    const e = await failure({ status: 429, headers: { 'retry-after': '7' }, body: errorBody('rate_limited', 'slow') });
    expect(e).toMatchObject({ code: 'rate_limited', message: 'slow', details: { status: 429, retryAfterSeconds: 7 } });
  });

  it('takes no other code as its own: peer_error, with the code the node sent as data', async () => {
    for (const code of ['no_such_code', 'invalid_config', 'not_confirmed']) {
      const e = await failure({ status: 400, body: errorBody(code, 'whatever') });
      expect(e).toMatchObject({ code: 'peer_error', details: { status: 400, peerCode: code } });
    }
  });

  it('reports a malformed or missing error body by its status', async () => {
    for (const body of [errorBody('Not Snake', 'x'), errorBody(7, 'x'), '<html>', '']) {
      const e = await failure({ status: 503, body });
      expect(e).toMatchObject({ code: 'peer_error', message: 'the node answered HTTP 503', details: { status: 503 } });
    }
  });

  it('replaces control characters of a foreign message and cuts it short', async () => {
    const e = (await failure({
      status: 404,
      body: errorBody('not_found', `\u001b[31mred\u202e${'x'.repeat(1000)}`),
    })) as Error;
    expect(e.message.startsWith('?[31mred?x')).toBe(true);
    expect(e.message.length).toBe(300);
  });

  it('refuses an answer over 1 MiB, announced or not', async () => {
    const big = Buffer.alloc(1024 * 1024 + 1, 0x20);
    const announced = { 'content-length': String(big.length) };
    expect(await failure({ status: 200, headers: announced, body: big })).toMatchObject({ code: 'invalid_response' });
    const chunked = { 'transfer-encoding': 'chunked' };
    expect(await failure({ status: 200, headers: chunked, body: big })).toMatchObject({ code: 'invalid_response' });
  });
});
