/**
 * The verification state machine: each rule and its code, then a verifier fed random honest,
 * stale, forked and truncated answers, checked against a model of what it may accept.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8 } from '../encoding.js';
import { encodeEntry } from './entry.js';
import {
  compareTreeHeads,
  type KtVerdict,
  ktError,
  type LogAnswer,
  type LogState,
  verifyLogAnswer,
} from './log-verifier.js';
import { testEntries, testLog } from '../../../test/support/transparency-log.js';

const honest = testLog(testEntries('kp.b.example/kt/1', 20, 'honest'));
const { identity } = honest;

/** The state after a first, trusted sight of the honest log at `size`. */
function stateAt(size: number): LogState {
  const verdict = verifyLogAnswer({ advertised: identity, answer: { checkpoint: honest.checkpoint(size) } });
  if (!verdict.ok) throw new Error(verdict.message);
  return verdict.state;
}

const expectFailure = (verdict: KtVerdict, code: string) => {
  expect(verdict).toMatchObject({ ok: false, code });
  return verdict as Extract<KtVerdict, { ok: false }>;
};

describe('first sight', () => {
  it('pins the advertised log and accepts an entry proven in it', () => {
    const verdict = verifyLogAnswer({
      advertised: identity,
      answer: honest.answer(3, 10, 0),
      entry: honest.entries[3],
    });
    expect(verdict).toMatchObject({ ok: true, advanced: true, state: { log: identity, size: 10 } });
    expect(verdict.ok && verdict.state.root).toEqual(honest.root(10));
    expect(verdict.ok && verdict.state.checkpoint).toBe(honest.checkpoint(10));
  });

  it('needs an advertised log and an answer', () => {
    expectFailure(verifyLogAnswer({ answer: honest.answer(3, 10, 0) }), 'kt_proof_missing');
    expectFailure(verifyLogAnswer({ advertised: identity }), 'kt_proof_missing');
  });
});

describe('a pinned log', () => {
  const state = stateAt(10);

  it('accepts a larger checkpoint with a consistency proof from the stored size', () => {
    const verdict = verifyLogAnswer({
      state,
      advertised: identity,
      answer: honest.answer(12, 15, 10),
      entry: honest.entries[12],
    });
    expect(verdict).toMatchObject({ ok: true, advanced: true, state: { size: 15 } });
  });

  it('accepts the same checkpoint again without changing the state', () => {
    const verdict = verifyLogAnswer({
      state,
      advertised: identity,
      answer: honest.answer(3, 10, 10),
      entry: honest.entries[3],
    });
    expect(verdict).toMatchObject({ ok: true, advanced: false });
    expect(verdict.ok && verdict.state).toBe(state);
  });

  it('refuses a log that stopped advertising or answering (downgrade)', () => {
    expectFailure(verifyLogAnswer({ state, answer: honest.answer(3, 12, 10) }), 'kt_proof_missing');
    expectFailure(verifyLogAnswer({ state, advertised: identity }), 'kt_proof_missing');
  });

  it.each([
    ['another log key', { logKey: testLog(honest.entries, { keySeed: 99 }).identity.logKey }],
    ['another VRF key', { vrfKey: new Uint8Array(32).fill(1) }],
    ['another origin', { origin: 'kp.b.example/kt/2' }],
    ['another import end', { importEnd: 5 }],
  ])('refuses %s as a reset, with both identities as evidence', (_why, change) => {
    const advertised = { ...identity, ...change };
    const failure = expectFailure(
      verifyLogAnswer({ state, advertised, answer: honest.answer(3, 12, 10) }),
      'kt_log_reset',
    );
    expect(failure.evidence).toMatchObject({ pinned: identity, advertised });
  });

  it('refuses a checkpoint not signed by the log key, or for another origin', () => {
    const impostor = testLog(honest.entries, { keySeed: 99 });
    expectFailure(
      verifyLogAnswer({ state, advertised: identity, answer: impostor.answer(3, 12, 10) }),
      'kt_proof_invalid',
    );
    const otherOrigin = testLog(honest.entries, { origin: 'kp.c.example/kt/1' });
    expectFailure(
      verifyLogAnswer({ state, advertised: identity, answer: otherOrigin.answer(3, 12, 10) }),
      'kt_proof_invalid',
    );
    const garbage = { ...honest.answer(3, 12, 10), checkpoint: 'not a note' };
    expectFailure(verifyLogAnswer({ state, advertised: identity, answer: garbage }), 'kt_proof_invalid');
  });

  it('refuses an older checkpoint as stale, keeping both notes', () => {
    const failure = expectFailure(
      verifyLogAnswer({ state, advertised: identity, answer: honest.answer(3, 8, 10), entry: honest.entries[3] }),
      'kt_stale',
    );
    expect(failure.evidence).toMatchObject({
      storedCheckpoint: honest.checkpoint(10),
      answeredCheckpoint: honest.checkpoint(8),
    });
  });

  it('refuses another root at the stored size as inconsistent', () => {
    const fork = testLog([...honest.entries.slice(0, 9), ...testEntries('kp.b.example/kt/1', 5, 'fork').slice(1)]);
    const failure = expectFailure(
      verifyLogAnswer({ state, advertised: identity, answer: fork.answer(3, 10, 10) }),
      'kt_log_inconsistent',
    );
    expect(failure.evidence).toMatchObject({
      storedCheckpoint: honest.checkpoint(10),
      answeredCheckpoint: fork.checkpoint(10),
    });
  });

  it('refuses a fork that extends a different history, with its proof as evidence', () => {
    const fork = testLog([...honest.entries.slice(0, 7), ...testEntries('kp.b.example/kt/1', 10, 'fork').slice(1)]);
    const answer = fork.answer(12, 14, 10);
    const failure = expectFailure(
      verifyLogAnswer({ state, advertised: identity, answer, entry: fork.entries[12] }),
      'kt_log_inconsistent',
    );
    expect(failure.evidence.consistency).toEqual({ from: 10, to: 14, proof: answer.consistency!.proof });
  });

  it('refuses a missing, misdirected or malformed consistency proof', () => {
    const answer = honest.answer(12, 15, 10);
    expectFailure(
      verifyLogAnswer({ state, advertised: identity, answer: { ...answer, consistency: undefined } }),
      'kt_proof_missing',
    );
    const fromNine = { from: 9, proof: honest.consistency(9, 15) };
    expectFailure(
      verifyLogAnswer({ state, advertised: identity, answer: { ...answer, consistency: fromNine } }),
      'kt_proof_missing',
    );
    const short = { from: 10, proof: answer.consistency!.proof.slice(1) };
    expectFailure(
      verifyLogAnswer({ state, advertised: identity, answer: { ...answer, consistency: short } }),
      'kt_proof_invalid',
    );
  });
});

describe('inclusion of the served entry', () => {
  const state = stateAt(10);
  const verify = (answer: LogAnswer, entry: Uint8Array) =>
    verifyLogAnswer({ state, advertised: identity, answer, entry });

  it('refuses an entry that is not the one at the proven index (a key swapped behind the log)', () => {
    const swapped = encodeEntry({
      kind: 'register',
      label: sha256(utf8('label honest 4')),
      commitment: sha256(utf8('swapped')),
    });
    expectFailure(verify(honest.answer(5, 12, 10), swapped), 'kt_proof_invalid');
    expectFailure(verify(honest.answer(5, 12, 10), honest.entries[6]), 'kt_proof_invalid');
  });

  it('refuses a missing or truncated inclusion proof, and an index past the checkpoint', () => {
    const answer = honest.answer(5, 12, 10);
    expectFailure(verify({ ...answer, inclusion: undefined }, honest.entries[5]), 'kt_proof_missing');
    expectFailure(
      verify({ ...answer, inclusion: { index: 5, proof: answer.inclusion!.proof.slice(1) } }, honest.entries[5]),
      'kt_proof_invalid',
    );
    expectFailure(verify({ ...answer, inclusion: { index: 12, proof: [] } }, honest.entries[5]), 'kt_proof_invalid');
    expectFailure(verify(answer, new Uint8Array(10)), 'kt_proof_invalid');
  });

  it('puts log-start at index 0 only, and imports below the import end only', () => {
    const imported = encodeEntry({ kind: 'import', label: sha256(utf8('i')), commitment: sha256(utf8('c')) });
    const withImports = testLog([honest.entries[0], imported, imported, ...honest.entries.slice(1)], { importEnd: 2 });
    const pinned = (log = withImports) => {
      const first = verifyLogAnswer({ advertised: log.identity, answer: { checkpoint: log.checkpoint(10) } });
      return first.ok ? first.state : undefined;
    };
    const check = (index: number, entry: Uint8Array) =>
      verifyLogAnswer({
        state: pinned(),
        advertised: withImports.identity,
        answer: withImports.answer(index, 10, 10),
        entry,
      });
    expect(check(0, withImports.entries[0]).ok).toBe(true);
    expect(check(1, imported).ok).toBe(true);
    expectFailure(check(2, imported), 'kt_proof_invalid');
    expect(check(3, withImports.entries[3]).ok).toBe(true);
    expectFailure(
      verifyLogAnswer({ state, advertised: identity, answer: honest.answer(0, 10, 10), entry: honest.entries[1] }),
      'kt_proof_invalid',
    );
  });
});

describe('comparing tree heads', () => {
  it('tells every relation apart', () => {
    const fork = testLog([...honest.entries.slice(0, 5), ...testEntries('kp.b.example/kt/1', 9, 'fork').slice(1)]);
    const head = (log: typeof honest, size: number) => ({ size, root: log.root(size) });
    expect(compareTreeHeads(head(honest, 8), head(honest, 8), [])).toBe('same');
    expect(compareTreeHeads(head(honest, 8), head(honest, 12), honest.consistency(8, 12))).toBe('advanced');
    expect(compareTreeHeads(head(honest, 8), head(honest, 6), [])).toBe('stale');
    expect(compareTreeHeads(head(honest, 8), head(fork, 8), [])).toBe('inconsistent');
    expect(compareTreeHeads(head(honest, 8), head(fork, 12), fork.consistency(8, 12))).toBe('inconsistent');
    expect(compareTreeHeads(head(honest, 8), head(honest, 12), honest.consistency(8, 12).slice(1))).toBe('malformed');
    expect(compareTreeHeads(head(honest, 8), head(honest, 12), 'proof' as any)).toBe('malformed');
  });
});

describe('errors', () => {
  it('carry the code, message and evidence', () => {
    const verdict = verifyLogAnswer({ state: stateAt(10), advertised: identity, answer: honest.answer(3, 8, 10) });
    const error = ktError(verdict as Extract<KtVerdict, { ok: false }>);
    expect(error).toMatchObject({
      code: 'kt_stale',
      details: { evidence: { answeredCheckpoint: honest.checkpoint(8) } },
    });
  });
});

describe('a verifier fed random answers', () => {
  // Two histories that share their first `p` entries; a malicious log signs both.
  const LENGTH = 24;
  const tampering = [
    'none',
    'none',
    'none',
    'drop-consistency',
    'truncate-consistency',
    'flip-consistency',
    'drop-inclusion',
    'flip-inclusion',
    'other-key',
    'no-answer',
  ] as const;
  type Tampering = (typeof tampering)[number];
  const answerArb = fc.record({
    fork: fc.boolean(),
    size: fc.integer({ min: 1, max: LENGTH }),
    index: fc.nat(),
    tamper: fc.constantFrom(...tampering),
  });
  const flip = (proof: Uint8Array[], at: number) =>
    proof.map((h, i) => (i === at % proof.length ? Uint8Array.from(h, (b, j) => (j === 0 ? b ^ 1 : b)) : h));

  it('never moves backwards, never accepts a contradiction, and flags every fork it is shown', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: LENGTH - 1 }),
        fc.array(answerArb, { minLength: 1, maxLength: 25 }),
        (p, answers) => {
          const h = testLog(testEntries('kp.b.example/kt/1', LENGTH - 1, 'h'));
          const f = testLog([...h.entries.slice(0, p), ...testEntries('kp.b.example/kt/1', LENGTH - 1, 'f').slice(p)]);
          const impostor = testLog(h.entries, { keySeed: 99 });
          let state: LogState | undefined;
          let history: 'h' | 'f' | undefined;
          for (const a of answers) {
            const log = a.fork ? f : h;
            const index = a.index % a.size;
            const m = state?.size ?? 0;
            let answer: LogAnswer | undefined = (a.tamper === 'other-key' ? impostor : log).answer(index, a.size, m);
            const needsConsistency = state !== undefined && a.size > m;
            if (a.tamper === 'no-answer') answer = undefined;
            if (answer && needsConsistency && a.tamper === 'drop-consistency')
              answer = { ...answer, consistency: undefined };
            if (answer?.consistency && a.tamper === 'truncate-consistency') {
              answer = { ...answer, consistency: { from: m, proof: answer.consistency.proof.slice(1) } };
            }
            if (answer?.consistency?.proof.length && a.tamper === 'flip-consistency') {
              answer = { ...answer, consistency: { from: m, proof: flip(answer.consistency.proof, a.index) } };
            }
            if (answer && a.tamper === 'drop-inclusion') answer = { ...answer, inclusion: undefined };
            if (answer?.inclusion?.proof.length && a.tamper === 'flip-inclusion') {
              answer = { ...answer, inclusion: { index, proof: flip(answer.inclusion.proof, a.index) } };
            }
            const verdict = verifyLogAnswer({ state, advertised: h.identity, answer, entry: log.entries[index] });

            // The model: what an answer about history X at size n may do to a state of history S at size m.
            const expected = model(
              a.tamper,
              needsConsistency,
              answer,
              state,
              history,
              a.fork ? 'f' : 'h',
              a.size,
              p,
              index,
            );
            if (expected === 'accept') {
              expect(verdict).toMatchObject({ ok: true });
            } else {
              expect(verdict).toMatchObject({ ok: false, code: expected });
            }
            if (verdict.ok) {
              expect(verdict.state.size).toBeGreaterThanOrEqual(m);
              if (state && verdict.state.size === m) expect(verdict.state.root).toEqual(state.root);
              if (verdict.advanced) history = a.fork ? 'f' : 'h';
              state = verdict.state;
            }
            // Whatever was accepted is the true root of the history followed.
            if (state) expect(state.root).toEqual((history === 'f' ? f : h).root(state.size));
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  function model(
    tamper: Tampering,
    needsConsistency: boolean,
    answer: LogAnswer | undefined,
    state: LogState | undefined,
    stateHistory: 'h' | 'f' | undefined,
    answerHistory: 'h' | 'f',
    n: number,
    p: number,
    index: number,
  ): string {
    if (!answer) return 'kt_proof_missing';
    if (tamper === 'other-key') return 'kt_proof_invalid';
    if (state) {
      const m = state.size;
      if (n < m) return 'kt_stale';
      const consistent = stateHistory === answerHistory || Math.min(m, n) <= p;
      if (needsConsistency && tamper === 'drop-consistency') return 'kt_proof_missing';
      if (needsConsistency && tamper === 'truncate-consistency') return 'kt_proof_invalid';
      if (!consistent) return 'kt_log_inconsistent';
      if (needsConsistency && tamper === 'flip-consistency' && answer.consistency!.proof.length)
        return 'kt_log_inconsistent';
    }
    if (tamper === 'drop-inclusion') return 'kt_proof_missing';
    if (tamper === 'flip-inclusion' && answer.inclusion!.proof.length) return 'kt_proof_invalid';
    void index;
    return 'accept';
  }
});
