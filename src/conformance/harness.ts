/**
 * The conformance suite's cases and runner (docs/conformance.md): every documented behaviour
 * is one named case with the document section it checks; each case runs on its own, so a
 * failure is reported beside every other one instead of hiding them. Error answers are held
 * to the shape of docs/errors.md.
 */
import type { Answer } from './http.js';

/** What a case needs besides the node: records the suite publishes itself. */
export type Need = 'nameserver' | 'wellKnown';

export interface Case<C> {
  /** `area: what is done -> what the document says happens`; unique in the suite. */
  name: string;
  /** The document and section it checks, e.g. `docs/protocol.md §9.1`. */
  section: string;
  needs?: readonly Need[];
  run(ctx: C): Promise<void>;
}

export type CaseStatus = 'passed' | 'failed' | 'skipped';

export interface CaseResult {
  name: string;
  section: string;
  status: CaseStatus;
  /** Why it failed or was skipped; null when it passed. */
  message: string | null;
}

export interface Totals {
  passed: number;
  failed: number;
  skipped: number;
}

export interface Report {
  cases: CaseResult[];
  totals: Totals;
}

export type Line = (text: string) => void;

const NEED_REASONS: Record<Need, string> = {
  nameserver: 'needs the suite’s nameserver (--dns-port)',
  wellKnown: 'needs the suite’s well-known web server (--well-known-port)',
};

/** Cases whose name or section contains any of `filters` (case-insensitive); all without filters. */
export function selectCases<C>(cases: readonly Case<C>[], filters: readonly string[]): Case<C>[] {
  if (filters.length === 0) return [...cases];
  const wanted = filters.map((f) => f.toLowerCase());
  return cases.filter((c) =>
    wanted.some((f) => c.name.toLowerCase().includes(f) || c.section.toLowerCase().includes(f)),
  );
}

/** The text line of one result: `ok`, `FAIL` or `skip`, the name, and for the others why. */
export function resultLine(r: CaseResult): string {
  if (r.status === 'passed') return `ok    ${r.name}`;
  if (r.status === 'skipped') return `skip  ${r.name}: ${r.message}`;
  return `FAIL  ${r.name} [${r.section}]: ${r.message}`;
}

export const summaryLine = (t: Totals): string =>
  `${t.passed} passed, ${t.failed} failed${t.skipped ? `, ${t.skipped} skipped` : ''}`;

/**
 * Runs the cases one after another (several of them change state the next one sees, such as a
 * block list, so they never overlap) and reports each as it ends. A thrown error fails the
 * case with its message; a case whose needs are not met is skipped.
 */
export async function runCases<C>(
  cases: readonly Case<C>[],
  ctx: C,
  available: ReadonlySet<Need>,
  onResult: (result: CaseResult) => void = () => {},
): Promise<Report> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    const missing = (c.needs ?? []).find((n) => !available.has(n));
    let result: CaseResult;
    if (missing) {
      result = { name: c.name, section: c.section, status: 'skipped', message: NEED_REASONS[missing] };
    } else {
      try {
        await c.run(ctx);
        result = { name: c.name, section: c.section, status: 'passed', message: null };
      } catch (e) {
        result = { name: c.name, section: c.section, status: 'failed', message: describeError(e) };
      }
    }
    results.push(result);
    onResult(result);
  }
  const count = (s: CaseStatus) => results.filter((r) => r.status === s).length;
  return { cases: results, totals: { passed: count('passed'), failed: count('failed'), skipped: count('skipped') } };
}

function describeError(e: unknown): string {
  if (e instanceof CheckFailed) return e.message;
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}

export class CheckFailed extends Error {}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
}

export function equal<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  check(a === e, `${what}: expected ${e?.slice(0, 300)}, got ${a?.slice(0, 300)}`);
}

const shown = (answer: Answer) => `${answer.status} ${answer.text.slice(0, 300)}`;

/** A successful answer with this status; returns its JSON body. */
export function expectStatus(answer: Answer, status: number, what = 'answer'): unknown {
  check(answer.status === status, `${what}: expected HTTP ${status}, got ${shown(answer)}`);
  return answer.json;
}

/**
 * An error answer of docs/errors.md: this status, JSON, exactly `{"error": {"code", "message"}}`
 * with this code and a message, plus `retryAfterSeconds` (a positive integer) in a 429 only.
 * Returns the message.
 */
export function expectError(answer: Answer, status: number, code: string, what = 'answer'): string {
  check(
    answer.status === status && errorCode(answer) === code,
    `${what}: expected ${status} ${code}, got ${shown(answer)}`,
  );
  checkErrorShape(answer, what);
  return (answer.json as { error: { message: string } }).error.message;
}

/** The shape every error answer has (docs/errors.md), whatever its code. */
export function checkErrorShape(answer: Answer, what = 'answer'): void {
  check(/^application\/json\b/.test(answer.headers.get('content-type') ?? ''), `${what}: error is not JSON`);
  const body = answer.json as Record<string, unknown> | undefined;
  check(body !== null && typeof body === 'object' && !Array.isArray(body), `${what}: error body is not an object`);
  const extra = Object.keys(body).filter((k) => k !== 'error');
  check(extra.length === 0, `${what}: unexpected members ${extra.join(', ')} beside error`);
  const error = body.error as Record<string, unknown>;
  check(error !== null && typeof error === 'object', `${what}: no error object`);
  const allowed = answer.status === 429 ? ['code', 'message', 'retryAfterSeconds'] : ['code', 'message'];
  const members = Object.keys(error).filter((k) => !allowed.includes(k));
  check(members.length === 0, `${what}: unexpected members ${members.join(', ')} in error`);
  check(typeof error.code === 'string' && /^[a-z0-9_]+$/.test(error.code), `${what}: code is not snake_case`);
  check(typeof error.message === 'string' && error.message.length > 0, `${what}: error without a message`);
  if (answer.status === 429) {
    const retry = error.retryAfterSeconds;
    check(Number.isSafeInteger(retry) && (retry as number) > 0, `${what}: 429 without a positive retryAfterSeconds`);
    equal(answer.headers.get('retry-after'), String(retry), `${what}: Retry-After header`);
  }
}

export function errorCode(answer: Answer): string | undefined {
  const error = (answer.json as { error?: { code?: unknown } } | undefined)?.error;
  return typeof error?.code === 'string' ? error.code : undefined;
}
