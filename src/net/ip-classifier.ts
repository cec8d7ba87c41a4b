/**
 * Which IP addresses the node may connect to (docs/discovery.md §5, "SSRF-safe"). Every outbound
 * connection goes through `checkDestinationAddress` with the exact address about to be
 * dialled, so a hostile DNS answer or URL cannot point the node at its own loopback, the
 * operator's private network, cloud metadata services or anything not globally routable.
 *
 * IPv4 is a deny-list of the special-purpose ranges (RFC 6890 and the IANA registry). IPv6
 * is an allow-list: only global unicast (2000::/3) outside its special blocks, plus NAT64
 * addresses whose embedded IPv4 address is itself allowed. Everything else is refused.
 *
 * Framework-free: used by the node and by the CLI alike.
 */
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { KeyPearsError } from '../protocol/errors.js';

/** Why an address is refused; `public` is the only class allowed in production. */
export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'reserved'
  | 'ipv4-mapped'
  | 'invalid';

export interface AddressClassification {
  /** The class of the address; for IPv4 embedded in IPv6, the class of the embedded address. */
  class: AddressClass;
  /** The range that matched, e.g. `127.0.0.0/8` or `::ffff:0:0/96 (127.0.0.0/8)`. */
  range?: string;
}

/** Classes that `dev` mode (KEYPEARS_DEV=1) additionally allows, so nodes can run side by side. */
const DEV_ALLOWED: ReadonlySet<AddressClass> = new Set(['loopback', 'private']);

type Range = readonly [cidr: string, cls: AddressClass];

const IPV4_RANGES: readonly Range[] = [
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
];

/** Special blocks, checked in order before the global-unicast allow-list. */
const IPV6_RANGES: readonly Range[] = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['64:ff9b:1::/48', 'reserved'],
  ['100::/64', 'reserved'],
  ['2001:db8::/32', 'documentation'],
  ['2001::/23', 'reserved'],
  ['3fff::/20', 'documentation'],
  ['fc00::/7', 'private'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'reserved'],
  ['ff00::/8', 'multicast'],
];

const parsedRanges = (ranges: readonly Range[]) =>
  ranges.map(([cidr, cls]) => ({ cidr, cls, range: ipaddr.parseCIDR(cidr) }));

const V4 = parsedRanges(IPV4_RANGES);
const V6 = parsedRanges(IPV6_RANGES);
const IPV4_MAPPED = ipaddr.parseCIDR('::ffff:0:0/96');
const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16');
const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

function classifyV4(ip: ipaddr.IPv4): AddressClassification {
  for (const { cidr, cls, range } of V4) if (ip.match(range)) return { class: cls, range: cidr };
  return { class: 'public' };
}

/** The IPv4 address in bits 16..47 of a 6to4 address (RFC 3056). */
function sixToFourEmbedded(ip: ipaddr.IPv6): ipaddr.IPv4 {
  const [, hi, lo] = ip.parts;
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

/** The IPv4 address in the last 32 bits (IPv4-mapped and NAT64 well-known prefix). */
function lastFour(ip: ipaddr.IPv6): ipaddr.IPv4 {
  const bytes = ip.toByteArray();
  return new ipaddr.IPv4(bytes.slice(12, 16));
}

function classifyV6(ip: ipaddr.IPv6): AddressClassification {
  if (ip.match(IPV4_MAPPED)) {
    // A DNS answer or URL has no business using the mapped form: refused even when the
    // embedded address is public, and reported with the embedded class when it is not.
    const inner = classifyV4(lastFour(ip));
    return inner.class === 'public'
      ? { class: 'ipv4-mapped', range: '::ffff:0:0/96' }
      : { class: inner.class, range: `::ffff:0:0/96 (${inner.range})` };
  }
  if (ip.match(NAT64)) {
    // NAT64 (RFC 6052) reaches the embedded IPv4 address: it is exactly as safe as that address.
    const inner = classifyV4(lastFour(ip));
    return inner.class === 'public' ? inner : { class: inner.class, range: `64:ff9b::/96 (${inner.range})` };
  }
  if (ip.match(SIX_TO_FOUR)) {
    // 6to4 is deprecated (RFC 7526); refused, naming the embedded address's class when special.
    const inner = classifyV4(sixToFourEmbedded(ip));
    return inner.class === 'public'
      ? { class: 'reserved', range: '2002::/16' }
      : { class: inner.class, range: `2002::/16 (${inner.range})` };
  }
  for (const { cidr, cls, range } of V6) if (ip.match(range)) return { class: cls, range: cidr };
  if (ip.match(GLOBAL_UNICAST)) return { class: 'public' };
  return { class: 'reserved', range: 'outside 2000::/3' };
}

/**
 * Classifies one IP address literal (dotted-quad IPv4 or IPv6, optionally in brackets or
 * with a zone id). Anything else, including the legacy IPv4 forms `127.1` or `0x7f000001`,
 * is `invalid`.
 *
 * @example classifyAddress('::ffff:127.0.0.1') // { class: 'loopback', range: '::ffff:0:0/96 (127.0.0.0/8)' }
 */
export function classifyAddress(address: string): AddressClassification {
  const text = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = net.isIP(text);
  if (family === 0) return { class: 'invalid' };
  try {
    if (family === 4) return classifyV4(ipaddr.IPv4.parse(text));
    // ipaddr.js reads a dotted tail as IPv4-mapped (`::127.0.0.1` becomes `::ffff:7f00:1`);
    // the kernel reads it as `::7f00:1`. The URL parser agrees with the kernel, so the text
    // is normalised to pure hex first. A zone id does not change which address is dialled.
    const hex = new URL(`http://[${text.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
    return classifyV6(ipaddr.IPv6.parse(hex));
  } catch {
    // fall through: refused as invalid
  }
  return { class: 'invalid' };
}

/** True when the node may connect to the address (`dev` also allows loopback and private ranges). */
export function isAllowedAddress(address: string, opts: { dev: boolean }): boolean {
  const { class: cls } = classifyAddress(address);
  return cls === 'public' || (opts.dev && DEV_ALLOWED.has(cls));
}

/**
 * Throws unless the node may connect to the address.
 *
 * @param host the name the address was found for, to name it in the error message.
 * @throws KeyPearsError `destination_forbidden` with `details.addressClass`.
 */
export function checkDestinationAddress(address: string, opts: { dev: boolean; host?: string }): void {
  const result = classifyAddress(address);
  if (result.class === 'public' || (opts.dev && DEV_ALLOWED.has(result.class))) return;
  const what = opts.host && opts.host !== address ? `${opts.host} (${address})` : address;
  const range = result.range ? ` in ${result.range}` : '';
  throw new KeyPearsError(
    'destination_forbidden',
    `refusing to connect to ${what}: ${result.class} address${range}` +
      (DEV_ALLOWED.has(result.class) ? ' (allowed only with KEYPEARS_DEV=1)' : ''),
    { addressClass: result.class },
  );
}
