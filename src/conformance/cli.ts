/**
 * The conformance suite's command line (docs/conformance.md) as a function, so that it runs
 * the same from `npm run conformance` and in-process in tests.
 */
import { parseArgs } from 'node:util';
import { summaryLine } from './harness.js';
import { listCases, runConformance } from './suite.js';

const HELP = `KeyPears conformance suite: drives a node from the outside, as its clients and as a
federation peer, one line per case (each documented behaviour), then N passed, N failed.

usage: npm run conformance -- --node URL [options]
       npm run conformance -- --list [--filter TEXT]

  --node URL            base URL of the node under test, as its node document names it
  --domain D            a domain the node serves (default: the first its document lists)
  --peer-domain D       the domain of the suite's own peer node (default: peer.conformance.test)
  --dns-port N          run the suite's nameserver on 127.0.0.1:N and publish the peer's records
                        there; start the node under test with KEYPEARS_DNS_SERVERS=127.0.0.1:N
                        and KEYPEARS_DEV=1 (default: none; publish _keypears.<peer-domain> yourself)
  --well-known-port N   with --dns-port: serve the test domains' websites on 127.0.0.1:N; start
                        the node under test with KEYPEARS_DEV_WELL_KNOWN_PORT=N
  --peer-port N         port of the peer's HTTP server on 127.0.0.1 (default: any free one)
  --peer-url URL        the peer's public base URL, when the node reaches it through a proxy
  --filter TEXT         run only the cases whose name or section contains TEXT (any case;
                        repeat it for several)
  --list                print the cases (name and section) without running them
  --json                print one JSON object instead of lines: {cases: [{name, section,
                        status, message}], totals: {passed, failed, skipped}}
  --help                this text

Exit status: 0 when every case passed, 1 when one failed, 2 for a usage error (also when
--filter matches no case).`;

function port(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new RangeError(`${name} must be a port number`);
  return Number(text);
}

export interface Streams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/**
 * Runs the suite's command line: `argv` without the program name. Resolves to the exit
 * status (0 every case passed, 1 one failed or the run could not start, 2 a usage error).
 */
export async function conformanceCli(argv: string[], streams: Streams): Promise<number> {
  const usage = (message: string): number => {
    streams.stderr.write(`${message}\n\n${HELP}\n`);
    return 2;
  };
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        node: { type: 'string' },
        domain: { type: 'string' },
        'peer-domain': { type: 'string' },
        'dns-port': { type: 'string' },
        'well-known-port': { type: 'string' },
        'peer-port': { type: 'string' },
        'peer-url': { type: 'string' },
        filter: { type: 'string', multiple: true },
        list: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (e) {
    return usage((e as Error).message);
  }
  if (values.help) {
    streams.stdout.write(`${HELP}\n`);
    return 0;
  }
  const filters = values.filter ?? [];
  const selected = listCases(filters);
  if (selected.length === 0) return usage(`no case matches ${filters.map((f) => JSON.stringify(f)).join(' or ')}`);
  const json = values.json === true;
  if (values.list) {
    streams.stdout.write(
      json ? `${JSON.stringify({ cases: selected })}\n` : selected.map((c) => `${c.name}  [${c.section}]\n`).join(''),
    );
    return 0;
  }
  if (!values.node) return usage('--node is required');
  let ports;
  try {
    ports = {
      dnsPort: port(values['dns-port'], '--dns-port'),
      wellKnownPort: port(values['well-known-port'], '--well-known-port'),
      peerPort: port(values['peer-port'], '--peer-port'),
    };
  } catch (e) {
    return usage((e as Error).message);
  }
  if (ports.wellKnownPort !== undefined && ports.dnsPort === undefined)
    return usage('--well-known-port needs --dns-port');
  // With --json, stdout holds the one object; the notes for people go to stderr.
  const note = (text: string) => (json ? streams.stderr : streams.stdout).write(`${text}\n`);
  let report;
  try {
    report = await runConformance({
      node: values.node,
      domain: values.domain,
      peerDomain: values['peer-domain'],
      peerUrl: values['peer-url'],
      ...ports,
      filters,
      print: note,
      ...(json ? { onResult: () => {} } : {}),
    });
  } catch (e) {
    streams.stderr.write(`conformance: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  streams.stdout.write(json ? `${JSON.stringify(report)}\n` : `${summaryLine(report.totals)}\n`);
  return report.totals.failed === 0 ? 0 : 1;
}
