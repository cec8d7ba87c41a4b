/**
 * The conformance suite (src/conformance, docs/conformance.md) against this node on the test
 * database: every case must pass. CI also runs it as `npm run conformance` against a built node
 * on the embedded database (.ci/run).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { runConformance } from '../src/conformance/suite.js';
import { freePort } from './support/free-port.js';
import { startTestNode, type TestNode } from './support/test-node.js';

let node: TestNode;
let dnsPort: number;

beforeAll(async () => {
  dnsPort = await freePort();
  node = await startTestNode({
    KEYPEARS_DOMAINS: 'conformance.example',
    KEYPEARS_DNS_SERVERS: `127.0.0.1:${dnsPort}`,
    KEYPEARS_REGISTRATION_LIMIT_PER_SOURCE: '1000',
    KEYPEARS_OUTBOX_POLL_MS: '50',
  });
}, 60_000);

afterAll(async () => {
  await node?.destroy();
});

it('passes every case of the conformance suite', async () => {
  const lines: string[] = [];
  const runner = await runConformance({ node: node.url, dnsPort, print: (line) => lines.push(line) });
  if (process.env.CONFORMANCE_PRINT) console.log(lines.join('\n'));
  expect(lines.filter((line) => line.startsWith('FAIL'))).toEqual([]);
  expect(runner.failed).toBe(0);
  expect(runner.passed).toBeGreaterThan(20);
  expect(runner.skipped).toBe(0);
}, 300_000);
