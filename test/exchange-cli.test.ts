/**
 * The story of docs/cli.md with the CLI's exchange commands on loopback: a nameserver, two nodes with
 * their own databases (a.test, b.test), two keystore homes on disk. alice@a.test and
 * bob@b.test are registered and publish; Alice starts, Bob accepts; both print the same
 * secret and both exchanges end confirmed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CommandIo } from '../src/cli/command-io.js';
import {
  exchangeAcceptCommand,
  exchangeSecretCommand,
  exchangeShowCommand,
  exchangeStartCommand,
  fingerprintCommand,
  inboxCommand,
} from '../src/cli/commands/exchange.js';
import { runCli } from '../src/cli/program.js';
import { openHome } from '../src/cli/user-context.js';
import { keystorePath } from '../src/sdk/keystore.js';
import { commandIo, registerTestHome } from './support/cli.js';
import { startTestNameserver, type LoopbackNameserver } from './support/dns-server.js';
import { eventually } from './support/exchange-users.js';
import { startTestNode, type TestNode } from './support/test-node.js';

let ns: LoopbackNameserver;
let a: TestNode;
let b: TestNode;
const homes: string[] = [];
let alice: CommandIo;
let bob: CommandIo;

/** A keystore home for `address`, registered and published as `init`, `register` and `publish` leave it. */
async function home(t: TestNode, address: string): Promise<CommandIo> {
  const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'kp-home-')), 'home');
  homes.push(path.dirname(dir));
  await registerTestHome(t, address, dir);
  return commandIo(dir, { KEYPEARS_DEV: '1', KEYPEARS_DNS_SERVERS: ns.address });
}

beforeAll(async () => {
  ns = await startTestNameserver();
  const env = { KEYPEARS_DNS_SERVERS: ns.address, KEYPEARS_OUTBOX_POLL_MS: '50' };
  [a, b] = await Promise.all([
    startTestNode({ ...env, KEYPEARS_DOMAINS: 'a.test' }),
    startTestNode({ ...env, KEYPEARS_DOMAINS: 'b.test' }),
  ]);
  ns.setTxt('_keypears.a.test', `v=KP1; node=${a.config.publicUrl}`);
  ns.setTxt('_keypears.b.test', `v=KP1; node=${b.config.publicUrl}`);
  [alice, bob] = await Promise.all([home(a, 'alice@a.test'), home(b, 'bob@b.test')]);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy(), ns?.stop()]);
  await Promise.all(homes.map((h) => rm(h, { recursive: true, force: true })));
});

describe('keypears exchange commands', () => {
  it('end to end: start, inbox, accept, show, secret, fingerprint', async () => {
    const started = await exchangeStartCommand(alice, 'bob@b.test', {});
    expect(started.json).toMatchObject({ status: 'pending', peer: 'bob@b.test' });
    const id = started.json.id as string;
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);

    const inbox = await eventually(async () => {
      const { json } = await inboxCommand(bob);
      const list = json.exchanges as Array<{ id: string; from: string }>;
      return list.length > 0 ? list : undefined;
    });
    expect(inbox).toEqual([expect.objectContaining({ id, from: 'alice@a.test' })]);

    expect((await exchangeAcceptCommand(bob, id)).json).toMatchObject({
      id,
      status: 'confirmed',
      peer: 'alice@a.test',
    });
    const shown = await eventually(async () => {
      const { json } = await exchangeShowCommand(alice, id);
      return json.status === 'confirmed' ? json : undefined;
    });
    expect(shown).toMatchObject({ id, status: 'confirmed', peer: 'bob@b.test' });
    expect((await exchangeShowCommand(bob, id)).json).toMatchObject({ id, status: 'confirmed', peer: 'alice@a.test' });

    const secretA = (await exchangeSecretCommand(alice, id)).json.secret;
    const secretB = (await exchangeSecretCommand(bob, id)).json.secret;
    expect(secretA).toMatch(/^[0-9a-f]{64}$/);
    expect(secretB).toBe(secretA);

    const fa = await fingerprintCommand(alice, 'bob@b.test');
    const fb = await fingerprintCommand(bob, 'alice@a.test');
    expect(fa.json.safetyNumber).toMatch(/^\d{5}( \d{5}){11}$/);
    expect(fb.json.safetyNumber).toBe(fa.json.safetyNumber);

    for (const io of [alice, bob]) expect((await stat(keystorePath(io.home))).mode & 0o777).toBe(0o600);
  });

  it('exchange start --wait follows the exchange until it is confirmed, showing progress', async () => {
    const lines: string[] = [];
    const human: CommandIo = { ...alice, json: false, progress: (text) => lines.push(text) };
    const waiting = exchangeStartCommand(human, 'bob@b.test', { wait: true, timeout: '30' });
    const id = await eventually(async () => {
      const { json } = await inboxCommand(bob);
      return (json.exchanges as Array<{ id: string }>)[0]?.id;
    });
    await exchangeAcceptCommand(bob, id);
    const done = await waiting;
    expect(done.json).toMatchObject({ id, status: 'confirmed' });
    expect(done.json.elapsedMs).toEqual(expect.any(Number));
    expect(done.text).toContain('confirmed');
    expect(lines.some((l) => l.includes('waiting for bob@b.test'))).toBe(true);
    expect((await openHome(alice)).ks.exchanges?.get(id)?.status).toBe('confirmed');
  });

  it('inbox --wait waits for an incoming exchange, showing progress', async () => {
    for (const e of (await inboxCommand(bob)).json.exchanges as Array<{ id: string }>) {
      await exchangeAcceptCommand(bob, e.id);
    }
    const lines: string[] = [];
    const human: CommandIo = { ...bob, json: false, progress: (text) => lines.push(text) };
    const waiting = inboxCommand(human, { wait: '60' });
    await eventually(async () => (lines.length > 0 ? true : undefined));
    const { json } = await exchangeStartCommand(alice, 'bob@b.test', {});
    const { text } = await waiting;
    expect(text).toContain(`${json.id as string}  from alice@a.test`);
    expect(lines[0]).toMatch(/waiting for an incoming exchange \(\d+ s left\)/);
    await exchangeAcceptCommand(bob, json.id as string);
    await expect(inboxCommand(bob, { wait: '1' })).resolves.toMatchObject({ json: { exchanges: [] } });
    for (const wait of ['x', '-1', '1.5', '86401']) {
      await expect(inboxCommand(bob, { wait })).rejects.toMatchObject({ code: 'invalid_argument' });
    }
  });

  it('the wait spinner redraws one line in place instead of printing a line per frame', async () => {
    let stderr = '';
    const code = await runCli(['--home', bob.home, 'inbox', '--wait', '2'], {
      env: bob.env,
      stdout: { write: () => true },
      stderr: { write: (s: string) => (stderr += s) },
    });
    expect(code).toBe(0);
    // About 8 frames in 2 s, each after a carriage return; no new line at all.
    expect(stderr.split('\r').length).toBeGreaterThan(4);
    expect(stderr).not.toContain('\n');
    expect(stderr).toContain('waiting for an incoming exchange');
  });

  it('exchange start --wait gives up after the timeout with a clear error', async () => {
    await expect(exchangeStartCommand(alice, 'bob@b.test', { wait: true, timeout: '1' })).rejects.toMatchObject({
      code: 'not_confirmed',
    });
  });

  it('exchange start --wait --json prints the exchange it gave up on in details.result', async () => {
    let stdout = '';
    const code = await runCli(
      ['--home', alice.home, '--json', 'exchange', 'start', 'bob@b.test', '--wait', '--timeout', '1'],
      {
        env: alice.env,
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: () => true },
      },
    );
    expect(code).toBe(1);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toEqual({
      error: {
        code: 'not_confirmed',
        message: expect.stringMatching(/after 1 s/),
        details: {
          result: {
            id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
            status: 'delivered',
            peer: 'bob@b.test',
            role: 'initiator',
            usedLastResort: expect.any(Boolean),
            elapsedMs: expect.any(Number),
          },
        },
      },
    });
  });

  it('exchange secret refuses an exchange that is not confirmed', async () => {
    const { json } = await exchangeStartCommand(alice, 'bob@b.test', {});
    await expect(exchangeSecretCommand(alice, json.id as string)).rejects.toMatchObject({ code: 'not_confirmed' });
  });
});
