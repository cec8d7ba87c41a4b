/**
 * What an owner needs to watch a log for entries under its own label (docs/transparency.md
 * §8.2): C2SP tlog-tiles entry bundles (their paths and their strict parsing), and a scan
 * that extends a frontier over the entries read, so the entries are checked against a signed
 * checkpoint (the root they fold to must be its root) before any conclusion is drawn from them.
 */
import { equalBytes } from '../encoding.js';
import { KeyPearsError, type ErrorCode } from '../errors.js';
import { decodeEntry } from './entry.js';
import { appendEntry, rootFromFrontier } from './tree-storage.js';
import { isIndex } from './text.js';

/** Entries per full tile (C2SP tlog-tiles). */
export const ENTRY_TILE_WIDTH = 256;
/** An entry bundle holds at most 256 entries of at most 64 KiB each; KeyPears entries are ~110 bytes. */
export const ENTRY_BUNDLE_MAX_BYTES = ENTRY_TILE_WIDTH * 2 * 1024;

/** The tile index N as C2SP path elements: groups of three digits, all but the last prefixed with x. */
export function tileIndexPath(n: number): string {
  if (!isIndex(n)) throw new KeyPearsError('invalid_argument', 'a tile index is an integer from 0 to 2^53 - 1');
  const digits = String(n);
  const padded = digits.padStart(Math.ceil(digits.length / 3) * 3, '0');
  const groups = padded.match(/.{3}/g)!;
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/** The path (under the log's prefix) of the entry bundle holding `index` in a tree of `size`. */
export function entryBundlePath(index: number, size: number): { path: string; first: number; count: number } {
  if (!isIndex(index) || !isIndex(size) || index >= size) {
    throw new KeyPearsError('invalid_argument', 'the index must be below the size');
  }
  const tile = Math.floor(index / ENTRY_TILE_WIDTH);
  const first = tile * ENTRY_TILE_WIDTH;
  const count = Math.min(ENTRY_TILE_WIDTH, size - first);
  const partial = count < ENTRY_TILE_WIDTH ? `.p/${count}` : '';
  return { path: `tile/entries/${tileIndexPath(tile)}${partial}`, first, count };
}

/**
 * The entries of a bundle: each a big-endian 16-bit length then its bytes, exactly `count`
 * of them and nothing after. @throws KeyPearsError `code`.
 */
export function parseEntryBundle(bytes: Uint8Array, count: number, code: ErrorCode = 'kt_proof_invalid'): Uint8Array[] {
  if (!(bytes instanceof Uint8Array) || bytes.length > ENTRY_BUNDLE_MAX_BYTES) {
    throw new KeyPearsError(code, 'the entry bundle is too large');
  }
  const entries: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) throw new KeyPearsError(code, 'the entry bundle ends inside a length');
    const length = (bytes[at] << 8) | bytes[at + 1];
    if (at + 2 + length > bytes.length) throw new KeyPearsError(code, 'the entry bundle ends inside an entry');
    entries.push(bytes.slice(at + 2, at + 2 + length));
    at += 2 + length;
  }
  if (entries.length !== count) {
    throw new KeyPearsError(code, `the entry bundle holds ${entries.length} entries, not ${count}`);
  }
  return entries;
}

/** The encoding parseEntryBundle reads (for the node and the tests). */
export function formatEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(entries.reduce((n, e) => n + 2 + e.length, 0));
  let at = 0;
  for (const e of entries) {
    if (e.length > 0xffff) throw new KeyPearsError('invalid_argument', 'an entry is at most 65535 bytes');
    out[at] = e.length >> 8;
    out[at + 1] = e.length & 0xff;
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  return out;
}

/** How far an owner has read a log: the size scanned and the frontier of those entries. */
export interface ScanState {
  size: number;
  frontier: Uint8Array[];
}

export const EMPTY_SCAN: ScanState = { size: 0, frontier: [] };

/** An entry under the owner's label that the owner did not make. */
export interface ForeignEntry {
  index: number;
  entry: Uint8Array;
}

/**
 * Reads entries `[scan.size, scan.size + entries.length)` of a log: extends the frontier, and
 * when the scan reaches `checkpoint.size` checks that the entries fold to its root (else the
 * node served entries that are not its log: `kt_proof_invalid`). Returns the new scan state and
 * every entry carrying `label` at an index not in `ownIndexes`.
 */
export function scanEntries(input: {
  scan: ScanState;
  entries: readonly Uint8Array[];
  label: Uint8Array;
  ownIndexes: readonly number[];
  checkpoint: { size: number; root: Uint8Array };
}): { scan: ScanState; foreign: ForeignEntry[] } {
  const { entries, label, ownIndexes, checkpoint } = input;
  let { size, frontier } = input.scan;
  if (size + entries.length > checkpoint.size) {
    throw new KeyPearsError('kt_proof_invalid', 'the log served more entries than its checkpoint holds');
  }
  const foreign: ForeignEntry[] = [];
  for (const bytes of entries) {
    const entry = decodeEntry(bytes);
    if (equalBytes(entry.label, label) && !ownIndexes.includes(size)) foreign.push({ index: size, entry: bytes });
    frontier = appendEntry(frontier, size, bytes).frontier;
    size += 1;
  }
  if (size === checkpoint.size && !equalBytes(rootFromFrontier(frontier), checkpoint.root)) {
    throw new KeyPearsError('kt_proof_invalid', `the entries served do not make the log's tree of size ${size}`);
  }
  return { scan: { size, frontier }, foreign };
}
