/** The bearer token of KEYPEARS_METRICS_TOKEN, checked the same way on both listeners. */
import { timingSafeEqual } from 'node:crypto';
import { sha256 } from '../protocol/crypto.js';
import { KeyPearsError } from '../protocol/errors.js';

const digest = (text: string) => sha256(new TextEncoder().encode(text));

/**
 * Passes when no token is configured or `authorization` is `Bearer <token>`; compares digests
 * in constant time, so the answer's timing does not reveal how much of a guess was right.
 *
 * @throws KeyPearsError `unauthorized` otherwise.
 */
export function requireMetricsToken(authorization: string | undefined, token: string | undefined): void {
  if (token === undefined) return;
  const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
  if (!match || !timingSafeEqual(digest(match[1]), digest(token))) {
    throw new KeyPearsError('unauthorized', 'the metrics need the bearer token of KEYPEARS_METRICS_TOKEN');
  }
}
