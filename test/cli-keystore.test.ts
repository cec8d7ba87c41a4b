/**
 * The keystore's passphrase through the `keypears` CLI, in-process with no node (init with
 * --node does not contact it): sealing at init, a wrong passphrase (nothing changed), no
 * passphrase and no terminal, the prompt, an empty passphrase only when asked for, changing
 * the passphrase, whoami, and a version 1 keystore (as clients wrote it before) upgraded at
 * its first use.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFile, chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { saveKeystore, unlockKeystore } from '../src/sdk/keystore.js';
import { runKeypears, TEST_PASSPHRASE, TEST_SCRYPT } from './support/cli.js';

let root: string;
const NODE = 'http://127.0.0.1:9';
/** An exchange id no keystore here holds. */
const NOPE = 'NOPENOPENOPENOPENOPENO';
const env = (extra: Record<string, string> = {}) => ({ HOME: root, KEYPEARS_DEV: '1', ...extra });
const withPass = (passphrase = TEST_PASSPHRASE, extra: Record<string, string> = {}) =>
  env({ KEYPEARS_PASSPHRASE: passphrase, ...extra });
const keystoreText = (home: string) => readFile(path.join(home, 'keystore.json'), 'utf8');

/** A terminal that answers `answers` in turn, recording the questions. */
function terminal(...answers: string[]) {
  const questions: string[] = [];
  return {
    questions,
    prompt: async (q: string) => {
      questions.push(q);
      const answer = answers.shift();
      if (answer === undefined) throw new Error(`unexpected question ${q}`);
      return answer;
    },
  };
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'kp-cli-ks-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('the passphrase', () => {
  let home: string;
  beforeAll(() => {
    home = path.join(root, 'alice');
  });

  it('init seals the keystore under KEYPEARS_PASSPHRASE: no secret in the file', async () => {
    const run = await runKeypears(['--home', home, '--json', 'init', 'alice@a.test', '--node', NODE], withPass());
    expect(run.code).toBe(0);
    const text = await keystoreText(home);
    expect(JSON.parse(text)).toMatchObject({
      format: 'keypears-keystore',
      version: 2,
      address: 'alice@a.test',
      kdf: { name: 'scrypt' },
      cipher: { name: 'xchacha20-poly1305' },
    });
    expect(text).not.toMatch(/secretKey|ed25519SecretKey|oneTimePrekeys/);
  });

  it('whoami needs no passphrase', async () => {
    const run = await runKeypears(['--home', home, '--json', 'whoami'], env());
    expect(run.json).toMatchObject({ address: 'alice@a.test', node: NODE, encrypted: true, emptyPassphrase: false });
    expect(run.json.fingerprint).toMatch(/^[0-9a-f]{4}( [0-9a-f]{4}){7}$/);
  });

  it('a wrong passphrase is a clear error and changes nothing', async () => {
    const before = await keystoreText(home);
    const run = await runKeypears(['--home', home, '--json', 'exchange', 'secret', NOPE], withPass('not it'));
    expect(run.code).toBe(1);
    expect(run.json).toEqual({
      error: { code: 'wrong_passphrase', message: expect.stringMatching(/nothing was changed/) },
    });
    expect(run.stderr).toMatch(/passphrase does not open this keystore/);
    expect(await keystoreText(home)).toBe(before);
  });

  it('without KEYPEARS_PASSPHRASE and without a terminal it says how to give one', async () => {
    const run = await runKeypears(['--home', home, '--json', 'exchange', 'secret', NOPE], env());
    expect(run.json).toMatchObject({ error: { code: 'passphrase_required' } });
    expect(run.stderr).toMatch(/run on a terminal, or set KEYPEARS_PASSPHRASE/);
  });

  it('asks on the terminal when there is one', async () => {
    const tty = terminal(TEST_PASSPHRASE);
    const run = await runKeypears(['--home', home, '--json', 'exchange', 'secret', NOPE], env(), tty);
    expect(tty.questions).toEqual(['passphrase for alice@a.test: ']);
    expect(run.json).toMatchObject({ error: { code: 'not_found' } });
  });

  it('a new passphrase on the terminal is typed twice', async () => {
    const other = path.join(root, 'bob');
    const differ = terminal('one', 'two');
    const refused = await runKeypears(['--home', other, 'init', 'bob@a.test', '--node', NODE], env(), differ);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/the two passphrases differ/);
    const same = terminal('s3cret', 's3cret');
    expect((await runKeypears(['--home', other, 'init', 'bob@a.test', '--node', NODE], env(), same)).code).toBe(0);
    expect(same.questions).toEqual(['new passphrase for bob@a.test: ', 'the same passphrase again: ']);
    expect((await runKeypears(['--home', other, 'exchange', 'secret', NOPE], withPass('s3cret'))).stderr).toMatch(
      /no exchange NOPENOPE/,
    );
  });

  it('keypears passphrase changes it; a wrong current passphrase changes nothing', async () => {
    const before = await keystoreText(home);
    const wrong = await runKeypears(
      ['--home', home, '--json', 'passphrase'],
      withPass('not it', { KEYPEARS_NEW_PASSPHRASE: 'new one' }),
    );
    expect(wrong.json).toMatchObject({ error: { code: 'wrong_passphrase' } });
    expect(await keystoreText(home)).toBe(before);

    const changed = await runKeypears(
      ['--home', home, '--json', 'passphrase'],
      withPass(TEST_PASSPHRASE, { KEYPEARS_NEW_PASSPHRASE: 'new one' }),
    );
    expect(changed.json).toMatchObject({ address: 'alice@a.test', emptyPassphrase: false });
    const salt = (text: string) => (JSON.parse(text) as { kdf: { salt: string } }).kdf.salt;
    expect(salt(await keystoreText(home))).not.toBe(salt(before));
    const old = await runKeypears(['--home', home, '--json', 'exchange', 'secret', NOPE], withPass());
    expect(old.json).toMatchObject({ error: { code: 'wrong_passphrase' } });
    const fresh = await runKeypears(['--home', home, '--json', 'exchange', 'secret', NOPE], withPass('new one'));
    expect(fresh.json).toMatchObject({ error: { code: 'not_found' } });
  });

  it('an empty passphrase only when asked for, with a warning; then no question is asked', async () => {
    const other = path.join(root, 'carol');
    const refused = await runKeypears(
      ['--home', other, '--json', 'init', 'carol@a.test', '--node', NODE],
      withPass(''),
    );
    expect(refused.json).toMatchObject({
      error: { code: 'invalid_argument', message: expect.stringMatching(/--empty-passphrase/) },
    });
    const typedEmpty = await runKeypears(
      ['--home', other, 'init', 'carol@a.test', '--node', NODE],
      env(),
      terminal(''),
    );
    expect(typedEmpty.stderr).toMatch(/--empty-passphrase/);

    const run = await runKeypears(
      ['--home', other, '--json', 'init', 'carol@a.test', '--node', NODE, '--empty-passphrase'],
      env(),
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/warning: the keystore is not protected by a passphrase/);
    const tty = terminal();
    const opened = await runKeypears(['--home', other, '--json', 'exchange', 'secret', NOPE], env(), tty);
    expect(opened.json).toMatchObject({ error: { code: 'not_found' } });
    expect(tty.questions).toEqual([]);
    expect((await runKeypears(['--home', other, '--json', 'whoami'], env())).json).toMatchObject({
      emptyPassphrase: true,
    });
  });
});

describe('a keystore written by earlier clients (version 1, not encrypted)', () => {
  it('is read, and sealed under the passphrase at its first use', async () => {
    const home = path.join(root, 'vera');
    await mkdir(home, { mode: 0o700 });
    const file = path.join(home, 'keystore.json');
    await copyFile(new URL('./fixtures/keystore-v1.json', import.meta.url), file);
    await chmod(file, 0o600);
    const whoami = await runKeypears(['--home', home, '--json', 'whoami'], env());
    expect(whoami.json).toMatchObject({ address: 'vera@a.example', encrypted: false });
    const noPass = await runKeypears(['--home', home, '--json', 'exchange', 'secret', 'AAAAAAAAAAAAAAAAAAAAAA'], env());
    expect(noPass.json).toMatchObject({ error: { code: 'passphrase_required' } });
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ version: 1 });

    const secret = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
    const run = await runKeypears(
      ['--home', home, '--json', 'exchange', 'secret', 'AAAAAAAAAAAAAAAAAAAAAA'],
      withPass(),
    );
    expect(run.json).toEqual({ id: 'AAAAAAAAAAAAAAAAAAAAAA', secret });
    expect(run.stderr).toMatch(/was not encrypted; it is now sealed under the passphrase/);
    const text = await readFile(file, 'utf8');
    expect(JSON.parse(text)).toMatchObject({ version: 2, address: 'vera@a.example' });
    expect(text).not.toContain('secretKey');
    const again = await runKeypears(
      ['--home', home, '--json', 'exchange', 'secret', 'AAAAAAAAAAAAAAAAAAAAAA'],
      withPass(),
    );
    expect(again.json).toEqual({ id: 'AAAAAAAAAAAAAAAAAAAAAA', secret });
    expect(again.stderr).toBe('');
  });
});

describe('forgetting through the CLI', () => {
  const ID = 'AAAAAAAAAAAAAAAAAAAAAA';
  const SECRET = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

  async function veraHome(name: string) {
    const home = path.join(root, name);
    await mkdir(home, { mode: 0o700 });
    const file = path.join(home, 'keystore.json');
    await copyFile(new URL('./fixtures/keystore-v1.json', import.meta.url), file);
    await chmod(file, 0o600);
    return home;
  }

  it('exchange secret --forget hands the secret out once', async () => {
    const home = await veraHome('vera-once');
    const once = await runKeypears(['--home', home, '--json', 'exchange', 'secret', ID, '--forget'], withPass());
    expect(once.json).toEqual({ id: ID, secret: SECRET, forgotten: true });
    const again = await runKeypears(['--home', home, '--json', 'exchange', 'secret', ID], withPass());
    expect(again.code).toBe(1);
    expect(again.json).toEqual({
      error: {
        code: 'exchange_forgotten',
        message: expect.stringMatching(/was forgotten/),
        details: { forgottenAt: expect.any(Number) },
      },
    });
  });

  it('exchange forget deletes the secret; forgetting again says so; an unknown id is not_found', async () => {
    const home = await veraHome('vera-forget');
    const run = await runKeypears(['--home', home, '--json', 'exchange', 'forget', ID], withPass());
    expect(run.json).toEqual({ id: ID, forgotten: true, forgottenAt: expect.any(Number) });
    const again = await runKeypears(['--home', home, 'exchange', 'forget', ID], withPass());
    expect(again.stdout).toMatch(/already forgotten/);
    const secret = await runKeypears(['--home', home, '--json', 'exchange', 'secret', ID], withPass());
    expect(secret.json).toMatchObject({ error: { code: 'exchange_forgotten' } });
    const unknown = await runKeypears(
      ['--home', home, '--json', 'exchange', 'forget', 'BBBBBBBBBBBBBBBBBBBBBB'],
      withPass(),
    );
    expect(unknown.json).toMatchObject({ error: { code: 'not_found' } });
  });

  it('settings --forget-after N forgets confirmed secrets N days after they started', async () => {
    // The fixture's exchange started on 2026-01-01, more than a day before any run of this test.
    const home = await veraHome('vera-retention');
    expect((await runKeypears(['--home', home, '--json', 'settings'], withPass())).json).toEqual({
      forgetAfterDays: null,
    });
    for (const bad of ['0', '-1', '1.5', 'soon', '36501']) {
      const refused = await runKeypears(['--home', home, '--json', 'settings', '--forget-after', bad], withPass());
      expect(refused.json).toMatchObject({ error: { code: 'invalid_argument' } });
    }
    const set = await runKeypears(['--home', home, '--json', 'settings', '--forget-after', '1'], withPass());
    expect(set.json).toEqual({ forgetAfterDays: 1 });
    const secret = await runKeypears(['--home', home, '--json', 'exchange', 'secret', ID], withPass());
    expect(secret.json).toMatchObject({ error: { code: 'exchange_forgotten' } });
    const never = await runKeypears(['--home', home, '--json', 'settings', '--forget-after', 'never'], withPass());
    expect(never.json).toEqual({ forgetAfterDays: null });
  });
});

describe('exchange ids as people type them', () => {
  it('takes an id starting with "-" as an id, and a unique prefix; an ambiguous one lists the matches', async () => {
    const home = path.join(root, 'vera-ids');
    await mkdir(home, { mode: 0o700 });
    const file = path.join(home, 'keystore.json');
    await copyFile(new URL('./fixtures/keystore-v1.json', import.meta.url), file);
    await chmod(file, 0o600);
    const source = {
      existing: async () => TEST_PASSPHRASE,
      fresh: async () => ({ passphrase: TEST_PASSPHRASE, allowEmpty: false }),
    };
    const { ks, key } = await unlockKeystore(home, source, { params: TEST_SCRYPT });
    const template = ks.exchanges!.get('AAAAAAAAAAAAAAAAAAAAAA')!;
    for (const id of ['-AAAAAAAAAAAAAAAAAAAAA', 'AAAABBBBBBBBBBBBBBBBBA']) ks.exchanges!.set(id, { ...template, id });
    await saveKeystore(home, ks, key);

    const dash = await runKeypears(
      ['--home', home, '--json', 'exchange', 'secret', '-AAAAAAAAAAAAAAAAAAAAA'],
      withPass(),
    );
    expect(dash.json).toMatchObject({ id: '-AAAAAAAAAAAAAAAAAAAAA', secret: expect.any(String) });
    const dashPrefix = await runKeypears(['--home', home, '--json', 'exchange', 'secret', 'id:-AAAA'], withPass());
    expect(dashPrefix.json).toMatchObject({ id: '-AAAAAAAAAAAAAAAAAAAAA' });
    const prefix = await runKeypears(['--home', home, '--json', 'exchange', 'secret', 'AAAAB'], withPass());
    expect(prefix.json).toMatchObject({ id: 'AAAABBBBBBBBBBBBBBBBBA' });
    const ambiguous = await runKeypears(['--home', home, '--json', 'exchange', 'secret', 'AAAA'], withPass());
    expect(ambiguous.json).toEqual({
      error: {
        code: 'invalid_argument',
        message: expect.stringMatching(/names 2 exchanges/),
        details: { matches: ['AAAAAAAAAAAAAAAAAAAAAA', 'AAAABBBBBBBBBBBBBBBBBA'] },
      },
    });
    const none = await runKeypears(['--home', home, '--json', 'exchange', 'secret', 'ZZZZ'], withPass());
    expect(none.json).toMatchObject({ error: { code: 'not_found' } });
  });
});
