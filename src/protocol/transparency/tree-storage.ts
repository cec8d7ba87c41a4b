/**
 * How a node stores the RFC 9162 tree so that appends read nothing and proofs need one query
 * (docs/transparency.md §3).
 *
 * - A *subtree* (level l, index i) is the complete subtree over leaves [i·2^l, (i+1)·2^l).
 * - Its hash is stored once, with the row of its last leaf, (i+1)·2^l − 1, at slot l: the row
 *   of leaf j holds the hashes of every subtree that j completes, slots 0 to t where t is the
 *   number of trailing one bits of j (one hash per leaf plus one per internal node, about two
 *   per leaf). Rows are immutable once written.
 * - The *frontier* of a tree of size n is the list of hashes of the complete subtrees that n's
 *   binary decomposition gives, largest (leftmost) first: at most 53 hashes. With it, an append
 *   computes the new leaf's row and the new frontier without reading anything, and the root is
 *   a fold of the frontier.
 * - Every hash of a proof is the tree hash of an RFC 9162 node [start, end), which is the fold of
 *   the complete subtrees that cover it, so a proof needs the rows named by `StoredHashPlan`.
 */
import { concatBytes } from '../encoding.js';
import { KeyPearsError } from '../errors.js';
import {
  consistencyRanges,
  EMPTY_ROOT,
  HASH_LENGTH,
  inclusionRanges,
  type LeafRange,
  leafHash as hashLeaf,
  nodeHash,
} from './merkle.js';
import { requireIndex } from './text.js';

/** A complete subtree: leaves [index·2^level, (index+1)·2^level). */
export interface Subtree {
  level: number;
  index: number;
}

/** Where a subtree's hash is stored: in the row of leaf `leaf`, at `slot` (bytes 32·slot to 32·slot + 32). */
export interface StoredHashLocation {
  leaf: number;
  slot: number;
}

/** 2^l for the levels of a tree below 2^53 leaves (a table: the ** operator cost more than the rest of a plan). */
const POW2 = Array.from({ length: 54 }, (_, l) => 2 ** l);

/** The number of trailing one bits of n (n < 2^53). */
function trailingOnes(n: number): number {
  let count = 0;
  while (n % 2 === 1) {
    count++;
    n = (n - 1) / 2;
  }
  return count;
}

/** The number of one bits of n (n < 2^53): the number of complete subtrees in a tree of n leaves. */
function onesOf(n: number): number {
  let count = 0;
  for (; n > 0; n = Math.floor(n / 2)) count += n % 2;
  return count;
}

/** How many hashes the row of leaf `leaf` holds: 1 + its trailing one bits. */
export const storedHashCount = (leaf: number): number => 1 + trailingOnes(requireIndex(leaf, 'leaf'));

/** The row and slot that hold a subtree's hash. */
export function storedHashLocation(subtree: Subtree): StoredHashLocation {
  const { level, index } = subtree;
  requireIndex(index, 'index');
  if (!Number.isInteger(level) || level < 0 || level > 52) {
    throw new KeyPearsError('invalid_argument', 'level must be an integer from 0 to 52');
  }
  const leaf = (index + 1) * POW2[level] - 1;
  requireIndex(leaf, 'last leaf of the subtree');
  return { leaf, slot: level };
}

/** The subtree whose hash a row holds at a slot; the inverse of storedHashLocation. */
export function subtreeAt(location: StoredHashLocation): Subtree {
  const { leaf, slot } = location;
  if (!Number.isInteger(slot) || slot < 0 || slot >= storedHashCount(leaf)) {
    throw new KeyPearsError('invalid_argument', `the row of leaf ${leaf} has no slot ${slot}`);
  }
  return { level: slot, index: (leaf + 1) / POW2[slot] - 1 };
}

/**
 * The complete subtrees covering [start, end), left to right: at each step the largest
 * subtree that starts at the current leaf (aligned) and fits.
 */
export function coveringSubtrees(start: number, end: number): Subtree[] {
  requireIndex(start, 'start');
  requireIndex(end, 'end');
  const subtrees: Subtree[] = [];
  let at = start;
  while (at < end) {
    // Grow the block while `at` stays aligned to it and it still fits (products of 2 are exact).
    let level = 0;
    let width = 1;
    while ((at / width) % 2 === 0 && at + 2 * width <= end) {
      width *= 2;
      level++;
    }
    subtrees.push({ level, index: at / width });
    at += width;
  }
  return subtrees;
}

/** Folds subtree hashes, left to right, into the hash of the node they cover (right to left). */
function fold(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return EMPTY_ROOT;
  let root = hashes[hashes.length - 1];
  for (let i = hashes.length - 2; i >= 0; i--) root = nodeHash(hashes[i], root);
  return root;
}

/** The root of a tree from its frontier (the empty tree's root for an empty frontier). */
export const rootFromFrontier = (frontier: readonly Uint8Array[]): Uint8Array => fold(frontier);

/** What an append writes: the new leaf's row, and the new frontier. */
export interface Append {
  /** Hashes of the subtrees the new leaf completes, slot 0 (the leaf hash) first, concatenated. */
  row: Uint8Array;
  frontier: Uint8Array[];
}

/**
 * Appends the entry at index `size` to a tree of `size` leaves whose frontier is given.
 *
 * @throws KeyPearsError `invalid_argument` when the frontier does not fit the size.
 */
export function appendEntry(frontier: readonly Uint8Array[], size: number, entry: Uint8Array): Append {
  requireIndex(size, 'size');
  requireIndex(size + 1, 'size + 1');
  if (frontier.length !== onesOf(size)) {
    throw new KeyPearsError('invalid_argument', `a tree of size ${size} has a frontier of ${frontier.length} hashes`);
  }
  const next = frontier.slice();
  let hash = hashLeaf(entry);
  const row = [hash];
  // Each trailing one bit of the new leaf's index is a subtree it completes with its left sibling.
  for (let bits = size; bits % 2 === 1; bits = (bits - 1) / 2) {
    hash = nodeHash(next.pop()!, hash);
    row.push(hash);
  }
  next.push(hash);
  return { row: concatBytes(...row), frontier: next };
}

/**
 * The hashes of the incomplete nodes on the right edge of a tree of `size` leaves, by the leaf
 * they start at: MTH(D[start:size]) for each suffix of the frontier. Every incomplete node of a
 * proof into this tree (inclusion at `size`, consistency to `size`) is one of them, so with these
 * (at most 52 hashes, folded once per tree size) a proof needs one stored hash per element and
 * no hashing at all. A node keeps the edge of its current size beside the frontier.
 */
export interface RightEdge {
  size: number;
  hashes: ReadonlyMap<number, Uint8Array>;
}

/** The right edge of a tree from its frontier. */
export function rightEdge(frontier: readonly Uint8Array[], size: number): RightEdge {
  const subtrees = coveringSubtrees(0, size);
  if (subtrees.length !== frontier.length) {
    throw new KeyPearsError('invalid_argument', `a tree of size ${size} has a frontier of ${subtrees.length} hashes`);
  }
  const hashes = new Map<number, Uint8Array>();
  let suffix = frontier[frontier.length - 1];
  for (let j = frontier.length - 2; j >= 0; j--) {
    suffix = nodeHash(frontier[j], suffix);
    hashes.set(subtrees[j].index * POW2[subtrees[j].level], suffix);
  }
  return { size, hashes };
}

/** The rows a set of proof hashes needs, and how to assemble them once read. */
export interface StoredHashPlan {
  /** Leaf indexes of the rows to read, ascending, each once. */
  leaves: number[];
  /** For each hash of the result: the stored subtrees it folds, left to right, or the hash itself when known. */
  parts: Array<StoredHashLocation[] | Uint8Array>;
}

function plan(ranges: readonly LeafRange[], size: number, edge?: RightEdge): StoredHashPlan {
  if (edge !== undefined && edge.size !== size) {
    throw new KeyPearsError('invalid_argument', `the right edge is of size ${edge.size}, the proof of size ${size}`);
  }
  const parts = ranges.map((r) => {
    const subtrees = coveringSubtrees(r.start, r.end);
    const known = subtrees.length > 1 && r.end === size ? edge?.hashes.get(r.start) : undefined;
    return known ?? subtrees.map(storedHashLocation);
  });
  const locations = parts.flatMap((part) => (part instanceof Uint8Array ? [] : part));
  const leaves = [...new Set(locations.map((l) => l.leaf))].sort((a, b) => a - b);
  return { leaves, parts };
}

/** The stored hashes PATH(index, D[size]) needs (fewer, with the right edge of `size`). */
export const planInclusionProof = (index: number, size: number, edge?: RightEdge): StoredHashPlan =>
  plan(inclusionRanges(index, size), size, edge);

/** The stored hashes PROOF(from, D[to]) needs (fewer, with the right edge of `to`). */
export const planConsistencyProof = (from: number, to: number, edge?: RightEdge): StoredHashPlan =>
  plan(consistencyRanges(from, to), to, edge);

/** The stored hashes of the frontier of a tree of `size` leaves (its root, folded, is MTH(D[size])). */
export function planFrontier(size: number): StoredHashPlan {
  const parts = coveringSubtrees(0, size).map((s) => [storedHashLocation(s)]);
  return { leaves: parts.map(([l]) => l.leaf), parts };
}

/** Stored rows by leaf index, each the concatenated hashes of that leaf's slots. */
export type StoredRows = ReadonlyMap<number, Uint8Array>;

/**
 * Assembles the hashes a plan describes from the rows read for it: one hash per part, the fold
 * of its stored subtrees.
 *
 * @throws KeyPearsError `internal_error` when a row is missing or has the wrong length (the
 *   store is incomplete or corrupt: the node must not serve a proof from it).
 */
export function assemble(planned: StoredHashPlan, rows: StoredRows): Uint8Array[] {
  const hashAt = ({ leaf, slot }: StoredHashLocation): Uint8Array => {
    const row = rows.get(leaf);
    if (!(row instanceof Uint8Array) || row.length !== storedHashCount(leaf) * HASH_LENGTH) {
      throw new KeyPearsError('internal_error', `stored hashes of leaf ${leaf} are missing or malformed`);
    }
    return row.subarray(slot * HASH_LENGTH, (slot + 1) * HASH_LENGTH);
  };
  return planned.parts.map((part) => (part instanceof Uint8Array ? part : fold(part.map(hashAt))));
}

/** Reads stored rows by leaf index (one query: `... WHERE idx = ANY($1)`). */
export type StoredRowReader = (leaves: readonly number[]) => Promise<StoredRows> | StoredRows;

/** PATH(index, D[size]) from stored rows (and the right edge of `size`, when the caller keeps it). */
export async function proveInclusion(
  index: number,
  size: number,
  read: StoredRowReader,
  edge?: RightEdge,
): Promise<Uint8Array[]> {
  const planned = planInclusionProof(index, size, edge);
  return assemble(planned, await read(planned.leaves));
}

/** PROOF(from, D[to]) from stored rows (and the right edge of `to`, when the caller keeps it). */
export async function proveConsistency(
  from: number,
  to: number,
  read: StoredRowReader,
  edge?: RightEdge,
): Promise<Uint8Array[]> {
  const planned = planConsistencyProof(from, to, edge);
  return assemble(planned, await read(planned.leaves));
}

/** The frontier of the tree of `size` leaves from stored rows (for a check or a rebuilt `kt_log` row). */
export async function readFrontier(size: number, read: StoredRowReader): Promise<Uint8Array[]> {
  const planned = planFrontier(size);
  return assemble(planned, await read(planned.leaves));
}
