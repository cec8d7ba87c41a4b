/**
 * RFC 9162 tree hashing and proofs against published values: the Certificate Transparency test
 * tree (its eight leaves, every complete subtree hash, the roots of sizes 0 to 8, every PATH and
 * PROOF of the 7-leaf tree) and the transparency-dev happy-path proofs with the mutations its
 * test data applies to them; then properties over random trees.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { fromHex, toHex } from '../encoding.js';
import {
  EMPTY_ROOT,
  consistencyProof,
  inclusionProof,
  leafHash,
  nodeHash,
  rootFromInclusion,
  treeHash,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';

const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const LEAF_HASHES = LEAVES.map((l) => leafHash(fromHex(l)));

/** Hashes of every complete subtree of the 8-leaf tree, by level then index. */
const NODES = [
  [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
    '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
    '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
  ],
  [
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  ],
  [
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ],
  ['5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'],
];

const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** MTH(D[4:7]), which appears in most proofs of the 7-leaf tree. */
const M47 = '837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e';
const [L, N1, N2] = NODES;

/** PATH(m, D[7]) for m = 0..6, as published with the CT test tree. */
const PATHS_7 = [
  [L[1], N1[1], M47],
  [L[0], N1[1], M47],
  [L[3], N1[0], M47],
  [L[2], N1[0], M47],
  [L[5], L[6], N2[0]],
  [L[4], L[6], N2[0]],
  [N1[2], N2[0]],
];

/** PROOF(m, D[7]) for m = 0..7. */
const PROOFS_7 = [
  [],
  [L[1], N1[1], M47],
  [N1[1], M47],
  [L[2], L[3], N1[0], M47],
  [M47],
  [L[4], L[5], L[6], N2[0]],
  [N1[2], L[6], N2[0]],
  [],
];

/** transparency-dev/merkle testdata happy paths: inclusion (index, size, proof), consistency (from, to, proof). */
const INCLUSION = [
  { index: 0, size: 1, proof: [] },
  { index: 0, size: 8, proof: [L[1], N1[1], N2[1]] },
  { index: 5, size: 8, proof: [L[4], N1[3], N2[0]] },
  { index: 2, size: 3, proof: [N1[0]] },
  { index: 1, size: 5, proof: [L[0], N1[1], L[4]] },
];
const CONSISTENCY = [
  { from: 1, to: 1, proof: [] },
  { from: 1, to: 8, proof: [L[1], N1[1], N2[1]] },
  { from: 6, to: 8, proof: [N1[2], N1[3], N2[0]] },
  { from: 2, to: 5, proof: [N1[1], L[4]] },
  { from: 6, to: 7, proof: [N1[2], L[6], N2[0]] },
  { from: 3, to: 7, proof: PROOFS_7[3] },
];

const hexes = (list: Uint8Array[]) => list.map(toHex);
const bytes = (list: string[]) => list.map((h) => fromHex(h));
const RANDOM = fromHex('abacaba000000000000000000000000000000000000000000060061e00123456');

describe('RFC 9162 hashing', () => {
  it('has the published leaf, node and empty-tree hashes', () => {
    expect(toHex(EMPTY_ROOT)).toBe(ROOTS[0]);
    expect(toHex(leafHash(new TextEncoder().encode('L123456')))).toBe(
      '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56',
    );
    expect(hexes(LEAF_HASHES)).toEqual(L);
    for (let level = 1; level < NODES.length; level++) {
      NODES[level].forEach((h, i) => {
        expect(toHex(nodeHash(fromHex(NODES[level - 1][2 * i]), fromHex(NODES[level - 1][2 * i + 1])))).toBe(h);
      });
    }
  });

  it('gives the roots of the CT test tree for every size from 0 to 8', () => {
    for (let n = 0; n <= 8; n++) expect(toHex(treeHash(LEAF_HASHES.slice(0, n)))).toBe(ROOTS[n]);
    expect(toHex(treeHash(LEAF_HASHES.slice(4, 7)))).toBe(M47);
  });
});

describe('inclusion proofs (PATH)', () => {
  it('generates every PATH of the 7-leaf tree, and each verifies', () => {
    const tree = LEAF_HASHES.slice(0, 7);
    for (let m = 0; m < 7; m++) {
      const proof = inclusionProof(m, tree);
      expect(hexes(proof)).toEqual(PATHS_7[m]);
      expect(verifyInclusion(m, 7, tree[m], proof, fromHex(ROOTS[7]))).toBe(true);
    }
  });

  describe.each(INCLUSION)('index $index of size $size', ({ index, size, proof }) => {
    const root = fromHex(ROOTS[size]);
    const leaf = LEAF_HASHES[index];

    it('is generated and verifies', () => {
      expect(hexes(inclusionProof(index, LEAF_HASHES.slice(0, size)))).toEqual(proof);
      expect(verifyInclusion(index, size, leaf, bytes(proof), root)).toBe(true);
    });

    // The mutations of transparency-dev/merkle's test data, each of which must fail.
    const p = bytes(proof);
    const mutations: Array<[string, number, number, Uint8Array, Uint8Array[], Uint8Array]> = [
      ['wrong leaf', index, size, leafHash(fromHex('ff')), p, root],
      ['index + 1', index + 1, size, leaf, p, root],
      ['index - 1', index - 1, size, leaf, p, root],
      ['index XOR 2', index ^ 2, size, leaf, p, root],
      ['size / 2', index, size >> 1, leaf, p, root],
      ['size * 2', index, size * 2, leaf, p, root],
      ['empty root', index, size, leaf, p, EMPTY_ROOT],
      ['random root', index, size, leaf, p, RANDOM],
      ['removed component', index, size, leaf, p.slice(0, -1), root],
      ['inserted component', index, size, leaf, [...p.slice(0, 1), RANDOM, ...p.slice(1)], root],
      ['preceding garbage', index, size, leaf, [new Uint8Array(0), ...p], root],
      ['trailing garbage', index, size, leaf, [...p, new Uint8Array(0)], root],
      ['preceding root', index, size, leaf, [root, ...p], root],
      ['trailing root', index, size, leaf, [...p, root], root],
      ...p.map((_, i): [string, number, number, Uint8Array, Uint8Array[], Uint8Array] => [
        `proof[${i}] with bit 3 flipped`,
        index,
        size,
        leaf,
        p.map((h, j) => (j === i ? flipBit(h, 3) : h)),
        root,
      ]),
    ];
    const unchanged = (i: number, s: number, l: Uint8Array, q: Uint8Array[], r: Uint8Array) =>
      i === index && s === size && l === leaf && r === root && q.length === p.length && q.every((h, j) => h === p[j]);
    it.each(mutations.filter(([, i, s, l, q, r]) => !unchanged(i, s, l, q, r)))(
      'fails with %s',
      (_name, i, s, l, q, r) => {
        expect(verifyInclusion(i, s, l, q, r)).toBe(false);
      },
    );
  });

  it('fails for a proof that goes on past the root of the claimed size', () => {
    // Leaf 1 of the 2-leaf tree, claimed as leaf 0 of a 1-leaf tree with that root: the extra
    // hash must be refused (RFC 9162 §2.1.3.2 step 4a), or the index would not be bound.
    const [a, b] = LEAF_HASHES;
    expect(verifyInclusion(1, 2, b, [a], nodeHash(a, b))).toBe(true);
    expect(verifyInclusion(0, 1, b, [a], nodeHash(a, b))).toBe(false);
  });

  it('fails on bad arguments instead of throwing', () => {
    const proof = bytes(INCLUSION[1].proof);
    const root = fromHex(ROOTS[8]);
    for (const [index, size] of [
      [8, 8],
      [-1, 8],
      [0.5, 8],
      [0, 2 ** 53],
      [NaN, 8],
    ]) {
      expect(verifyInclusion(index, size, LEAF_HASHES[0], proof, root)).toBe(false);
    }
    expect(verifyInclusion(0, 8, LEAF_HASHES[0], proof, root.subarray(1))).toBe(false);
    expect(verifyInclusion(0, 8, LEAF_HASHES[0], 'proof' as any, root)).toBe(false);
    expect(verifyInclusion(0, 8, LEAF_HASHES[0], Array(65).fill(root), root)).toBe(false);
  });
});

describe('consistency proofs (PROOF)', () => {
  it('generates every PROOF(m, D[7]), and each verifies', () => {
    const tree = LEAF_HASHES.slice(0, 7);
    for (let m = 0; m <= 7; m++) {
      const proof = consistencyProof(m, tree);
      expect(hexes(proof)).toEqual(PROOFS_7[m]);
      expect(verifyConsistency(m, 7, fromHex(ROOTS[m]), fromHex(ROOTS[7]), proof)).toBe(true);
    }
  });

  describe.each(CONSISTENCY)('from $from to $to', ({ from, to, proof }) => {
    const r1 = fromHex(ROOTS[from]);
    const r2 = fromHex(ROOTS[to]);

    it('is generated and verifies', () => {
      expect(hexes(consistencyProof(from, LEAF_HASHES.slice(0, to)))).toEqual(proof);
      expect(verifyConsistency(from, to, r1, r2, bytes(proof))).toBe(true);
    });

    const p = bytes(proof);
    const mutations: Array<[string, number, number, Uint8Array, Uint8Array, Uint8Array[]]> = [
      ['empty proof', from, to, r1, r2, []],
      ['truncated proof', from, to, r1, r2, p.slice(0, -1)],
      ['from + 1', from + 1, to, r1, r2, p],
      ['from - 1', from - 1, to, r1, r2, p],
      ['from XOR 2', from ^ 2, to, r1, r2, p],
      ['to / 2', from, to >> 1, r1, r2, p],
      ['to * 2', from, to * 2, r1, r2, p],
      ['swapped roots', from, to, r2, r1, p],
      ['wrong first root', from, to, EMPTY_ROOT, r2, p],
      ['wrong second root', from, to, r1, EMPTY_ROOT, p],
      ['preceding garbage', from, to, r1, r2, [new Uint8Array(0), ...p]],
      ['trailing garbage', from, to, r1, r2, [...p, new Uint8Array(0)]],
      ['preceding first root', from, to, r1, r2, [r1, ...p]],
      ['preceding second root', from, to, r1, r2, [r2, ...p]],
      ['trailing first root', from, to, r1, r2, [...p, r1]],
      ['trailing second root', from, to, r1, r2, [...p, r2]],
      ['first hash repeated', from, to, r1, r2, p.length ? [p[0], ...p] : p],
      ...p.map((_, i): [string, number, number, Uint8Array, Uint8Array, Uint8Array[]] => [
        `proof[${i}] with bit 4 flipped`,
        from,
        to,
        r1,
        r2,
        p.map((h, j) => (j === i ? flipBit(h, 4) : h)),
      ]),
    ];
    const unchanged = (f: number, t: number, a: Uint8Array, b: Uint8Array, q: Uint8Array[]) =>
      f === from && t === to && a === r1 && b === r2 && q.length === p.length && q.every((h, i) => h === p[i]);
    it.each(mutations.filter(([, f, t, a, b, q]) => !unchanged(f, t, a, b, q) && !(from === to && a === r2)))(
      'fails with %s',
      (_name, f, t, a, b, q) => {
        expect(verifyConsistency(f, t, a, b, q)).toBe(false);
      },
    );
  });

  it('treats the empty tree as a prefix of every tree, with an empty proof only', () => {
    expect(verifyConsistency(0, 5, EMPTY_ROOT, fromHex(ROOTS[5]), [])).toBe(true);
    expect(verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])).toBe(true);
    expect(verifyConsistency(0, 5, EMPTY_ROOT, fromHex(ROOTS[5]), [EMPTY_ROOT])).toBe(false);
    expect(verifyConsistency(0, 5, fromHex(ROOTS[1]), fromHex(ROOTS[5]), [])).toBe(false);
    expect(verifyConsistency(5, 3, fromHex(ROOTS[5]), fromHex(ROOTS[3]), [])).toBe(false);
  });
});

function flipBit(bytesIn: Uint8Array, bit: number): Uint8Array {
  const out = bytesIn.slice();
  out[bit >> 3] ^= 1 << (bit & 7);
  return out;
}

/** The proof with one bit of one of its hashes flipped (both chosen from arbitrary numbers). */
const flipOne = (proof: Uint8Array[], which: number, bit: number) =>
  proof.map((h, j) => (j === which % proof.length ? flipBit(h, bit % 256) : h));

/** Distinct leaf hashes for a tree of n leaves (different per seed). */
const randomTree = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`${seed}:${i}`)));

describe('properties', () => {
  const treeAndIndex = fc
    .integer({ min: 1, max: 300 })
    .chain((n) => fc.record({ n: fc.constant(n), i: fc.nat({ max: n - 1 }), seed: fc.nat() }));

  it('every inclusion proof verifies, and a flipped bit of proof, leaf or root or another index fails', () => {
    fc.assert(
      fc.property(treeAndIndex, fc.nat(), fc.nat(), ({ n, i, seed }, bit, other) => {
        const tree = randomTree(n, seed);
        const root = treeHash(tree);
        const proof = inclusionProof(i, tree);
        expect(verifyInclusion(i, n, tree[i], proof, root)).toBe(true);
        expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
        expect(verifyInclusion(i, n, flipBit(tree[i], bit % 256), proof, root)).toBe(false);
        expect(verifyInclusion(i, n, tree[i], proof, flipBit(root, bit % 256))).toBe(false);
        if (proof.length) expect(verifyInclusion(i, n, tree[i], flipOne(proof, other, bit), root)).toBe(false);
        const j = other % n;
        if (j !== i) expect(verifyInclusion(j, n, tree[i], proof, root)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('every consistency proof verifies, and a flipped bit of proof or either root fails', () => {
    fc.assert(
      fc.property(treeAndIndex, fc.nat(), fc.nat(), ({ n, i, seed }, bit, other) => {
        const tree = randomTree(n, seed);
        const m = i + 1;
        const proof = consistencyProof(m, tree);
        const r1 = treeHash(tree.slice(0, m));
        const r2 = treeHash(tree);
        expect(verifyConsistency(m, n, r1, r2, proof)).toBe(true);
        expect(verifyConsistency(m, n, flipBit(r1, bit % 256), r2, proof)).toBe(false);
        expect(verifyConsistency(m, n, r1, flipBit(r2, bit % 256), proof)).toBe(false);
        if (proof.length) expect(verifyConsistency(m, n, r1, r2, flipOne(proof, other, bit))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('no proof links two histories that share only a prefix (the fork property)', () => {
    // X and Y agree on their first p leaves and differ after; for m > p no proof of X's m
    // leaves against Y's n leaves (or the reverse) verifies, whatever the proof: the honest
    // proofs of either history, or a proof built from a mix of both trees' subtrees.
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }).chain((p) =>
          fc.record({
            p: fc.constant(p),
            m: fc.integer({ min: p + 1, max: p + 40 }),
            n: fc.integer({ min: p + 1, max: p + 80 }),
            seed: fc.nat(),
          }),
        ),
        ({ p, m, n, seed }) => {
          const common = randomTree(p, seed);
          const x = [...common, ...randomTree(Math.max(m, n) - p, seed + 1).map((h) => nodeHash(h, h))];
          const y = [...common, ...randomTree(Math.max(m, n) - p, seed + 2)];
          const rootX = treeHash(x.slice(0, m));
          const rootY = treeHash(y.slice(0, n));
          const [small, large, rootSmall, rootLarge] = m <= n ? [m, n, rootX, rootY] : [n, m, rootY, rootX];
          const candidates = [
            consistencyProof(small, x.slice(0, large)),
            consistencyProof(small, y.slice(0, large)),
            consistencyProof(small, [...x.slice(0, small), ...y.slice(small, large)]),
          ];
          for (const proof of candidates) {
            expect(verifyConsistency(small, large, rootSmall, rootLarge, proof)).toBe(false);
          }
          if (m === n) expect(verifyConsistency(m, n, rootX, rootY, [])).toBe(false);
          // An inclusion proof of a leaf of X against Y's root fails too, once past the prefix.
          const i = p + ((seed % (Math.min(m, n) - p)) >>> 0);
          expect(rootFromInclusion(i, n, x[i], inclusionProof(i, y.slice(0, n)))).not.toEqual(rootY);
        },
      ),
      { numRuns: 200 },
    );
  });
});
