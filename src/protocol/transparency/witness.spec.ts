/**
 * The witness decision: each tlog-witness rule, then replicas racing on one record with a
 * compare-and-swap, under random interleavings of honest and forked submissions.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { decideWitness, unchangedRecord, type WitnessRecord } from './witness.js';
import { testEntries, testLog } from '../../../test/support/transparency-log.js';

const ORIGIN = 'kp.b.example/kt/1';
const honest = testLog(testEntries(ORIGIN, 20, 'honest'));
const fork = testLog([...honest.entries.slice(0, 6), ...testEntries(ORIGIN, 20, 'fork').slice(6)]);
const { logKey } = honest.identity;
const record = (size: number, log = honest): WitnessRecord => ({
  size,
  root: log.root(size),
  checkpoint: log.checkpoint(size),
});

describe('add-checkpoint rules', () => {
  it('cosigns a first checkpoint from size 0 with an empty proof', () => {
    const decision = decideWitness(undefined, logKey, { oldSize: 0, proof: [], checkpoint: honest.checkpoint(8) });
    expect(decision).toMatchObject({ action: 'cosign', advanced: true, record: record(8) });
  });

  it('cosigns a consistent extension, and the same checkpoint again without changing the record', () => {
    const proof = honest.consistency(8, 12);
    expect(decideWitness(record(8), logKey, { oldSize: 8, proof, checkpoint: honest.checkpoint(12) })).toMatchObject({
      action: 'cosign',
      advanced: true,
      record: record(12),
    });
    const again = decideWitness(record(8), logKey, { oldSize: 8, proof: [], checkpoint: honest.checkpoint(8) });
    expect(again).toMatchObject({ action: 'cosign', advanced: false, record: record(8) });
  });

  it('answers a wrong old size with the recorded size (409)', () => {
    expect(
      decideWitness(record(8), logKey, {
        oldSize: 5,
        proof: honest.consistency(5, 12),
        checkpoint: honest.checkpoint(12),
      }),
    ).toEqual({
      action: 'conflict',
      size: 8,
    });
    expect(decideWitness(undefined, logKey, { oldSize: 3, proof: [], checkpoint: honest.checkpoint(8) })).toEqual({
      action: 'conflict',
      size: 0,
    });
  });

  it('refuses an old size above the checkpoint (400), and a bad log signature (403)', () => {
    expect(decideWitness(record(8), logKey, { oldSize: 9, proof: [], checkpoint: honest.checkpoint(8) })).toMatchObject(
      {
        action: 'refuse',
        status: 400,
      },
    );
    const impostor = testLog(honest.entries, { keySeed: 99 });
    expect(
      decideWitness(record(8), logKey, {
        oldSize: 8,
        proof: impostor.consistency(8, 12),
        checkpoint: impostor.checkpoint(12),
      }),
    ).toMatchObject({
      action: 'refuse',
      status: 403,
      code: 'kt_proof_invalid',
    });
  });

  it('refuses a fork as inconsistent (422) with both notes, and a malformed proof as invalid (422)', () => {
    const forked = decideWitness(record(8), logKey, {
      oldSize: 8,
      proof: fork.consistency(8, 12),
      checkpoint: fork.checkpoint(12),
    });
    expect(forked).toMatchObject({
      action: 'refuse',
      status: 422,
      code: 'kt_log_inconsistent',
      evidence: { storedCheckpoint: honest.checkpoint(8), answeredCheckpoint: fork.checkpoint(12) },
    });
    const sameSize = decideWitness(record(8), logKey, { oldSize: 8, proof: [], checkpoint: fork.checkpoint(8) });
    expect(sameSize).toMatchObject({ action: 'refuse', status: 422, code: 'kt_log_inconsistent' });
    const truncated = decideWitness(record(8), logKey, {
      oldSize: 8,
      proof: honest.consistency(8, 12).slice(1),
      checkpoint: honest.checkpoint(12),
    });
    expect(truncated).toMatchObject({ action: 'refuse', status: 422, code: 'kt_proof_invalid' });
    const fromZero = decideWitness(undefined, logKey, {
      oldSize: 0,
      proof: honest.consistency(4, 8),
      checkpoint: honest.checkpoint(8),
    });
    expect(fromZero).toMatchObject({ action: 'refuse', status: 422 });
  });
});

describe('replicas racing on one record', () => {
  /** One submission in flight at one replica: it reads, decides, then swaps. */
  interface Flight {
    history: 'h' | 'f';
    size: number;
    read?: WitnessRecord | undefined;
    readDone: boolean;
  }

  it('never cosign two inconsistent checkpoints, and the record never shrinks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ fork: fc.boolean(), size: fc.integer({ min: 1, max: 20 }) }), {
          minLength: 2,
          maxLength: 12,
        }),
        fc.array(fc.nat(), { minLength: 40, maxLength: 120 }),
        (submissions, schedule) => {
          let stored: WitnessRecord | undefined;
          const cosigned: Array<{ history: 'h' | 'f'; size: number }> = [];
          const flights: Flight[] = submissions.map((s) => ({
            history: s.fork ? 'f' : 'h',
            size: s.size,
            readDone: false,
          }));
          let lastSize = 0;
          for (const pick of schedule) {
            if (flights.length === 0) break;
            const flight = flights[pick % flights.length];
            if (!flight.readDone) {
              // Step 1: read the record (another replica may change it before step 2).
              flight.read = stored;
              flight.readDone = true;
              continue;
            }
            // Step 2: the submitter sends a proof from the size this replica read; decide, then swap.
            const log = flight.history === 'f' ? fork : honest;
            const oldSize = flight.read?.size ?? 0;
            flights.splice(flights.indexOf(flight), 1);
            if (oldSize > flight.size) continue;
            const decision = decideWitness(flight.read, logKey, {
              oldSize,
              proof: oldSize === 0 ? [] : log.consistency(oldSize, flight.size),
              checkpoint: log.checkpoint(flight.size),
            });
            if (decision.action !== 'cosign') continue;
            // The compare-and-swap: only if the record is still what was read.
            if (!unchangedRecord(flight.read, stored)) continue;
            stored = decision.record;
            cosigned.push({ history: flight.history, size: flight.size });
            expect(stored.size).toBeGreaterThanOrEqual(lastSize);
            lastSize = stored.size;
          }
          // Every two cosigned checkpoints are consistent: same history, or both within the shared prefix.
          for (const a of cosigned) {
            for (const b of cosigned) {
              if (a.history !== b.history) expect(Math.min(a.size, b.size)).toBeLessThanOrEqual(6);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
