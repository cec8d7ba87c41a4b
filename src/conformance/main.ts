#!/usr/bin/env node
/** `npm run conformance -- --node URL [--domain D] ...` (docs/conformance.md). */
import { parseArgs } from 'node:util';
import { runConformance } from './suite.js';

const HELP = `KeyPears conformance suite: drives a node from the outside, as its clients and as a
federation peer, and prints one line per case and a summary (N passed, N failed).

usage: npm run conformance -- --node URL [options]

  --node URL          base URL of the node under test, as its node document names it (required)
  --domain D          a domain the node serves (default: the first its document lists)
  --peer-domain D     the domain of the suite's own peer node (default: peer.conformance.test)
  --dns-port N        run the suite's nameserver on 127.0.0.1:N and publish the peer's records
                      there; start the node under test with KEYPEARS_DNS_SERVERS=127.0.0.1:N
                      and KEYPEARS_DEV=1 (default: none; publish _keypears.<peer-domain> yourself)
  --peer-port N       port of the peer's HTTP server on 127.0.0.1 (default: any free one)
  --peer-url URL      the peer's public base URL, when the node reaches it through a proxy
  --help              this text

Exit status: 0 when every case passed, 1 when one failed, 2 for a usage error.`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        node: { type: 'string' },
        domain: { type: 'string' },
        'peer-domain': { type: 'string' },
        'dns-port': { type: 'string' },
        'peer-port': { type: 'string' },
        'peer-url': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const port = (text: string | undefined, name: string): number | undefined => {
    if (text === undefined) return undefined;
    if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new Error(`${name} must be a port number`);
    return Number(text);
  };
  if (!values.node) {
    process.stderr.write(`--node is required\n\n${HELP}\n`);
    return 2;
  }
  const runner = await runConformance({
    node: values.node,
    domain: values.domain,
    peerDomain: values['peer-domain'],
    dnsPort: port(values['dns-port'], '--dns-port'),
    peerPort: port(values['peer-port'], '--peer-port'),
    peerUrl: values['peer-url'],
  });
  process.stdout.write(`${runner.summary()}\n`);
  return runner.failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`conformance: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
