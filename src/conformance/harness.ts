/**
 * The conformance suite's runner and checks: one line per case, a summary line
 * (`N passed, N failed`), and error answers held to the shape of docs/errors.md.
 */
import type { Answer } from './http.js';

export type Line = (text: string) => void;

export class Runner {
  passed = 0;
  failed = 0;
  skipped = 0;
  readonly failures: string[] = [];

  constructor(private readonly print: Line) {}

  /** Runs one case; a thrown error fails it with its message. */
  async case(name: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
      this.passed++;
      this.print(`ok    ${name}`);
    } catch (e) {
      this.failed++;
      const why = e instanceof Error ? e.message : String(e);
      this.failures.push(name);
      this.print(`FAIL  ${name}: ${why}`);
    }
  }

  skip(name: string, why: string): void {
    this.skipped++;
    this.print(`skip  ${name}: ${why}`);
  }

  summary(): string {
    return `${this.passed} passed, ${this.failed} failed${this.skipped ? `, ${this.skipped} skipped` : ''}`;
  }
}

export class CheckFailed extends Error {}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
}

export function equal<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  check(a === e, `${what}: expected ${e.slice(0, 300)}, got ${a?.slice(0, 300)}`);
}

/** A successful answer with this status; returns its JSON body. */
export function expectStatus(answer: Answer, status: number, what: string): unknown {
  check(
    answer.status === status,
    `${what}: expected HTTP ${status}, got ${answer.status} ${answer.text.slice(0, 300)}`,
  );
  return answer.json;
}

/**
 * An error answer (docs/errors.md): this status, JSON, `{"error": {"code", "message"}}` with the
 * code, nothing else but `retryAfterSeconds` (429) and `details`.
 */
export function expectError(answer: Answer, status: number, code: string, what: string): string {
  check(
    answer.status === status && errorCode(answer) === code,
    `${what}: expected ${status} ${code}, got ${answer.status} ${answer.text.slice(0, 300)}`,
  );
  check(/^application\/json\b/.test(answer.headers.get('content-type') ?? ''), `${what}: error is not JSON`);
  const body = answer.json as Record<string, unknown>;
  const extra = Object.keys(body).filter((k) => k !== 'error' && k !== 'retryAfterSeconds');
  check(extra.length === 0, `${what}: unexpected members ${extra.join(', ')} beside error`);
  const error = body.error as Record<string, unknown>;
  const members = Object.keys(error).filter((k) => k !== 'code' && k !== 'message' && k !== 'details');
  check(members.length === 0, `${what}: unexpected members ${members.join(', ')} in error`);
  check(typeof error.message === 'string' && error.message.length > 0, `${what}: error without a message`);
  return error.message as string;
}

export function errorCode(answer: Answer): string | undefined {
  const error = (answer.json as { error?: { code?: unknown } } | undefined)?.error;
  return typeof error?.code === 'string' ? error.code : undefined;
}
