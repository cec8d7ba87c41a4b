#!/usr/bin/env node
/**
 * `npm run dev:nameserver -- --port 5353 --txt '_keypears.a.test=v=KP1; node=http://127.0.0.1:4273' --a a.test=127.0.0.1`
 *
 * A nameserver on 127.0.0.1 for trying out several nodes on one machine (docs/operators.md).
 * It answers only the records given and NXDOMAIN for everything else.
 */
import { Command, InvalidArgumentError } from 'commander';
import { LoopbackNameserver } from './loopback-nameserver.js';

const pair = (text: string): [string, string] => {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected name=value');
  return [text.slice(0, eq), text.slice(eq + 1)];
};
const collect = (text: string, all: Array<[string, string]>) => [...all, pair(text)];

const program = new Command('keypears-dev-nameserver')
  .description('a loopback nameserver for local try-outs (never for production)')
  .option('--port <port>', 'UDP and TCP port on 127.0.0.1', (v) => Number(v), 5353)
  .option('--txt <name=value>', 'a TXT record (repeatable)', collect, [])
  .option('--a <name=address>', 'an A record (repeatable)', collect, [])
  .option('--ttl <seconds>', 'TTL of every answer', (v) => Number(v), 300)
  .parse();

const opts = program.opts<{ port: number; txt: Array<[string, string]>; a: Array<[string, string]>; ttl: number }>();
const ns = await LoopbackNameserver.start(opts.port);
const byName = new Map<string, { txt: string[][]; a: string[] }>();
const entry = (name: string) => byName.get(name) ?? byName.set(name, { txt: [], a: [] }).get(name)!;
for (const [name, value] of opts.txt) entry(name).txt.push([value]);
for (const [name, address] of opts.a) entry(name).a.push(address);
for (const [name, records] of byName) ns.set(name, { ...records, ttl: opts.ttl });
process.stdout.write(`nameserver on ${ns.address} (KEYPEARS_DNS_SERVERS=${ns.address})\n`);
for (const [name, records] of byName) {
  for (const t of records.txt) process.stdout.write(`  ${name} TXT "${t.join('')}"\n`);
  for (const a of records.a) process.stdout.write(`  ${name} A ${a}\n`);
}
const stop = async () => {
  await ns.stop();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
