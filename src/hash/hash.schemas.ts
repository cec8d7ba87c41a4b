import { z } from 'zod';

/** 64 KiB of UTF-8: the largest input /api/blake3 hashes. */
export const BLAKE3_MAX_INPUT_BYTES = 64 * 1024;

export const Blake3Request = z.strictObject({ data: z.string().describe('UTF-8 text to hash') });
export const Blake3Response = z.object({ hash: z.string().describe('BLAKE3-256 of the UTF-8 bytes, lower-case hex') });
