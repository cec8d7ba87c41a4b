/**
 * What an owner needs to watch a log for entries under its own label (docs/transparency.md
 * §8.2): where the entry bundle of an index is (C2SP tlog-tiles, wire.ts), and a scan that
 * extends a frontier over the entries read, so the entries are checked against a signed
 * checkpoint (the root they fold to must be its root) before any conclusion is drawn from them.
 */
import { equalBytes } from '../encoding.js';
import { KeyPearsError } from '../errors.js';
import { decodeEntry } from './entry.js';
import { appendEntry, rootFromFrontier } from './tree-storage.js';
import { isIndex } from './text.js';
import { formatTileIndex, TILE_WIDTH } from './wire.js';

/** The path (under the log's prefix) of the entry bundle holding `index` in a tree of `size`. */
export function entryBundlePath(index: number, size: number): { path: string; first: number; count: number } {
  if (!isIndex(index) || !isIndex(size) || index >= size) {
    throw new KeyPearsError('invalid_argument', 'the index must be below the size');
  }
  const tile = Math.floor(index / TILE_WIDTH);
  const first = tile * TILE_WIDTH;
  const count = Math.min(TILE_WIDTH, size - first);
  const partial = count < TILE_WIDTH ? `.p/${count}` : '';
  return { path: `tile/entries/${formatTileIndex(tile)}${partial}`, first, count };
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
