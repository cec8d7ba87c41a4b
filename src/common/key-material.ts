/**
 * Classifies why a request carrying key material failed its wire schema, so that the status
 * says what is wrong (docs/errors.md): a well-formed request whose keys have the wrong length or
 * encoding is 422 `invalid_key`, a malformed signature is 422 `bad_signature`, anything else
 * is 400 `invalid_request`.
 */
import type { z } from 'zod';
import { KeyPearsError } from '../protocol/errors.js';
import { formatZodError } from './zod.js';

const KEY_FIELDS = new Set(['publicKey', 'identityKey']);
const SIGNATURE_FIELDS = new Set(['signature', 'proof']);

const lastSegment = (issue: z.core.$ZodIssue): unknown => issue.path[issue.path.length - 1];

/** Parses `value` with `schema` or throws the most precise of the three errors above. */
export function parseKeyMaterial<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const message = formatZodError(result.error);
  if (issues.every((i) => KEY_FIELDS.has(String(lastSegment(i))) || SIGNATURE_FIELDS.has(String(lastSegment(i))))) {
    if (issues.some((i) => KEY_FIELDS.has(String(lastSegment(i))))) throw new KeyPearsError('invalid_key', message);
    throw new KeyPearsError('bad_signature', message);
  }
  throw new KeyPearsError('invalid_request', message);
}
