/**
 * The stored form of the tree: appends over the CT test leaves give the published subtree
 * hashes and roots; the stored-hash map and its inverse agree; proofs built from stored rows
 * equal the in-memory RFC 9162 proofs for every size up to a few thousand leaves.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { fromHex, toHex, utf8 } from '../encoding.js';
import { consistencyProof, EMPTY_ROOT, HASH_LENGTH, inclusionProof, leafHash, treeHash } from './merkle.js';
import {
  appendEntry,
  assemble,
  coveringSubtrees,
  planConsistencyProof,
  planInclusionProof,
  proveConsistency,
  proveInclusion,
  readFrontier,
  rightEdge,
  rootFromFrontier,
  storedHashCount,
  storedHashLocation,
  subtreeAt,
  type StoredRows,
} from './tree-storage.js';
import { expectCode } from '../../../test/support/expect-error.js';

const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
/** The row each CT test leaf writes: the subtrees it completes, by level (the CT subtree hashes). */
const ROWS = [
  ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d'],
  [
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  ],
  ['0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7'],
  [
    '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  ],
  ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'],
  [
    '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
  ],
  ['b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f'],
  [
    '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  ],
];

const split = (row: Uint8Array) =>
  Array.from({ length: row.length / HASH_LENGTH }, (_, i) => toHex(row.subarray(i * 32, i * 32 + 32)));

/** An append-only store as the node keeps it: rows by leaf index, and the frontier. */
function buildStore(entries: Uint8Array[]) {
  const rows = new Map<number, Uint8Array>();
  const frontiers: Uint8Array[][] = [[]];
  let frontier: Uint8Array[] = [];
  entries.forEach((entry, i) => {
    const next = appendEntry(frontier, i, entry);
    rows.set(i, next.row);
    frontier = next.frontier;
    frontiers.push(frontier);
  });
  const reads: number[][] = [];
  const read = (leaves: readonly number[]): StoredRows => {
    reads.push([...leaves]);
    return new Map(leaves.map((l) => [l, rows.get(l)!]));
  };
  return { rows, frontiers, read, reads };
}

describe('appends', () => {
  const store = buildStore(LEAVES.map((l) => fromHex(l)));

  it('write the CT subtree hashes each leaf completes, and the frontiers fold to the CT roots', () => {
    LEAVES.forEach((_, i) => expect(split(store.rows.get(i)!)).toEqual(ROWS[i]));
    store.frontiers.forEach((f, n) => {
      expect(rootFromFrontier(f)).toEqual(treeHash(LEAVES.slice(0, n).map((l) => leafHash(fromHex(l)))));
      expect(f.length).toBe(coveringSubtrees(0, n).length);
    });
    expect(rootFromFrontier([])).toEqual(EMPTY_ROOT);
  });

  it('refuse a frontier that does not fit the size', () => {
    expectCode(() => appendEntry(store.frontiers[3], 4, utf8('x')), 'invalid_argument');
    expectCode(() => appendEntry([], -1, utf8('x')), 'invalid_argument');
  });
});

describe('stored-hash index', () => {
  it('puts a subtree with its last leaf, at the slot of its level', () => {
    expect(storedHashLocation({ level: 0, index: 5 })).toEqual({ leaf: 5, slot: 0 });
    expect(storedHashLocation({ level: 2, index: 1 })).toEqual({ leaf: 7, slot: 2 });
    expect(storedHashLocation({ level: 3, index: 0 })).toEqual({ leaf: 7, slot: 3 });
    expect([0, 1, 2, 3, 7, 11, 15].map(storedHashCount)).toEqual([1, 2, 1, 3, 4, 3, 5]);
    expectCode(() => subtreeAt({ leaf: 5, slot: 2 }), 'invalid_argument');
    expectCode(() => storedHashLocation({ level: 53, index: 0 }), 'invalid_argument');
  });

  it('and the inverse agree both ways', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.nat({ max: 2 ** 12 }), (level, index) => {
        const location = storedHashLocation({ level, index });
        expect(subtreeAt(location)).toEqual({ level, index });
      }),
    );
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 40 }), fc.nat({ max: 45 }), (leaf, s) => {
        const slot = s % storedHashCount(leaf);
        expect(storedHashLocation(subtreeAt({ leaf, slot }))).toEqual({ leaf, slot });
      }),
    );
  });

  it('covers a range with aligned complete subtrees', () => {
    expect(coveringSubtrees(0, 7)).toEqual([
      { level: 2, index: 0 },
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ]);
    expect(coveringSubtrees(4, 7)).toEqual([
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ]);
    expect(coveringSubtrees(3, 3)).toEqual([]);
  });
});

describe('proofs from stored rows', () => {
  const N = 3000;
  const entries = Array.from({ length: N }, (_, i) => utf8(`entry ${i}`));
  const hashes = entries.map(leafHash);
  const store = buildStore(entries);

  it('give the root of every size from the frontier, equal to the recursive tree hash', async () => {
    fc.assert(
      fc.property(fc.nat({ max: N }), (n) => {
        expect(rootFromFrontier(store.frontiers[n])).toEqual(treeHash(hashes.slice(0, n)));
      }),
      { numRuns: 150 },
    );
    for (const n of [0, 1, 2, 1023, 1024, 1025, N]) {
      expect(rootFromFrontier(await readFrontier(n, store.read))).toEqual(rootFromFrontier(store.frontiers[n]));
    }
  });

  it('equal the in-memory inclusion proofs, in one read of at most 2·log2(n) rows', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: N }).chain((n) => fc.tuple(fc.constant(n), fc.nat({ max: n - 1 }))),
        async ([n, index]) => {
          store.reads.length = 0;
          const proof = await proveInclusion(index, n, store.read);
          expect(proof).toEqual(inclusionProof(index, hashes.slice(0, n)));
          expect(store.reads).toHaveLength(1);
          expect(store.reads[0].length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(n)) + 1);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('equal the in-memory consistency proofs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: N }).chain((n) => fc.tuple(fc.nat({ max: n }), fc.constant(n))),
        async ([from, to]) => {
          expect(await proveConsistency(from, to, store.read)).toEqual(consistencyProof(from, hashes.slice(0, to)));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('with the right edge of the size, need one stored hash per element and no folding', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: N })
          .chain((n) => fc.tuple(fc.constant(n), fc.nat({ max: n - 1 }), fc.nat({ max: n }))),
        async ([n, index, from]) => {
          const edge = rightEdge(store.frontiers[n], n);
          expect(edge.hashes.get(0) ?? store.frontiers[n][0]).toEqual(treeHash(hashes.slice(0, n)));
          const planned = planInclusionProof(index, n, edge);
          expect(planned.parts.every((p) => p instanceof Uint8Array || p.length === 1)).toBe(true);
          expect(planned.leaves.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)) || 1);
          expect(await proveInclusion(index, n, store.read, edge)).toEqual(inclusionProof(index, hashes.slice(0, n)));
          const consistency = planConsistencyProof(from, n, edge);
          expect(consistency.parts.every((p) => p instanceof Uint8Array || p.length === 1)).toBe(true);
          expect(await proveConsistency(from, n, store.read, edge)).toEqual(consistencyProof(from, hashes.slice(0, n)));
        },
      ),
      { numRuns: 150 },
    );
    expectCode(() => planInclusionProof(3, 10, rightEdge(store.frontiers[11], 11)), 'invalid_argument');
    expectCode(() => rightEdge(store.frontiers[10], 11), 'invalid_argument');
  });

  it('are refused when a row is missing or truncated', () => {
    const planned = planInclusionProof(5, 8);
    const rows = new Map(planned.leaves.map((l) => [l, store.rows.get(l)!]));
    expect(assemble(planned, rows)).toEqual(inclusionProof(5, hashes.slice(0, 8)));
    const missing = new Map(rows);
    missing.delete(planned.leaves[0]);
    expectCode(() => assemble(planned, missing), 'internal_error');
    const truncated = new Map(rows);
    truncated.set(planned.leaves[0], rows.get(planned.leaves[0])!.subarray(32));
    expectCode(() => assemble(planned, truncated), 'internal_error');
    expect(planConsistencyProof(3, 3).leaves).toEqual([]);
  });
});
