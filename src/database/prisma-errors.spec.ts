import { describe, expect, it } from '@jest/globals';
import { Prisma } from '../generated/prisma/client.js';
import { isDatabaseUnavailable } from './prisma-errors.js';

const withCode = (message: string, code: string, cause?: unknown) => Object.assign(new Error(message), { code, cause });
const prismaError = (code: string) =>
  new Prisma.PrismaClientKnownRequestError('Transaction API error', { code, clientVersion: '7' });

describe('isDatabaseUnavailable', () => {
  it('recognises a server that cannot be reached or cannot serve now, however deeply wrapped', () => {
    for (const e of [
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('the database system is starting up', '57P03'),
      new Error('wrapped', { cause: new Error('again', { cause: withCode('x', '08006') }) }),
      Object.assign(new Error('driver'), { cause: { kind: 'postgres', originalCode: '57P01' } }),
      prismaError('P2028'),
      prismaError('P1001'),
      // A query on a connection the server terminated, as Prisma's pg adapter reports it.
      new Prisma.PrismaClientKnownRequestError(
        'Invalid `this.prisma.ktPeerLog.findUnique()` invocation\n\nDatabase error. Code: `57P01`. Message: `terminating connection due to administrator command`',
        { code: 'P2010', clientVersion: '7' },
      ),
      Object.assign(prismaError('P2010'), {
        meta: {
          driverAdapterError: { name: 'DriverAdapterError', cause: { kind: 'postgres', originalCode: '57P01' } },
        },
      }),
    ]) {
      expect({ e: String(e), unavailable: isDatabaseUnavailable(e) }).toEqual({ e: String(e), unavailable: true });
    }
  });

  it('leaves errors of the query itself, and anything else, to the rest of the error boundary', () => {
    for (const e of [
      withCode('syntax error at or near "x"', '42601'),
      withCode('invalid byte sequence for encoding "UTF8": 0x00', '22021'),
      prismaError('P2002'),
      new Prisma.PrismaClientKnownRequestError('Database error. Code: `23505`. Message: `duplicate key`', {
        code: 'P2010',
        clientVersion: '7',
      }),
      new Error('something else'),
      undefined,
      'a string',
    ]) {
      expect({ e: String(e), unavailable: isDatabaseUnavailable(e) }).toEqual({ e: String(e), unavailable: false });
    }
  });
});
