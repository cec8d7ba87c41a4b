/**
 * What the key directory reads with an account for the transparency log (docs/transparency.md
 * §12.1): the account's entry as stored, and what a lookup serves with it. Plain types, shared
 * by the directory's storage and the transparency service.
 */
import type { EntryKind } from '../protocol/transparency/entry.js';

export interface AccountEntry {
  generation: number;
  index: number;
  kind: Extract<EntryKind, 'register' | 'import'>;
  vrfProof: Uint8Array;
  opening: Uint8Array;
  /** The registration proof and its timestamp; absent on an import whose timestamp was not recovered. */
  registeredAt?: number;
  registrationProof?: Uint8Array;
  /** The entry stored in the log at `index` (what the self-check compares the account with). */
  storedEntry: Uint8Array | null;
}

/** The registration an entry commits to, as the account row holds it. */
export interface LoggedAccount {
  address: string;
  identityKey: Uint8Array;
  identityDhKey: { id: number; publicKey: Uint8Array; signature: Uint8Array };
  /** null: not (yet) in the log. */
  entry: AccountEntry | null;
}

/** The columns a directory query selects for `AccountEntry` (the stored entry by primary key). */
export const ACCOUNT_ENTRY_COLUMNS = `kt_generation, kt_index, kt_kind, kt_vrf_proof, kt_opening, registered_at,
  registration_proof,
  (SELECT entry FROM kt_leaf WHERE kt_leaf.generation = account.kt_generation AND kt_leaf.idx = account.kt_index)
    AS kt_entry`;

/** Those columns as pg returns them. */
export interface AccountEntryRow {
  kt_generation: number | null;
  kt_index: string | null;
  kt_kind: string | null;
  kt_vrf_proof: Buffer | null;
  kt_opening: Buffer | null;
  registered_at: string | null;
  registration_proof: Buffer | null;
  kt_entry: Buffer | null;
}

/** The entry of a row, or null when the account has none. */
export function accountEntryFromRow(r: AccountEntryRow): AccountEntry | null {
  if (r.kt_generation === null || r.kt_index === null || r.kt_vrf_proof === null || r.kt_opening === null) return null;
  const entry: AccountEntry = {
    generation: r.kt_generation,
    index: Number(r.kt_index),
    kind: r.kt_kind === 'import' ? 'import' : 'register',
    vrfProof: new Uint8Array(r.kt_vrf_proof),
    opening: new Uint8Array(r.kt_opening),
    storedEntry: r.kt_entry === null ? null : new Uint8Array(r.kt_entry),
  };
  if (r.registered_at !== null && r.registration_proof !== null) {
    entry.registeredAt = Number(r.registered_at);
    entry.registrationProof = new Uint8Array(r.registration_proof);
  }
  return entry;
}
