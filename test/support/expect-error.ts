/** Assertions shared by the unit specs and the HTTP suites. */
import { expect } from '@jest/globals';
import { KeyPearsError } from '../../src/protocol/errors.js';

/** Runs `run`, expects a KeyPearsError with one of `codes`, and returns it. */
export function expectCode(run: () => unknown, codes: string | string[]): KeyPearsError {
  let caught: unknown;
  try {
    run();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(KeyPearsError);
  expect([codes].flat()).toContain((caught as KeyPearsError).code);
  return caught as KeyPearsError;
}

/** Like expectCode, for a promise. */
export async function expectAsyncCode(promise: Promise<unknown>, codes: string | string[]): Promise<KeyPearsError> {
  let caught: unknown;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(KeyPearsError);
  expect([codes].flat()).toContain((caught as KeyPearsError).code);
  return caught as KeyPearsError;
}

/** An HTTP response in the docs/errors.md error shape with this status and code. */
export async function expectErrorResponse(res: Response, status: number, code: string): Promise<void> {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect({ status: res.status, code: body.error.code }).toEqual({ status, code });
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+/);
}
