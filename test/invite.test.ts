/**
 * Registration by invite: tokens minted by the operator command, single use, expiring, bound
 * to a domain, and only their hash stored.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InviteRepository } from '../src/accounts/invite.repository.js';
import { runAdmin } from '../src/admin/admin-program.js';
import { PrismaService } from '../src/database/prisma.service.js';
import { inviteTokenHash, InviteService } from '../src/accounts/invite.service.js';
import { buildRegistration, createKeystore } from '../src/sdk/identity.js';
import { MovableClock } from './support/movable-clock.js';
import { startTestNode, type TestNode } from './support/test-node.js';

/** The node's and the operator command's clock. */
const clock = new MovableClock(Date.now());
let t: TestNode;

beforeAll(async () => {
  t = await startTestNode({ KEYPEARS_DOMAINS: 'a.example,b.example', KEYPEARS_REGISTRATION: 'invite' }, { clock });
});

afterAll(async () => {
  await t?.destroy();
});

async function register(address: string, invite?: string): Promise<{ status: number; code?: string }> {
  const ks = createKeystore(address, t.config.publicUrl, clock.unixSeconds());
  const res = await fetch(`${t.url}/api/v1/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(buildRegistration(ks, clock.unixSeconds(), invite)),
  });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code };
}

const invites = () => t.node.app.get(InviteService);

function capture() {
  const out = { stdout: '', stderr: '' };
  const io = {
    stdout: { write: (s: string) => (out.stdout += s) },
    stderr: { write: (s: string) => (out.stderr += s) },
  };
  return { out, io };
}

describe('invite-only registration', () => {
  it('requires an invite', async () => {
    expect(await register('ann@a.example')).toEqual({ status: 403, code: 'invite_required' });
  });

  it('accepts a fresh invite once', async () => {
    const { token } = await invites().create('a.example');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await register('ann@a.example', token)).toEqual({ status: 201, code: undefined });
    expect(await register('ben@a.example', token)).toEqual({ status: 403, code: 'invalid_invite' });
  });

  it('refuses an unknown, expired or other-domain invite', async () => {
    expect(await register('cat@a.example', 'not-a-real-invite')).toEqual({ status: 403, code: 'invalid_invite' });
    const expired = 'expired-invite-token';
    await t.node.app.get(InviteRepository).create({
      tokenHash: inviteTokenHash(expired),
      domain: 'a.example',
      createdAt: new Date(clock.now().getTime() - 7200_000),
      expiresAt: new Date(clock.now().getTime() - 1),
    });
    expect(await register('cat@a.example', expired)).toEqual({ status: 403, code: 'invalid_invite' });
    const { token } = await invites().create('b.example');
    expect(await register('cat@a.example', token)).toEqual({ status: 403, code: 'invalid_invite' });
    expect(await register('cat@b.example', token)).toEqual({ status: 201, code: undefined });
  });

  it('does not spend an invite on a registration that fails', async () => {
    const { token } = await invites().create('a.example');
    expect(await register('ann@a.example', token)).toEqual({ status: 409, code: 'address_taken' });
    expect(await register('dan@a.example', token)).toEqual({ status: 201, code: undefined });
  });

  it('stores only the SHA-256 of a token', async () => {
    const { token } = await invites().create('a.example');
    const rows = await t.node.app.get(PrismaService).invite.findMany();
    expect(rows.some((r) => r.tokenHash === inviteTokenHash(token))).toBe(true);
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('refuses invites for domains the node does not serve', async () => {
    await expect(invites().create('elsewhere.example')).rejects.toMatchObject({ code: 'domain_not_served' });
  });
});

describe('npm run admin -- invite create', () => {
  const env = () => ({
    KEYPEARS_DOMAINS: 'a.example,b.example',
    KEYPEARS_DATA_DIR: t.config.dataDir,
    LOG_LEVEL: 'silent',
    ...(t.config.databaseUrl ? { DATABASE_URL: t.config.databaseUrl } : {}),
  });

  it('mints a working invite while the node runs, and prints it as JSON', async () => {
    // On the embedded database the command joins the running node's database through its socket.
    const { out, io } = capture();
    const code = await runAdmin(['invite', 'create', '--domain', 'A.Example', '--ttl', '2h', '--json'], {
      env: env(),
      clock,
      ...io,
    });
    expect(out.stderr).toBe('');
    expect(code).toBe(0);
    const printed = JSON.parse(out.stdout) as { token: string; domain: string; expiresAt: string };
    expect(printed.domain).toBe('a.example');
    expect(Date.parse(printed.expiresAt)).toBe(clock.now().getTime() + 7200_000);
    // Valid until then, and not a moment longer.
    clock.advance(7200_000);
    expect(await register('eve@a.example', printed.token)).toEqual({ status: 403, code: 'invalid_invite' });
    clock.advance(-1);
    expect(await register('eve@a.example', printed.token)).toEqual({ status: 201, code: undefined });
  });

  it('explains its usage and fails clearly on bad input', async () => {
    const help = capture();
    expect(await runAdmin(['invite', 'create', '--help'], { env: env(), ...help.io })).toBe(0);
    expect(help.out.stdout).toContain('--domain');
    const missing = capture();
    expect(await runAdmin(['invite', 'create'], { env: env(), ...missing.io })).not.toBe(0);
    expect(missing.out.stderr).toContain('--domain');
    const badTtl = capture();
    expect(
      await runAdmin(['invite', 'create', '--domain', 'a.example', '--ttl', '1y'], { env: env(), ...badTtl.io }),
    ).not.toBe(0);
    expect(badTtl.out.stderr).toMatch(/duration/);
  });
});
