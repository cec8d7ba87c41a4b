/**
 * The client's transparency checks on its keystore state: a served identity proven in its
 * log, a key swapped behind the log, a contact whose key moved to another entry, the owner's
 * monitor, the keystore member's round trip, and a client fed random honest, stale, forked and
 * truncated answers, checked against a model of what it may accept.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import { toB64u, utf8 } from '../protocol/encoding.js';
import { isKeyPearsError } from '../protocol/errors.js';
import { encodeEntry } from '../protocol/transparency/entry.js';
import { entryBundlePath } from '../protocol/transparency/owner-scan.js';
import { formatEntryBundle } from '../protocol/transparency/wire.js';
import {
  servedMember,
  testAccount,
  testEntries,
  testLog,
  type TestAccount,
  type TestLog,
} from '../../test/support/transparency-log.js';
import {
  emptyTransparency,
  type LogReader,
  monitorOwnEntries,
  parseTransparency,
  readTransparency,
  writeTransparency,
  serializeTransparency,
  setSelf,
  type TransparencyState,
  verifyIdentityForClient,
} from './transparency.js';
import { createKeystore } from './identity.js';
import { parsePlainKeystore, serializePlainKeystore } from './keystore-format.js';

const ORIGIN = 'kp.b.example/kt/1';
const DOMAIN = 'b.example';
const bob = testAccount('bob@b.example', 'honest');
const alice = testAccount('alice@b.example', 'honest');
/** An attacker's keys for bob, correctly signed by the attacker's identity key. */
const mallory = testAccount('bob@b.example', 'attacker');

/** log-start, filler, alice at 2, bob at 3, then filler up to `size` entries; `tag` makes the filler differ. */
function history(size: number, tag: string, extra: Array<[number, Uint8Array]> = []): Uint8Array[] {
  const entries = testEntries(ORIGIN, size - 1, tag);
  entries[2] = alice.entry;
  entries[3] = bob.entry;
  for (const [i, e] of extra) entries[i] = e;
  return entries;
}

const honest = testLog(history(32, 'honest'));

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    if (isKeyPearsError(e)) return e.code;
    throw e;
  }
};

const verify = (state: TransparencyState, account: TestAccount, log: TestLog, index: number, size: number) =>
  verifyIdentityForClient(state, {
    address: account.address,
    domain: DOMAIN,
    nodeUrl: account.nodeUrl,
    identity: account.identity,
    member: servedMember(account, log, index, size, state.logs.get(ORIGIN)?.size ?? 0),
    now: 1767230000,
  });

describe('a served identity', () => {
  it('is verified in the log, pins the log and the contact, and advances with later answers', () => {
    const state = emptyTransparency();
    expect(verify(state, bob, honest, 3, 10)).toMatchObject({ origin: ORIGIN, index: 3, kind: 'register' });
    expect(state.domains.get(DOMAIN)).toBe(ORIGIN);
    expect(state.logs.get(ORIGIN)?.size).toBe(10);
    expect(state.contacts.get(bob.address)).toMatchObject({ origin: ORIGIN, index: 3 });
    verify(state, bob, honest, 3, 20);
    expect(state.logs.get(ORIGIN)?.size).toBe(20);
  });

  it('with another identity key, correctly signed by it, is refused: the log holds the real one', () => {
    const state = emptyTransparency();
    const member = servedMember(bob, honest, 3, 10, 0);
    const swapped = {
      ...member,
      registrationProof: toB64u(mallory.registrationProof),
      opening: toB64u(mallory.opening),
    };
    const served = { address: bob.address, domain: DOMAIN, nodeUrl: bob.nodeUrl, now: 1 };
    expect(
      codeOf(() => verifyIdentityForClient(state, { ...served, identity: mallory.identity, member: swapped })),
    ).toBe('kt_proof_invalid');
    // Only the identity swapped, the rest of the answer honest: the same.
    expect(codeOf(() => verifyIdentityForClient(state, { ...served, identity: mallory.identity, member }))).toBe(
      'kt_proof_invalid',
    );
    expect(state.logs.size).toBe(0);
    expect(state.evidence).toMatchObject([
      { code: 'kt_proof_invalid', domain: DOMAIN, evidence: { inclusion: { index: 3, size: 10 } } },
      { code: 'kt_proof_invalid', domain: DOMAIN, evidence: { answeredCheckpoint: honest.checkpoint(10) } },
    ]);
  });

  it('from a forked checkpoint is a fork even when the served record is wrong too', () => {
    const state = emptyTransparency();
    verify(state, bob, honest, 3, 10);
    const fork = testLog(history(32, 'fork').map((e, i) => (i < 8 ? honest.entries[i] : e)));
    const member = servedMember(bob, fork, 3, 12, 10);
    const served = { address: bob.address, domain: DOMAIN, nodeUrl: bob.nodeUrl, now: 1, member };
    expect(codeOf(() => verifyIdentityForClient(state, { ...served, identity: mallory.identity }))).toBe(
      'kt_log_inconsistent',
    );
  });

  it('without a proof from a log that is pinned is refused', () => {
    const state = emptyTransparency();
    verify(state, bob, honest, 3, 10);
    const input = { address: bob.address, domain: DOMAIN, nodeUrl: bob.nodeUrl, identity: bob.identity, now: 1 };
    expect(codeOf(() => verifyIdentityForClient(state, { ...input, member: undefined }))).toBe('kt_proof_missing');
    expect(state.logs.get(ORIGIN)?.size).toBe(10);
    // Never seen: nothing to hold the node to, taken unverified.
    expect(verifyIdentityForClient(emptyTransparency(), { ...input, member: undefined })).toBeUndefined();
  });

  it('from a log with another key than the one pinned for the domain is refused', () => {
    const state = emptyTransparency();
    verify(state, bob, honest, 3, 10);
    const other = testLog(history(12, 'honest'), { keySeed: 99 });
    expect(codeOf(() => verify(state, bob, other, 3, 12))).toBe('kt_log_reset');
  });

  it('at another entry than the contact was pinned at is kt_key_changed, and the pin stays', () => {
    const state = emptyTransparency();
    verify(state, bob, honest, 3, 10);
    const withImpostor = testLog(history(32, 'honest', [[20, mallory.entry]]));
    expect(codeOf(() => verify(state, mallory, withImpostor, 20, 24))).toBe('kt_key_changed');
    expect(state.contacts.get(bob.address)).toMatchObject({ index: 3, identityKey: bob.identity.identityKey });
    expect(state.evidence.at(-1)).toMatchObject({ code: 'kt_key_changed' });
    // The same key at its pinned entry is still fine.
    verify(state, bob, withImpostor, 3, 24);
  });
});

/** A reader of a TestLog's HTTP answers, as the owner's node would serve them. */
function reader(log: TestLog, size: number, tamper?: (bundle: Uint8Array[]) => Uint8Array[]): LogReader {
  return {
    checkpoint: async () => log.checkpoint(size),
    consistency: async (from, to) => log.consistency(from, to),
    inclusion: async (index, at) => log.inclusion(index, at),
    entryBundle: async (path) => {
      for (let first = 0; first < size; first += 256) {
        const bundle = entryBundlePath(first, size);
        if (bundle.path === path) {
          const entries = log.entries.slice(first, first + bundle.count);
          return formatEntryBundle(tamper ? tamper(entries) : entries);
        }
      }
      throw new Error(`no bundle ${path}`);
    },
  };
}

const monitor = (state: TransparencyState, from: LogReader, now: number) =>
  monitorOwnEntries(state, { domain: DOMAIN, advertised: honest.identity, reader: from, now });

describe("the owner's monitor", () => {
  const owned = (log: TestLog, size: number) => {
    const state = emptyTransparency();
    setSelf(state, verify(state, bob, log, 3, size));
    return state;
  };

  it('reads every entry, finds nothing foreign in an honest log, and goes on from where it stopped', async () => {
    const state = owned(honest, 10);
    const first = await monitor(state, reader(honest, 10), 100);
    expect(first).toMatchObject({ size: 10, scanned: 10, foreign: [] });
    const second = await monitor(state, reader(honest, 32), 200);
    expect(second).toMatchObject({ size: 32, scanned: 22, foreign: [] });
    expect(state.lastMonitorAt).toBe(200);
  });

  it('reports an impostor entry under the own label, with a tlog-proof, and keeps reporting it', async () => {
    const log = testLog(history(300, 'honest', [[280, mallory.entry]]));
    const state = owned(log, 10);
    await monitor(state, reader(log, 10), 100);
    const run = monitor(state, reader(log, 300), 200);
    await expect(run).rejects.toMatchObject({
      code: 'kt_foreign_entry',
      details: { entries: [{ index: 280, tlogProof: expect.stringContaining('index 280') }] },
    });
    expect(state.self?.scan.size).toBe(300);
    await expect(monitor(state, reader(log, 300), 300)).rejects.toMatchObject({ code: 'kt_foreign_entry' });
  });

  it('refuses entries that do not make the checkpoint, and a checkpoint that forks from the stored one', async () => {
    const state = owned(honest, 10);
    const hidden = reader(honest, 12, (entries) => entries.map((e, i) => (i === 11 ? entries[5] : e)));
    await expect(monitor(state, hidden, 1)).rejects.toMatchObject({
      code: 'kt_proof_invalid',
    });
    expect(state.self?.scan.size).toBe(0);
    const fork = testLog(history(32, 'fork').map((e, i) => (i < 10 ? honest.entries[i] : e)));
    await monitor(state, reader(honest, 12), 2);
    await expect(monitor(state, reader(fork, 14), 3)).rejects.toMatchObject({
      code: 'kt_log_inconsistent',
    });
    expect(state.logs.get(ORIGIN)?.size).toBe(12);
  });
});

describe('the keystore member', () => {
  it('round-trips through its JSON form', async () => {
    const log = testLog(history(20, 'honest', [[15, mallory.entry]]));
    const state = emptyTransparency();
    setSelf(state, verify(state, bob, log, 3, 10));
    verify(state, alice, log, 2, 10);
    await monitor(state, reader(log, 20), 5).catch(() => undefined);
    const json = JSON.parse(JSON.stringify(serializeTransparency(state)));
    const back = parseTransparency(json)!;
    expect(back).toEqual(state);
    expect(back.self?.foreign).toHaveLength(1);
    // As a member of the keystore document, sealed and opened with it.
    const ks = createKeystore('bob@b.example', 'https://kp.b.example', 1767225600);
    writeTransparency(ks, state);
    const reopened = parsePlainKeystore(serializePlainKeystore(ks));
    expect(readTransparency(reopened)).toEqual(state);
    expect(readTransparency(createKeystore('bob@b.example', 'https://kp.b.example', 1))).toEqual(emptyTransparency());
  });
});

describe('a client fed random honest, stale, forked and truncated answers', () => {
  type Step =
    | { kind: 'honest'; size: number }
    | { kind: 'fork'; size: number }
    | { kind: 'truncated'; size: number; part: 'consistency' | 'inclusion' };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('honest' as const), size: fc.integer({ min: 4, max: 32 }) }),
    fc.record({ kind: fc.constant('fork' as const), size: fc.integer({ min: 4, max: 32 }) }),
    fc.record({
      kind: fc.constant('truncated' as const),
      size: fc.integer({ min: 4, max: 32 }),
      part: fc.constantFrom('consistency' as const, 'inclusion' as const),
    }),
  );

  const forks = new Map<number, TestLog>();
  const forkAt = (split: number): TestLog => {
    if (!forks.has(split)) {
      const other = (i: number) =>
        encodeEntry({ kind: 'register', label: sha256(utf8(`f${i}`)), commitment: sha256(utf8(`g${i}`)) });
      forks.set(split, testLog(honest.entries.map((e, i) => (i < split ? e : other(i)))));
    }
    return forks.get(split)!;
  };

  it('never moves backwards, never changes the root of a size, and flags every fork it can see', () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 31 }), fc.array(step, { minLength: 1, maxLength: 12 }), (split, steps) => {
        // The fork shares the honest log's first `split` entries (bob's among them), then differs.
        const fork = forkAt(split);
        const state = emptyTransparency();
        const roots = new Map<number, string>();
        /** Which history the client has seen beyond the split, once it has. */
        let seen: 'honest' | 'fork' | undefined;
        for (const s of steps) {
          const log = s.kind === 'fork' ? fork : honest;
          const history = s.kind === 'fork' ? 'fork' : 'honest';
          const before = state.logs.get(ORIGIN);
          const m = before?.size ?? 0;
          const member = servedMember(bob, log, 3, s.size, m);
          if (s.kind === 'truncated') {
            if (s.part === 'consistency' && member.consistency) member.consistency.proof.pop();
            else member.inclusion.pop();
          }
          const code = codeOf(() =>
            verifyIdentityForClient(state, {
              address: bob.address,
              domain: DOMAIN,
              nodeUrl: bob.nodeUrl,
              identity: bob.identity,
              member,
              now: 1,
            }),
          );
          const after = state.logs.get(ORIGIN);
          // Never backwards; a failure changes nothing.
          expect(after?.size ?? 0).toBeGreaterThanOrEqual(m);
          if (code !== undefined) expect(after).toBe(before);
          if (after) {
            const root = Buffer.from(after.root).toString('hex');
            expect(roots.get(after.size) ?? root).toBe(root);
            roots.set(after.size, root);
          }
          const diverges = s.size > split;
          const cutConsistency = s.kind === 'truncated' && s.part === 'consistency' && m > 0 && m < s.size;
          if (s.size < m) {
            expect(code).toBe('kt_stale');
          } else if (diverges && seen !== undefined && seen !== history) {
            // The other history beyond what was seen: a fork, flagged as one (a consistency
            // proof cut short is malformed, and says nothing about the log).
            expect(code).toBe(cutConsistency ? 'kt_proof_invalid' : 'kt_log_inconsistent');
          } else if (s.kind === 'truncated') {
            // Something is always cut: the consistency proof is sent exactly when 0 < m < size
            // and is never empty then (else the inclusion path is cut, never empty at size 4+).
            expect(code).toBe('kt_proof_invalid');
          } else {
            expect(code).toBeUndefined();
          }
          if (code === undefined && (after?.size ?? 0) > split) seen = history;
        }
      }),
      { numRuns: 100 },
    );
  });
});
