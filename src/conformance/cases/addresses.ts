/**
 * The address grammar (docs/protocol.md §1.1) through a path parameter: every invalid spelling
 * of docs/test-vectors/address.json is 400 invalid_address, every valid one is not (a domain
 * the node does not serve answers 404). One case per direction, naming every vector that fails.
 */
import { readFile } from 'node:fs/promises';
import type { Context } from '../context.js';
import { check, errorCode } from '../harness.js';
import { send } from '../http.js';
import { casesOf, type ConformanceCase } from './define.js';

const addressCase = casesOf('docs/protocol.md §1.1');

interface AddressVectors {
  valid: Array<{ input: string; canonical: string }>;
  invalid: Array<{ input: string; reason: string }>;
}

/** The vectors as this repository publishes them (the suite runs from a checkout). */
const vectors = (ctx: Context): Promise<AddressVectors> =>
  ctx.once('the address vectors', async () =>
    JSON.parse(await readFile(new URL('../../../docs/test-vectors/address.json', import.meta.url), 'utf8')),
  );

/**
 * Inputs a path parameter can carry: not empty (that is another route), well-formed Unicode
 * (a lone surrogate has no UTF-8 form), and at most 1024 characters (the grammar's own limit
 * refuses longer ones before anything else, and a URL path is not the place to send them).
 */
const fitsAPath = (input: string) => input.length > 0 && input.length <= 1024 && !/\p{Cs}/u.test(input);

/** Looks every input up in a path; fails naming each one not answered `status code`. */
async function expectAll(ctx: Context, inputs: string[], status: number, code: string): Promise<void> {
  const answers = await Promise.all(
    inputs.map(async (input) => ({
      input,
      answer: await send(ctx.api(`/api/v1/identities/${encodeURIComponent(input)}`)),
    })),
  );
  const wrong = answers.filter(({ answer }) => answer.status !== status || errorCode(answer) !== code);
  const shown = wrong.map(({ input, answer }) => `${JSON.stringify(input)} -> ${answer.status} ${errorCode(answer)}`);
  check(wrong.length === 0, `${wrong.length} of ${inputs.length} answered otherwise: ${shown.join('; ')}`);
}

export const addressCases: ConformanceCase[] = [
  addressCase('address grammar: every invalid vector in a path -> 400 invalid_address', async (ctx) => {
    const inputs = (await vectors(ctx)).invalid.map((v) => v.input).filter(fitsAPath);
    await expectAll(ctx, inputs, 400, 'invalid_address');
  }),
  addressCase(
    'address grammar: every valid vector in a path -> accepted (404 not_found, its domain is not served)',
    async (ctx) => {
      const inputs = (await vectors(ctx)).valid.map((v) => v.input).filter(fitsAPath);
      await expectAll(ctx, inputs, 404, 'not_found');
    },
  ),
];
