/**
 * The test nameserver: the same loopback nameserver operators use for a try-out
 * (src/dev/loopback-nameserver.ts) on a free port. Pass `ns.address` as KEYPEARS_DNS_SERVERS.
 */
import { LoopbackNameserver } from '../../src/dev/loopback-nameserver.js';
import { freePort } from './free-port.js';

export { LoopbackNameserver };

export const startTestNameserver = async (): Promise<LoopbackNameserver> => LoopbackNameserver.start(await freePort());
