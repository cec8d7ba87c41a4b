/** The error answers themselves (docs/errors.md); every case checks their shape as well. */
import { expectError } from '../harness.js';
import { send } from '../http.js';
import { casesOf, type ConformanceCase } from './define.js';

const errorCase = casesOf('docs/errors.md');

export const errorCases: ConformanceCase[] = [
  errorCase('errors: an unknown route -> 404 not_found', async (ctx) => {
    expectError(await send(ctx.api('/api/v1/no-such-route')), 404, 'not_found');
  }),
  errorCase('errors: a route asked with another method -> 404 not_found', async (ctx) => {
    expectError(await send(ctx.api('/api/v1/accounts'), { method: 'PUT', body: {} }), 404, 'not_found');
  }),
];
