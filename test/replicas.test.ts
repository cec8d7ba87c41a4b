/**
 * Replicas share one database and must publish one public URL: the first node to start
 * records its KEYPEARS_PUBLIC_URL, a node started on that database with another one is
 * refused at start (`public_url_mismatch`), and the operator moves the node with
 * `admin public-url set` (docs/operators.md, "Replicas behind a balancer").
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createNode } from '../src/app.setup.js';
import { adminOn } from './support/admin-command.js';
import { startTestNode, type TestNode } from './support/test-node.js';

let t: TestNode;

beforeAll(async () => {
  t = await startTestNode({ KEYPEARS_DOMAINS: 'replica.test' });
});

afterAll(async () => {
  await t?.destroy();
});

const admin = (args: string[]) => adminOn(t, args, { KEYPEARS_DOMAINS: 'replica.test' });

describe('replicas on one database', () => {
  it('refuses to start a replica whose public URL differs from the one the database publishes', async () => {
    // A replica runs beside the first node on a PostgreSQL server; the embedded database has
    // one process, so there the second node starts after the first has stopped.
    if (t.database.embedded) await t.stop();
    const wrong = { ...t.config, port: 0, publicUrl: 'http://127.0.0.1:1' };
    await expect(createNode(wrong)).rejects.toMatchObject({
      code: 'public_url_mismatch',
      message: expect.stringContaining(
        `KEYPEARS_PUBLIC_URL is http://127.0.0.1:1, but the nodes on this database publish ${t.config.publicUrl}`,
      ),
    });
    // With the same URL, a replica starts (and the refused start left nothing holding the database).
    const replica = await createNode({ ...t.config, port: 0 });
    const document = (await (await fetch(`${replica.url}/.well-known/keypears.json`)).json()) as { node: string };
    expect(document.node).toBe(t.config.publicUrl);
    await replica.close();
    if (t.database.embedded) await t.restart();
  });

  it('moves to another public URL with admin public-url set, every replica stopped', async () => {
    await t.stop();
    expect(JSON.parse((await admin(['public-url', 'show', '--json'])).stdout)).toEqual({
      publicUrl: t.config.publicUrl,
    });
    const moved = 'https://keys.replica.test';
    const set = await admin(['public-url', 'set', `${moved}/`, '--json']);
    expect(set).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(set.stdout)).toEqual({ publicUrl: moved, previous: t.config.publicUrl });
    await expect(createNode({ ...t.config, port: 0 })).rejects.toMatchObject({ code: 'public_url_mismatch' });
    const node = await createNode({ ...t.config, port: 0, publicUrl: moved });
    const document = (await (await fetch(`${node.url}/.well-known/keypears.json`)).json()) as { node: string };
    expect(document.node).toBe(moved);
    await node.close();
    expect(await admin(['public-url', 'set', 'ftp://x'])).toMatchObject({ code: 1 });
  });
});
