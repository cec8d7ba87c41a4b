/**
 * Who a request counts as for per-source rate limits: an IPv4 address as it is, an IPv6
 * address by its network prefix (a /64 by default, what one subscriber or host is usually
 * given: ten addresses of one /64 are one source), an IPv4-mapped IPv6 address as its IPv4
 * address. And the trusted-proxy list those addresses may come from (KEYPEARS_TRUST_PROXY).
 */
import net from 'node:net';
import ipaddr from 'ipaddr.js';

/** Bucket name of the source `ip` (as Fastify reports it), IPv6 cut to `ipv6PrefixLength` bits. */
export function sourceBucket(ip: string, ipv6PrefixLength: number): string {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(ip.replace(/%.*$/, ''));
  } catch {
    // Not an address (a test transport): counted as given.
    return ip;
  }
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  const bytes = v6.toByteArray();
  for (let bit = ipv6PrefixLength; bit < 128; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  return `${ipaddr.fromByteArray(bytes).toString()}/${ipv6PrefixLength}`;
}

/** Names proxy-addr (Fastify's trustProxy) accepts for whole ranges. */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Parses a comma-separated list of trusted proxies: addresses, CIDR ranges (`10.0.0.0/8`,
 * `fd00::/8`) or the names `loopback`, `linklocal`, `uniquelocal`.
 *
 * @throws Error naming the first entry that is none of these.
 */
export function parseTrustedProxies(raw: string): string[] {
  return raw.split(',').map((part) => {
    const entry = part.trim();
    if (RANGE_NAMES.has(entry)) return entry;
    const [address, bits, extra] = entry.split('/');
    const version = net.isIP(address);
    if (version === 0 || extra !== undefined) {
      throw new Error(`"${entry}" is not an IP address, a CIDR range, loopback, linklocal or uniquelocal`);
    }
    if (bits === undefined) return ipaddr.parse(address).toString();
    const max = version === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) {
      throw new Error(`"${entry}": the prefix length must be 0 to ${max}`);
    }
    return `${ipaddr.parse(address).toString()}/${Number(bits)}`;
  });
}
