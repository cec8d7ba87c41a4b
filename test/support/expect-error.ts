/** Assertions shared by the unit specs and the HTTP suites. */
import { expect } from '@jest/globals';
import { KeyPearsError } from '../../src/protocol/errors.js';

/** Runs `run` and returns the KeyPearsError it throws; anything else it throws is passed on. */
export function refusal(run: () => unknown): KeyPearsError {
  try {
    run();
  } catch (e) {
    if (e instanceof KeyPearsError) return e;
    throw e;
  }
  throw new Error('expected a KeyPearsError, but nothing was thrown');
}

/** Like refusal, for a promise. */
export async function asyncRefusal(promise: Promise<unknown>): Promise<KeyPearsError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof KeyPearsError) return e;
    throw e;
  }
  throw new Error('expected a KeyPearsError, but the promise resolved');
}

/** Runs `run`, expects a KeyPearsError with one of `codes`, and returns it. */
export function expectCode(run: () => unknown, codes: string | string[]): KeyPearsError {
  const caught = refusal(run);
  expect([codes].flat()).toContain(caught.code);
  return caught;
}

/** Like expectCode, for a promise. */
export async function expectAsyncCode(promise: Promise<unknown>, codes: string | string[]): Promise<KeyPearsError> {
  const caught = await asyncRefusal(promise);
  expect([codes].flat()).toContain(caught.code);
  return caught;
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
