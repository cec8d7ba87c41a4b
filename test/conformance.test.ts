/**
 * The conformance suite (src/conformance, docs/conformance.md) against this node on the test
 * database: every case must pass, none skipped (the suite runs its own nameserver and websites).
 * CI also runs it as `npm run conformance` against a built node on the embedded database
 * (.ci/run).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { conformanceCli } from '../src/conformance/cli.js';
import { resultLine, type CaseResult } from '../src/conformance/harness.js';
import { listCases, runConformance } from '../src/conformance/suite.js';
import { freePort } from './support/free-port.js';
import { startTestNode, type TestNode } from './support/test-node.js';

let node: TestNode;
let dnsPort: number;
let wellKnownPort: number;

beforeAll(async () => {
  dnsPort = await freePort();
  wellKnownPort = await freePort();
  node = await startTestNode({
    KEYPEARS_DOMAINS: 'conformance.example',
    KEYPEARS_DNS_SERVERS: `127.0.0.1:${dnsPort}`,
    KEYPEARS_DEV_WELL_KNOWN_PORT: String(wellKnownPort),
    KEYPEARS_REGISTRATION_LIMIT_PER_SOURCE: '1000',
    KEYPEARS_RESOLVE_LIMIT_PER_SOURCE: '1000',
    KEYPEARS_OUTBOX_POLL_MS: '50',
  });
}, 60_000);

afterAll(async () => {
  await node?.destroy();
});

it('passes every case of the conformance suite', async () => {
  const lines: string[] = [];
  const results: CaseResult[] = [];
  const report = await runConformance({
    node: node.url,
    dnsPort,
    wellKnownPort,
    print: (line) => lines.push(line),
    onResult: (result) => {
      results.push(result);
      lines.push(resultLine(result));
    },
  });
  if (process.env.CONFORMANCE_PRINT) console.log(lines.join('\n'));
  expect(report.cases.filter((c) => c.status !== 'passed').map(resultLine)).toEqual([]);
  expect(report.cases).toEqual(results);
  expect(report.totals).toEqual({ passed: listCases().length, failed: 0, skipped: 0 });
}, 300_000);

describe('npm run conformance', () => {
  /** The suite's command line in-process: its exit status and what it printed. */
  async function cli(argv: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await conformanceCli(argv, {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
    });
    return { code, stdout, stderr };
  }

  it('--list prints every case with its section, without a node', async () => {
    const run = await cli(['--list']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual(listCases().map((c) => `${c.name}  [${c.section}]`));
    const json = await cli(['--list', '--json', '--filter', '§9.1']);
    const { cases } = JSON.parse(json.stdout) as { cases: Array<{ name: string; section: string }> };
    expect(cases.length).toBeGreaterThan(10);
    expect(cases.every((c) => c.section === 'docs/protocol.md §9.1')).toBe(true);
  });

  it('--filter runs the matching cases only, one line each, then the summary', async () => {
    const run = await cli([
      '--node',
      node.url,
      '--filter',
      'node document:',
      '--filter',
      'LOOKUP: A MALFORMED ADDRESS',
    ]);
    expect(run.code).toBe(0);
    const lines = run.stdout
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('#'));
    expect(lines).toEqual([
      ...listCases(['node document:', 'lookup: a malformed address']).map((c) => `ok    ${c.name}`),
      `${listCases(['node document:', 'lookup: a malformed address']).length} passed, 0 failed`,
    ]);
  });

  it('--json prints one object: every case with its status and message, and the totals', async () => {
    const run = await cli(['--node', node.url, '--json', '--filter', 'node document:']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    const report = JSON.parse(run.stdout) as { cases: CaseResult[] };
    expect(report).toEqual({
      cases: listCases(['node document:']).map((c) => ({ ...c, status: 'passed', message: null })),
      totals: { passed: 4, failed: 0, skipped: 0 },
    });
    expect(run.stderr).toMatch(/^# node /m);
  });

  it('reports a failing case with its message and exits 1; skips what it cannot check', async () => {
    const run = await cli(['--node', node.url, '--json', '--domain', 'elsewhere.example', '--filter', 'domains ->']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      cases: [
        {
          name: 'node document: domains -> canonical, the domain under test among them',
          section: 'docs/discovery.md §1',
          status: 'failed',
          message: 'the document does not list elsewhere.example',
        },
      ],
      totals: { passed: 0, failed: 1, skipped: 0 },
    });
    const skipped = await cli(['--node', node.url, '--filter', 'TXT record: node twice']);
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toMatch(/^skip {2}TXT record: node twice .*--dns-port/m);
    expect(skipped.stdout).toMatch(/^0 passed, 0 failed, 1 skipped$/m);
  });

  it('refuses usage errors with status 2', async () => {
    expect((await cli(['--filter', 'no such case anywhere'])).code).toBe(2);
    expect((await cli(['--list', '--no-such-option'])).code).toBe(2);
    expect((await cli([])).code).toBe(2);
    expect((await cli(['--node', node.url, '--well-known-port', '1'])).code).toBe(2);
  });
});
