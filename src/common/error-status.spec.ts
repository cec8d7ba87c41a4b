import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';
import { API_ERROR_CODES, isApiErrorCode, KeyPearsError, LOCAL_ERROR_CODES } from '../protocol/errors.js';
import { ERROR_STATUS, statusForCode } from './error-status.js';
import { KT_FAILURE_CODES } from '../protocol/transparency/log-verifier.js';

const doc = readFileSync('docs/errors.md', 'utf8');
const [apiSection, localSection] = doc.split(/^## Codes that never leave the program$/m);

describe('error codes', () => {
  it('are all documented in docs/errors.md with their status', () => {
    const documented = new Map(
      [...apiSection.matchAll(/^\| `([a-z0-9_]+)` +\| (\d{3}) +\|/gm)].map((m) => [m[1], Number(m[2])] as const),
    );
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect({ code, status: documented.get(code) }).toEqual({ code, status });
    }
    expect([...documented.keys()].filter((c) => !(c in ERROR_STATUS))).toEqual([]);
    expect(Object.keys(ERROR_STATUS).sort()).toEqual([...API_ERROR_CODES].sort());
  });

  it('that never leave the program are documented in their own table, without a status', () => {
    expect(localSection).toBeDefined();
    const documented = [...localSection.matchAll(/^\| `([a-z0-9_]+)` +\|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...LOCAL_ERROR_CODES].sort());
    for (const code of LOCAL_ERROR_CODES) expect({ code, status: statusForCode(code) }).toEqual({ code });
  });

  it('include every failure of the transparency verifier, as a peer failure (502)', () => {
    expect(KT_FAILURE_CODES.map((code) => [code, ERROR_STATUS[code]])).toEqual(KT_FAILURE_CODES.map((c) => [c, 502]));
  });

  it('are snake_case, each in one set only, and map to error statuses', () => {
    const all = [...API_ERROR_CODES, ...LOCAL_ERROR_CODES];
    expect(new Set(all).size).toBe(all.length);
    for (const code of all) expect(code).toMatch(/^[a-z]+(_[a-z0-9]+)*$/);
    for (const status of Object.values(ERROR_STATUS)) expect(status >= 400 && status < 600).toBe(true);
  });

  it('take a code from the wire only when it is an API code', () => {
    expect(isApiErrorCode('rate_limited')).toBe(true);
    expect(isApiErrorCode('invalid_config')).toBe(false);
    expect(isApiErrorCode('no_such_code')).toBe(false);
    expect(isApiErrorCode(42)).toBe(false);
  });

  it('are a closed type: a code outside the set does not compile', () => {
    // `npm run typecheck` covers this file: were the code type open, the directive below would
    // be unused, and an unused @ts-expect-error is itself a compile error.
    // @ts-expect-error 'no_such_code' is not an ErrorCode
    const typo = new KeyPearsError('no_such_code', 'a typo');
    expect(typo.code).toBe('no_such_code');
  });
});

describe('the compiler', () => {
  const STATUS_FILE = 'src/common/error-status.ts';
  const source = readFileSync(STATUS_FILE, 'utf8');

  /** Diagnostics of `files` (path to text, read from disk when absent) compiled as the project compiles. */
  function diagnostics(files: Record<string, string>): string[] {
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2023.d.ts'],
      types: [],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
    };
    const host = ts.createCompilerHost(options);
    const read = host.readFile.bind(host);
    const virtual = new Map(Object.entries(files).map(([name, text]) => [path.resolve(name), text]));
    host.readFile = (name) => virtual.get(path.resolve(name)) ?? read(name);
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => virtual.has(path.resolve(name)) || fileExists(name);
    const program = ts.createProgram(Object.keys(files), options, host);
    return ts
      .getPreEmitDiagnostics(program)
      .map((d) => `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
  }

  it('refuses a KeyPearsError with a code outside the set, and accepts one inside it', () => {
    const use = (code: string) =>
      `import { KeyPearsError } from './errors.js';\nexport const e = new KeyPearsError('${code}', 'message');\n`;
    expect(diagnostics({ 'src/protocol/use-good.ts': use('rate_limited') })).toEqual([]);
    expect(diagnostics({ 'src/protocol/use-typo.ts': use('no_such_code') })).toEqual([
      expect.stringMatching(/^TS2345: Argument of type '"no_such_code"' is not assignable/),
    ]);
  });

  it('refuses a status table that misses a code or names one that does not exist', () => {
    expect(diagnostics({ [STATUS_FILE]: source })).toEqual([]);
    const without = source.replace(/^ {2}rate_limited: 429,\n/m, '');
    expect(without).not.toBe(source);
    expect(diagnostics({ [STATUS_FILE]: without })).toEqual([
      expect.stringMatching(/^TS2741: Property 'rate_limited' is missing/),
    ]);
    const extra = source.replace(/^ {2}rate_limited: 429,\n/m, '  rate_limited: 429,\n  no_such_code: 429,\n');
    expect(diagnostics({ [STATUS_FILE]: extra })).toEqual([expect.stringMatching(/^TS2353: .*'no_such_code'/)]);
  });
});
