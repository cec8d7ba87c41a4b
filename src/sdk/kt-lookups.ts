/**
 * The client's key-transparency checks wired to the network (docs/transparency.md §8.1, §8.2):
 * lookups that ask for the proof (`KeyPears-KT-Known`) and verify it against the keystore's
 * state, and the owner's monitor reading its own node's log. The state lives in the keystore
 * (src/sdk/transparency.ts); the caller saves the keystore afterwards, also after a failure,
 * so that the evidence is kept.
 */
import { discoverDomain, fetchNodeDocument } from '../net/domain-discovery.js';
import { fetchRemoteIdentityWithMaxAge } from '../net/remote-identity.js';
import { safeFetch } from '../net/safe-fetch.js';
import { parseAddress } from '../protocol/address.js';
import { equalBytes, fromB64u } from '../protocol/encoding.js';
import { KeyPearsError } from '../protocol/errors.js';
import {
  ConsistencyProofResponseSchema,
  InclusionProofResponseSchema,
  parseLogAdvertisement,
  type AdvertisedLog,
  type VerifiedEntry,
} from '../protocol/transparency/wire.js';
import { decodePublicIdentity, parseWire, type PublicIdentity } from '../protocol/wire.js';
import type { ClientDiscoveryOptions, ResolvedAddress } from './resolve.js';
import {
  knownSize,
  type LogReader,
  monitorOwnEntries,
  type MonitorReport,
  setSelf,
  type TransparencyState,
  verifyIdentityForClient,
} from './transparency.js';

/** The identity keys of a served identity, as the log entry commits to them. */
export function servedIdentityOf(identity: PublicIdentity, address: string) {
  const decoded = decodePublicIdentity(identity, address);
  return { identityKey: decoded.identityKey, identityDhKey: decoded.identityDhKey };
}

/**
 * Discovers the node of `address`, fetches its identity with the proof, and verifies it
 * against `state` (changed: pins, tree heads, evidence).
 *
 * @throws KeyPearsError as `resolveAddress`, or a `kt_*` code (docs/transparency.md §8).
 */
export async function resolveVerified(
  state: TransparencyState,
  address: string,
  opts: ClientDiscoveryOptions & {
    now: number;
    /** The user: an address of the user's own domain is looked up on the user's own node, without discovery. */
    self?: { address: string; node: string };
  },
): Promise<ResolvedAddress & { entry?: VerifiedEntry }> {
  const { canonical, domain } = parseAddress(address);
  const { self, now, ...discovery } = opts;
  const found =
    self && parseAddress(self.address).domain === domain
      ? { nodeUrl: self.node, method: 'own-node' as const }
      : await discoverDomain(domain, discovery);
  const fetched = await fetchRemoteIdentityWithMaxAge(found.nodeUrl, canonical, {
    ...discovery,
    ktKnown: knownSize(state, domain),
  });
  const entry = verifyIdentityForClient(state, {
    address: canonical,
    domain,
    nodeUrl: found.nodeUrl,
    identity: servedIdentityOf(fetched.identity, canonical),
    member: fetched.transparency,
    now,
  });
  return {
    address: canonical,
    node: found.nodeUrl,
    method: found.method,
    identity: fetched.identity,
    fingerprint: fetched.identity.fingerprint,
    ...(entry ? { entry } : {}),
  };
}

/** The log a node advertises in its document; undefined when it advertises none. */
export async function advertisedLog(nodeUrl: string, opts: ClientDiscoveryOptions): Promise<AdvertisedLog | undefined> {
  const { document } = await fetchNodeDocument(nodeUrl, opts);
  return document.transparency === undefined ? undefined : parseLogAdvertisement(document.transparency, nodeUrl);
}

/** Reads a log's routes over HTTP (docs/transparency.md §11.1), with the SSRF guard and size limits. */
export function httpLogReader(logUrl: string, opts: ClientDiscoveryOptions): LogReader {
  const get = async (path: string, maxBytes: number) => {
    const res = await safeFetch(`${logUrl}/${path}`, { ...opts, maxBytes });
    if (res.status !== 200) throw new KeyPearsError('peer_error', `${logUrl}/${path} answered ${res.status}`);
    return res;
  };
  const hashes = (list: string[]) => list.map((h) => fromB64u(h, 'proof hash', 'kt_proof_invalid'));
  return {
    checkpoint: async () => new TextDecoder('utf-8', { fatal: true }).decode((await get('checkpoint', 16 * 1024)).body),
    consistency: async (from, to) => {
      const res = await get(`proof/consistency?from=${from}&to=${to}`, 8 * 1024);
      const body = parseWire(ConsistencyProofResponseSchema, res.json('kt_proof_invalid'), 'kt_proof_invalid');
      if (body.from !== from || body.to !== to) throw new KeyPearsError('kt_proof_invalid', 'another proof was sent');
      return hashes(body.proof);
    },
    inclusion: async (index, size) => {
      const res = await get(`proof/inclusion?index=${index}&size=${size}`, 8 * 1024);
      const body = parseWire(InclusionProofResponseSchema, res.json('kt_proof_invalid'), 'kt_proof_invalid');
      if (body.index !== index || body.size !== size)
        throw new KeyPearsError('kt_proof_invalid', 'another proof was sent');
      return hashes(body.proof);
    },
    entryBundle: async (path) => (await get(path, 256 * 258)).body,
  };
}

/**
 * One run of the owner's monitor over the user's own node (`keypears kt monitor`): the log its
 * document advertises, the user's own entry (looked up and verified on the first run), then
 * every entry since the last run.
 *
 * @throws KeyPearsError `kt_foreign_entry` with the entries, or a `kt_*` code, or
 *   `kt_proof_missing` when the node advertises no log.
 */
export async function monitorSelf(
  state: TransparencyState,
  self: { address: string; node: string; identityKey: Uint8Array },
  opts: ClientDiscoveryOptions & { now: number },
): Promise<MonitorReport> {
  const { domain } = parseAddress(self.address);
  const log = await advertisedLog(self.node, opts);
  if (!log) throw new KeyPearsError('kt_proof_missing', `${self.node} advertises no transparency log`);
  if (!state.self || state.self.origin !== log.identity.origin) {
    const fetched = await fetchRemoteIdentityWithMaxAge(self.node, self.address, {
      ...opts,
      ktKnown: knownSize(state, domain),
    });
    const identity = servedIdentityOf(fetched.identity, self.address);
    if (!equalBytes(identity.identityKey, self.identityKey)) {
      throw new KeyPearsError(
        'kt_foreign_entry',
        `${self.node} serves another identity key for ${self.address} than this device's`,
      );
    }
    const entry = verifyIdentityForClient(state, {
      address: self.address,
      domain,
      nodeUrl: self.node,
      identity,
      member: fetched.transparency,
      now: opts.now,
    });
    setSelf(state, entry);
  }
  return monitorOwnEntries(state, {
    domain,
    advertised: log.identity,
    reader: httpLogReader(log.url, opts),
    now: opts.now,
  });
}
