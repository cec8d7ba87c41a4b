/**
 * The Merkle tree of RFC 9162 §2.1 (the same hashing as RFC 6962): leaf and node hashes, the
 * tree hash of a list, inclusion proofs (PATH) and consistency proofs (PROOF), and the
 * verification algorithms of §2.1.3.2 and §2.1.4.2. docs/transparency.md §2.
 *
 * Generation works on leaf hashes in memory (tests, small trees); the node builds the same
 * proofs from stored subtree hashes with tree-storage.ts, which shares the range arithmetic
 * below. Verification never throws: any malformed input is simply a proof that fails.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes } from '../encoding.js';
import { KeyPearsError } from '../errors.js';
import { isIndex, requireIndex } from './text.js';

export const HASH_LENGTH = 32;
/** No RFC 9162 proof of a tree with at most 2^53 leaves has more hashes than this. */
export const MAX_PROOF_HASHES = 64;

/** MTH of the empty tree: SHA-256 of the empty string. */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

/** SHA-256(0x00 || entry). */
export function leafHash(entry: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + entry.length);
  input.set(entry, 1);
  return sha256(input);
}

/** SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + 2 * HASH_LENGTH);
  input[0] = 1;
  input.set(left, 1);
  input.set(right, 1 + HASH_LENGTH);
  return sha256(input);
}

/** A half-open range of leaf indexes [start, end) that is a node of the RFC 9162 tree. */
export interface LeafRange {
  start: number;
  end: number;
}

/** The largest power of two smaller than n (n >= 2): the RFC's split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The subtrees whose hashes make up PATH(index, D[size]), from the leaf's sibling up. */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  requireIndex(index, 'index');
  requireIndex(size, 'size');
  if (index >= size) throw new KeyPearsError('invalid_argument', 'index must be below size');
  const ranges: LeafRange[] = [];
  let start = 0;
  let end = size;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index < start + k) {
      ranges.push({ start: start + k, end });
      end = start + k;
    } else {
      ranges.push({ start, end: start + k });
      start += k;
    }
  }
  return ranges.reverse();
}

/** The subtrees whose hashes make up PROOF(from, D[to]) (RFC 9162 §2.1.4.1), in proof order. */
export function consistencyRanges(from: number, to: number): LeafRange[] {
  requireIndex(from, 'from');
  requireIndex(to, 'to');
  if (from > to) throw new KeyPearsError('invalid_argument', 'from must not be above to');
  if (from === 0 || from === to) return [];
  // SUBPROOF(m, D[start:end], b), unrolled: each step records the sibling of the subtree it
  // descends into; the last step records the subtree of size m itself unless b still holds.
  const ranges: LeafRange[] = [];
  let m = from;
  let start = 0;
  let end = to;
  let whole = true;
  while (m !== end - start) {
    const k = splitPoint(end - start);
    if (m <= k) {
      ranges.push({ start: start + k, end });
      end = start + k;
    } else {
      ranges.push({ start, end: start + k });
      m -= k;
      start += k;
      whole = false;
    }
  }
  if (!whole) ranges.push({ start, end });
  return ranges.reverse();
}

/** MTH(D[start:end]) over leaf hashes held in memory. */
export function rangeHash(leafHashes: readonly Uint8Array[], start: number, end: number): Uint8Array {
  if (end - start === 0) return EMPTY_ROOT;
  if (end - start === 1) return leafHashes[start];
  const k = splitPoint(end - start);
  return nodeHash(rangeHash(leafHashes, start, start + k), rangeHash(leafHashes, start + k, end));
}

/** MTH of a list of leaf hashes (RFC 9162 §2.1.1). */
export function treeHash(leafHashes: readonly Uint8Array[]): Uint8Array {
  return rangeHash(leafHashes, 0, leafHashes.length);
}

/** PATH(index, D[n]) for the tree of these leaf hashes (n = their number). */
export function inclusionProof(index: number, leafHashes: readonly Uint8Array[]): Uint8Array[] {
  return inclusionRanges(index, leafHashes.length).map((r) => rangeHash(leafHashes, r.start, r.end));
}

/** PROOF(from, D[n]) for the tree of these leaf hashes. */
export function consistencyProof(from: number, leafHashes: readonly Uint8Array[]): Uint8Array[] {
  return consistencyRanges(from, leafHashes.length).map((r) => rangeHash(leafHashes, r.start, r.end));
}

const isHashList = (proof: unknown): proof is readonly Uint8Array[] =>
  Array.isArray(proof) &&
  proof.length <= MAX_PROOF_HASHES &&
  proof.every((p) => p instanceof Uint8Array && p.length === HASH_LENGTH);

const isHash = (value: unknown): value is Uint8Array => value instanceof Uint8Array && value.length === HASH_LENGTH;

/**
 * The root an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1-4), or undefined when the
 * proof cannot be for this index and size (wrong length, index out of range).
 */
export function rootFromInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array | undefined {
  if (!isIndex(index) || !isIndex(size) || index >= size || !isHash(leaf) || !isHashList(proof)) return undefined;
  // fn and sn stay below 2^53, so halving with Math.floor is exact (bit operators are 32-bit).
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      [fn, sn] = skipToLeftSibling(fn, sn);
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

/** RFC 9162 §2.1.3.2: does `proof` show leaf hash `leaf` at `index` in the tree of `size` with `root`? */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const computed = rootFromInclusion(index, size, leaf, proof);
  return computed !== undefined && isHash(root) && equalBytes(computed, root);
}

/**
 * RFC 9162 §2.1.4.2: does `proof` show that the tree of size `from` with root `fromRoot` is a
 * prefix of the tree of size `to` with root `toRoot`? Beyond the RFC's 0 < from < to: equal
 * sizes need an empty proof and equal roots; from = 0 needs an empty proof and the empty root
 * (the empty tree is a prefix of every tree, as in C2SP tlog-witness).
 */
export function verifyConsistency(
  from: number,
  to: number,
  fromRoot: Uint8Array,
  toRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!isIndex(from) || !isIndex(to) || from > to || !isHash(fromRoot) || !isHash(toRoot) || !isHashList(proof)) {
    return false;
  }
  if (from === 0) return proof.length === 0 && equalBytes(fromRoot, EMPTY_ROOT);
  if (from === to) return proof.length === 0 && equalBytes(fromRoot, toRoot);
  if (proof.length === 0) return false;
  // Step 2: when `from` is a power of two its root is the first node of the path.
  const path = isPowerOfTwo(from) ? [fromRoot, ...proof] : proof;
  let fn = from - 1;
  let sn = to - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      [fn, sn] = skipToLeftSibling(fn, sn);
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(fr, fromRoot) && equalBytes(sr, toRoot);
}

/**
 * When fn is a right edge without a sibling at this level (LSB clear), right-shifts fn and sn
 * together until fn is odd or zero (§2.1.3.2 step 4b2, §2.1.4.2 step 6b3).
 */
function skipToLeftSibling(fn: number, sn: number): [number, number] {
  while (fn % 2 === 0 && fn !== 0) {
    fn /= 2;
    sn = Math.floor(sn / 2);
  }
  return [fn, sn];
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}
