/**
 * Fetches an address's public identity from the node that serves it
 * (`GET <node>/api/v1/identities/<address>`), through safe-fetch, and verifies every
 * signature in it before anyone uses it. Shared by the node's resolve API and the CLI.
 */
import { KeyPearsError } from '../protocol/errors.js';
import { KT_KNOWN_HEADER_NAME } from '../protocol/transparency/wire.js';
import { decodePublicIdentity, type PublicIdentity } from '../protocol/wire.js';
import { cacheControlMaxAge, safeFetch, type SafeFetchOptions } from './safe-fetch.js';

export interface FetchedIdentity {
  /** Verified: every signature in it checks out. */
  identity: PublicIdentity;
  /** The answer's `transparency` member as received, when `ktKnown` asked for it (verified by the caller). */
  transparency?: unknown;
  /** The answer's Cache-Control max-age (0 for no-store/no-cache), if it sent one. */
  maxAgeSeconds?: number;
}

/**
 * @throws KeyPearsError `not_found` when the node has no such address, `peer_unavailable`
 *   when it cannot be reached, `peer_error` when it answers something unusable, or a
 *   safe-fetch refusal (`destination_forbidden`, `insecure_scheme`, ...).
 */
export async function fetchRemoteIdentity(
  nodeUrl: string,
  address: string,
  opts: Pick<SafeFetchOptions, 'dev' | 'dnsServers' | 'resolveHost' | 'timeoutMs'>,
): Promise<PublicIdentity> {
  return (await fetchRemoteIdentityWithMaxAge(nodeUrl, address, opts)).identity;
}

/** `fetchRemoteIdentity`, with how long the serving node lets the answer be cached. */
export async function fetchRemoteIdentityWithMaxAge(
  nodeUrl: string,
  address: string,
  opts: Pick<SafeFetchOptions, 'dev' | 'dnsServers' | 'resolveHost' | 'timeoutMs'> & {
    /** Sent as KeyPears-KT-Known: the size of the serving node's log the caller verified (docs/transparency.md §11.2). */
    ktKnown?: number;
  },
): Promise<FetchedIdentity> {
  const url = `${nodeUrl}/api/v1/identities/${encodeURIComponent(address)}`;
  const { ktKnown, ...fetchOpts } = opts;
  let res;
  try {
    res = await safeFetch(url, {
      ...fetchOpts,
      maxBytes: 64 * 1024,
      ...(ktKnown !== undefined ? { headers: { [KT_KNOWN_HEADER_NAME]: String(ktKnown) } } : {}),
    });
  } catch (e) {
    if (e instanceof KeyPearsError && (e.code === 'fetch_failed' || e.code === 'fetch_timeout')) {
      throw new KeyPearsError('peer_unavailable', `node ${nodeUrl} is unreachable: ${e.message}`);
    }
    throw e;
  }
  if (res.status === 404) throw new KeyPearsError('not_found', `${address} is not registered at ${nodeUrl}`);
  if (res.status >= 500) throw new KeyPearsError('peer_unavailable', `node ${nodeUrl} answered ${res.status}`);
  if (res.status !== 200)
    throw new KeyPearsError('peer_error', `node ${nodeUrl} answered ${res.status} for ${address}`);
  const { transparency, ...body } = (res.json('peer_error') ?? {}) as { transparency?: unknown };
  try {
    decodePublicIdentity(body, address);
  } catch (e) {
    throw new KeyPearsError(
      'peer_error',
      `node ${nodeUrl} sent an invalid identity for ${address}: ${(e as Error).message}`,
    );
  }
  return {
    identity: body as PublicIdentity,
    maxAgeSeconds: cacheControlMaxAge(res.headers['cache-control']),
    ...(transparency !== undefined ? { transparency } : {}),
  };
}
