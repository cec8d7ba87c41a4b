/** Recognises the Prisma errors that repositories translate into the project's own codes. */
import { Prisma } from '../generated/prisma/client.js';

/** A unique constraint (or primary key) was violated. */
export const isUniqueViolation = (e: unknown): boolean =>
  e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002';
