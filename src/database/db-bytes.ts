/** Prisma's `Bytes` wants a Uint8Array over a plain ArrayBuffer; this copies any view into one. */
export const dbBytes = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(bytes);
