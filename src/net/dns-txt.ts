/**
 * TXT lookups with the record TTL (which node:dns does not report), through dns2, against
 * KEYPEARS_DNS_SERVERS or, when that is empty, the system's configured nameservers.
 * Framework-free.
 */
import dns from 'node:dns';
import net from 'node:net';
import type dns2 from 'dns2';
import { KeyPearsError } from '../protocol/errors.js';
import { abortable } from './safe-fetch.js';

type Packet = InstanceType<typeof dns2.Packet>;

/** dns2 is loaded on the first lookup: a node that never resolves a remote domain never needs it. */
let dns2Module: Promise<typeof dns2> | undefined;
const loadDns2 = (): Promise<typeof dns2> => (dns2Module ??= import('dns2').then((m) => m.default));

export const DEFAULT_DNS_TIMEOUT_MS = 2500;

export type TxtAnswer =
  /** The name exists and has these TXT records (joined character-strings); TTL is their minimum. */
  | { kind: 'records'; records: string[]; ttlSeconds: number }
  /** NXDOMAIN, or the name has no TXT record. */
  | { kind: 'none' };

export interface Nameserver {
  host: string;
  port: number;
}

/**
 * `1.2.3.4`, `1.2.3.4:53`, `::1`, `[::1]:53`, `ns.example:53` (the port defaults to 53
 * unless `requirePort`, as in KEYPEARS_DNS_SERVERS); undefined when the entry is not one of
 * these or the port is not 1-65535.
 */
export function parseNameserver(entry: string, opts: { requirePort?: boolean } = {}): Nameserver | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+))(?::(\d{1,5}))?$/.exec(entry);
  if (!match) return !opts.requirePort && net.isIPv6(entry) ? { host: entry, port: 53 } : undefined;
  if (match[3] === undefined && opts.requirePort) return undefined;
  const port = Number(match[3] ?? 53);
  return port >= 1 && port <= 65535 ? { host: match[1] ?? match[2], port } : undefined;
}

const textOf = (data: unknown): string => {
  if (typeof data === 'string') return data;
  if (Buffer.isBuffer(data)) return data.toString('latin1');
  if (Array.isArray(data)) return data.map(textOf).join('');
  return '';
};

/**
 * One query over TCP (after a truncated UDP answer), bounded by `signal`: the socket is
 * destroyed when it aborts, however far the exchange got. The answer must carry the query's id.
 */
async function queryOverTcp(
  server: Nameserver,
  name: string,
  Packet: typeof dns2.Packet,
  signal: AbortSignal,
): Promise<Packet> {
  const query = new Packet();
  query.header.id = Packet.uuid();
  query.header.rd = 1;
  query.questions.push({ name, class: Packet.CLASS.IN, type: Packet.TYPE.TXT } as never);
  const bytes = query.toBuffer();
  const framed = Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
  const socket = net.connect({ host: server.host, port: server.port });
  const read = new Promise<Buffer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    socket.on('connect', () => socket.write(framed));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (received.length >= 2 + length) resolve(received.subarray(2, 2 + length));
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('the nameserver closed the TCP connection before answering')));
  });
  try {
    const response = Packet.parse(await abortable(read, signal));
    if (response.header.id !== query.header.id) throw new Error('the TCP answer does not match the query id');
    return response;
  } finally {
    socket.destroy();
  }
}

/**
 * Looks up the TXT records of `name`, asking every nameserver at once and taking the first
 * answer. A truncated UDP answer is asked again over TCP (RFC 7766). One deadline,
 * `timeoutMs`, bounds the whole lookup, the TCP retry included, as does `signal`.
 *
 * @throws KeyPearsError `discovery_unavailable` when no nameserver answers in time or the
 *   answer is an error other than NXDOMAIN (SERVFAIL, REFUSED, ...).
 */
export async function lookupTxt(
  name: string,
  opts: { dnsServers?: readonly string[]; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<TxtAnswer> {
  const configured = opts.dnsServers && opts.dnsServers.length > 0 ? [...opts.dnsServers] : dns.getServers();
  if (configured.length === 0) throw new KeyPearsError('discovery_unavailable', 'no DNS nameserver is configured');
  const servers = configured.flatMap((entry) => parseNameserver(entry) ?? []);
  if (servers.length === 0) throw new KeyPearsError('discovery_unavailable', 'no usable DNS nameserver is configured');
  const timeout = opts.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS;
  const deadline = AbortSignal.timeout(timeout);
  const signal = opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline;
  const { UDPClient, Packet } = await loadDns2();
  const ask = async ({ host, port }: Nameserver): Promise<Packet> => {
    const udp = UDPClient({
      dns: host,
      port,
      socketType: net.isIPv6(host) ? 'udp6' : 'udp4',
      timeout,
      retryOverTCP: false,
    } as never)(name, 'TXT');
    const answer = await abortable(udp, signal);
    return answer.header.tc ? queryOverTcp({ host, port }, name, Packet, signal) : answer;
  };
  let response: Packet;
  try {
    response = await Promise.any(servers.map(ask));
  } catch (e) {
    const reasons =
      e instanceof AggregateError ? [...new Set(e.errors.map((x: Error) => x.message))].join('; ') : String(e);
    const why = deadline.aborted ? `no answer within ${timeout} ms (${reasons})` : reasons;
    throw new KeyPearsError('discovery_unavailable', `DNS lookup of ${name} failed: ${why}`);
  }
  const rcode = response.header.rcode;
  if (rcode === Packet.RCODE.NXDOMAIN) return { kind: 'none' };
  if (rcode !== Packet.RCODE.NOERROR) {
    throw new KeyPearsError('discovery_unavailable', `DNS lookup of ${name} failed (rcode ${rcode})`);
  }
  const txt = response.answers.filter((a) => a.type === Packet.TYPE.TXT);
  if (txt.length === 0) return { kind: 'none' };
  return {
    kind: 'records',
    records: txt.map((a) => textOf(a.data)),
    ttlSeconds: Math.min(...txt.map((a) => (Number.isFinite(a.ttl) ? a.ttl : 0))),
  };
}
