/**
 * Contacts (docs/keystore.md, "contacts"): the identity key of each peer, pinned at the first
 * completed exchange (trust on first use). A later exchange, resolve or fingerprint that meets
 * another key for a pinned address stops with `safety_number_changed` until the user accepts
 * the new key; comparing the safety number out of band is recorded as `verifiedAt`.
 * Framework-free (the web app keeps the same member).
 */
import { z } from 'zod';
import { equalBytes, fromB64uSized, toB64u } from '../protocol/encoding.js';
import { KeyPearsError } from '../protocol/errors.js';
import { identityFingerprint } from '../protocol/fingerprint.js';
import { AddressSchema } from '../protocol/wire.js';
import type { Keystore } from './keystore-format.js';

export interface Contact {
  address: string;
  /** The pinned Ed25519 identity key. */
  identityKey: Uint8Array;
  /** Unix seconds when it was pinned (the first completed exchange, or an accepted change). */
  pinnedAt: number;
  /** Unix seconds when the safety number was last compared (`keypears verify`); undefined: never. */
  verifiedAt?: number;
  /** Another key met for this address and not accepted yet (`keypears contacts accept`). */
  changedKey?: { identityKey: Uint8Array; seenAt: number };
}

const Key = z.string().max(64);
const Seconds = z.int().min(0);
export const ContactJson = z.strictObject({
  identityKey: Key,
  pinnedAt: Seconds,
  verifiedAt: Seconds.optional(),
  changedKey: z.strictObject({ identityKey: Key, seenAt: Seconds }).optional(),
});
export const ContactsJson = z.record(AddressSchema, ContactJson);
export type ContactsJson = z.infer<typeof ContactsJson>;

export function serializeContacts(contacts: Map<string, Contact>): ContactsJson {
  return Object.fromEntries(
    [...contacts.values()].map((c) => [
      c.address,
      {
        identityKey: toB64u(c.identityKey),
        pinnedAt: c.pinnedAt,
        ...(c.verifiedAt !== undefined ? { verifiedAt: c.verifiedAt } : {}),
        ...(c.changedKey
          ? { changedKey: { identityKey: toB64u(c.changedKey.identityKey), seenAt: c.changedKey.seenAt } }
          : {}),
      },
    ]),
  );
}

/** @throws KeyPearsError `invalid_keystore`. */
export function parseContacts(json: ContactsJson): Map<string, Contact> {
  const key = (text: string, field: string) => fromB64uSized(text, 32, field, 'invalid_keystore');
  return new Map(
    Object.entries(json).map(([address, c]) => [
      address,
      {
        address,
        identityKey: key(c.identityKey, `contacts.${address}.identityKey`),
        pinnedAt: c.pinnedAt,
        ...(c.verifiedAt !== undefined ? { verifiedAt: c.verifiedAt } : {}),
        ...(c.changedKey
          ? {
              changedKey: {
                identityKey: key(c.changedKey.identityKey, `contacts.${address}.changedKey`),
                seenAt: c.changedKey.seenAt,
              },
            }
          : {}),
      },
    ]),
  );
}

function contactsOf(ks: Keystore): Map<string, Contact> {
  ks.contacts ??= new Map();
  return ks.contacts;
}

/**
 * Checks `identityKey` against the key pinned for `address` (canonical). A first key is fine
 * (nothing is pinned until an exchange completes). Another key than the pinned one is recorded
 * as `changedKey` (so that it can be accepted) and refused: save the keystore, then let the
 * error through.
 *
 * @throws KeyPearsError `safety_number_changed` with the pinned and the new fingerprint.
 */
export function checkContactKey(ks: Keystore, address: string, identityKey: Uint8Array, now: number): void {
  const contact = contactsOf(ks).get(address);
  if (!contact || equalBytes(contact.identityKey, identityKey)) return;
  if (!contact.changedKey || !equalBytes(contact.changedKey.identityKey, identityKey)) {
    contact.changedKey = { identityKey, seenAt: now };
  }
  throw new KeyPearsError(
    'safety_number_changed',
    `the identity key of ${address} is not the one pinned at your first exchange: the safety number changed. ` +
      `Compare the new one with them (keypears verify ${address} after accepting), then run "keypears contacts accept ${address}" if it is theirs`,
    {
      address,
      pinnedFingerprint: identityFingerprint(contact.identityKey),
      seenFingerprint: identityFingerprint(identityKey),
    },
  );
}

/** Whether `ks` holds a change not accepted yet for `address`. */
export const hasChangedKey = (ks: Keystore, address: string): boolean =>
  contactsOf(ks).get(address)?.changedKey !== undefined;

/** Pins `identityKey` for `address` unless a key is pinned already (the first completed exchange). */
export function pinContact(ks: Keystore, address: string, identityKey: Uint8Array, now: number): void {
  const contacts = contactsOf(ks);
  if (!contacts.has(address)) contacts.set(address, { address, identityKey, pinnedAt: now });
}

/**
 * Accepts the changed key of `address`: it becomes the pinned key, not verified yet.
 *
 * @throws KeyPearsError `not_found` (no such contact), `conflict` (no changed key to accept).
 */
export function acceptContactKey(ks: Keystore, address: string, now: number): Contact {
  const contact = contactsOf(ks).get(address);
  if (!contact) throw new KeyPearsError('not_found', `${address} is not among your contacts`);
  if (!contact.changedKey) throw new KeyPearsError('conflict', `the key of ${address} has not changed`);
  const accepted: Contact = { address, identityKey: contact.changedKey.identityKey, pinnedAt: now };
  contactsOf(ks).set(address, accepted);
  return accepted;
}

/** Records that the safety number with `address` under `identityKey` was compared now (pinning it if new). */
export function markVerified(ks: Keystore, address: string, identityKey: Uint8Array, now: number): Contact {
  checkContactKey(ks, address, identityKey, now);
  pinContact(ks, address, identityKey, now);
  const contact = contactsOf(ks).get(address)!;
  contact.verifiedAt = now;
  return contact;
}

/** The contacts, by address. */
export const listContacts = (ks: Keystore): Contact[] =>
  [...contactsOf(ks).values()].sort((a, b) => a.address.localeCompare(b.address));
