/**
 * The settings the node and the `keypears` CLI both read from the environment
 * (`KEYPEARS_DEV`, `KEYPEARS_DNS_SERVERS`, `KEYPEARS_DEV_WELL_KNOWN_PORT`), and the parsers
 * for environment values that src/config/config.ts builds the node's configuration from.
 * Each program reads `process.env` once, where it starts, and passes the record in, so both
 * parse a value the same way and report it the same way (`invalid_config`, naming the
 * variable). Framework-free.
 */
import { KeyPearsError } from '../protocol/errors.js';
import { parseNameserver } from './dns-txt.js';

/** Environment variables as a program received them. */
export type Env = Record<string, string | undefined>;

/** A variable with a value that cannot be used; the message starts with the variable's name. */
export class SettingError extends KeyPearsError {
  constructor(variable: string, problem: string) {
    super('invalid_config', `${variable}: ${problem}`, { variable });
  }
}

/** The trimmed value, or undefined when unset or blank. */
export function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

/** A whole number from `min` to `max`, or `fallback` when unset. */
export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new SettingError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new SettingError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** `1`/`true` or `0`/`false`; unset is false. */
export function flag(env: Env, name: string): boolean {
  const raw = nonEmpty(env, name);
  if (raw === undefined || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new SettingError(name, `must be 1 or 0, got "${raw}"`);
}

/**
 * `host:port,host:port`, IPv6 hosts in brackets (`[::1]:53`); blank is the empty list (the
 * system resolver).
 */
export function parseDnsServers(raw: string | undefined, name = 'KEYPEARS_DNS_SERVERS'): string[] {
  if (raw === undefined || raw.trim() === '') return [];
  return raw.split(',').map((entry) => {
    const item = entry.trim();
    if (!parseNameserver(item, { requirePort: true })) {
      throw new SettingError(name, `"${item}" is not host:port (IPv6 as [addr]:port)`);
    }
    return item;
  });
}

/** `KEYPEARS_DEV`: plain HTTP and loopback/private peers allowed (development and tests only). */
export const parseDevFlag = (env: Env): boolean => flag(env, 'KEYPEARS_DEV');

/** `KEYPEARS_DEV_WELL_KNOWN_PORT`, only with KEYPEARS_DEV=1. */
export function parseDevWellKnownPort(env: Env): number | undefined {
  if (nonEmpty(env, 'KEYPEARS_DEV_WELL_KNOWN_PORT') === undefined) return undefined;
  if (!parseDevFlag(env)) {
    throw new SettingError('KEYPEARS_DEV_WELL_KNOWN_PORT', 'is a development setting and needs KEYPEARS_DEV=1');
  }
  return integer(env, 'KEYPEARS_DEV_WELL_KNOWN_PORT', 0, 1, 65535);
}

/** How a program finds other nodes: the three shared settings, parsed. */
export interface DiscoverySettings {
  /** KEYPEARS_DEV. */
  dev: boolean;
  /** KEYPEARS_DNS_SERVERS; empty means the system resolver. */
  dnsServers: string[];
  /** KEYPEARS_DEV_WELL_KNOWN_PORT. */
  devWellKnownPort: number | undefined;
}

export const parseDiscoverySettings = (env: Env): DiscoverySettings => ({
  dev: parseDevFlag(env),
  dnsServers: parseDnsServers(nonEmpty(env, 'KEYPEARS_DNS_SERVERS')),
  devWellKnownPort: parseDevWellKnownPort(env),
});
