/**
 * The conformance suite (src/conformance, docs/conformance.md) against this node on the test
 * database: every case must pass, none skipped (the suite runs its own nameserver and websites).
 * CI also runs it as `npm run conformance` against a built node on the embedded database
 * (.ci/run).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
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
