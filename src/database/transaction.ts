import type { PrismaService } from './prisma.service.js';

/**
 * The client of an open Prisma transaction, for repositories whose writes must commit together
 * (an account and its transparency entry): one repository opens it, another writes in it.
 */
export type DbTransaction = Parameters<Parameters<PrismaService['$transaction']>[0]>[0];
