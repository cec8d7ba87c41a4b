/**
 * Reading a response body under a size cap, for every client here that reads another party's
 * answer (safe-fetch for the node and the CLI, the SDK's node client). Framework-free, and runs
 * in a browser too.
 */
import { concatBytes } from '../protocol/encoding.js';

export interface CappedBodyOptions {
  /** The Content-Length header as received, if any. */
  declaredLength?: string | null;
  maxBytes: number;
  /** The error to throw; `declared` is set when the announced length was over the cap. */
  tooLarge(declared?: number): Error;
  /** Releases a body that is refused before it is read. */
  discard?(): void;
}

/**
 * The whole body, refused as soon as it is known to be larger than `maxBytes`: before reading
 * when its declared length is, otherwise at the chunk that passes the cap (the rest is never
 * read).
 */
export async function readCappedBody(
  body: AsyncIterable<Uint8Array> | null | undefined,
  opts: CappedBodyOptions,
): Promise<Uint8Array> {
  const declared = Number(opts.declaredLength ?? undefined);
  if (Number.isFinite(declared) && declared > opts.maxBytes) {
    opts.discard?.();
    throw opts.tooLarge(declared);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (body) {
    // Leaving the loop by throwing ends the iteration, which destroys (or cancels) the stream.
    for await (const chunk of body) {
      total += chunk.length;
      if (total > opts.maxBytes) throw opts.tooLarge();
      chunks.push(chunk);
    }
  }
  return concatBytes(...chunks);
}
