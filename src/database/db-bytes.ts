/** Prisma's `Bytes` wants a Uint8Array over a plain ArrayBuffer; this copies any view into one. */
export const dbBytes = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(bytes);

/**
 * A bytea read through pg (a Buffer, often a slice of Node's shared allocation pool) as a
 * Uint8Array of its own, so no caller can reach neighbouring bytes through `.buffer`.
 */
export const fromDbBytes = (buffer: Buffer): Uint8Array<ArrayBuffer> => new Uint8Array(buffer);
