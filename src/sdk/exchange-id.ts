/**
 * Naming an exchange the way people type it: the whole id (22 base64url characters, which may
 * start with `-`), or a unique prefix of at least 4 characters, as git takes commit prefixes.
 */
import { KeyPearsError } from '../protocol/errors.js';

export const MIN_ID_PREFIX = 4;
const ID_TEXT = /^[A-Za-z0-9_-]{1,22}$/;

/**
 * The one id among `known` that `text` names: itself, or the only one it is a prefix of.
 *
 * @throws KeyPearsError `invalid_argument` (not id characters, a prefix shorter than 4, or one
 *   naming several exchanges: they are listed) or `not_found`.
 */
export function matchExchangeId(text: string, known: Iterable<string>): string {
  if (!ID_TEXT.test(text)) throw new KeyPearsError('invalid_argument', `"${text}" is not an exchange id`);
  const ids = [...new Set(known)];
  if (ids.includes(text)) return text;
  if (text.length === 22) throw new KeyPearsError('not_found', `no exchange ${text}`);
  if (text.length < MIN_ID_PREFIX) {
    throw new KeyPearsError('invalid_argument', `an exchange id prefix needs at least ${MIN_ID_PREFIX} characters`);
  }
  const matches = ids.filter((id) => id.startsWith(text)).sort();
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) throw new KeyPearsError('not_found', `no exchange id starts with ${text}`);
  throw new KeyPearsError('invalid_argument', `${text} names ${matches.length} exchanges: ${matches.join(', ')}`, {
    matches,
  });
}
