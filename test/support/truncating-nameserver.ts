/**
 * A nameserver for the DNS fault cases: over UDP it answers queries for `names` (every query
 * when none are given) truncated (TC set, no answers), so a resolver must ask again over TCP,
 * and passes other queries on to a loopback nameserver; over TCP it either passes the query
 * on too (`tcp = 'answer'`) or accepts the connection and never says anything
 * (`tcp = 'hang'`). Both on 127.0.0.1, one free port.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dns2 from 'dns2';
import { freePort } from './free-port.js';
import type { LoopbackNameserver } from './dns-server.js';

export interface TruncatingNameserver {
  address: string;
  tcp: 'answer' | 'hang';
  /** TCP connections accepted so far. */
  tcpConnections: number;
  /** TCP connections still open (a resolver that gave up closes its own). */
  openTcpConnections(): number;
  stop(): Promise<void>;
}

export async function startTruncatingNameserver(
  upstream: LoopbackNameserver,
  names?: string[],
): Promise<TruncatingNameserver> {
  const port = await freePort();
  const udp = dgram.createSocket('udp4');
  udp.on('message', (message, rinfo) => {
    const request = dns2.Packet.parse(message);
    const name = request.questions[0]?.name.toLowerCase().replace(/\.$/, '');
    if (names && !names.includes(name)) {
      const forward = dgram.createSocket('udp4');
      forward.on('message', (answer) => {
        udp.send(answer, rinfo.port, rinfo.address);
        forward.close();
      });
      forward.send(message, upstream.port, '127.0.0.1');
      return;
    }
    const response = dns2.Packet.createResponseFromRequest(request);
    response.header.tc = 1;
    udp.send(response.toBuffer(), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => udp.bind(port, '127.0.0.1', resolve));
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    ns.tcpConnections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (ns.tcp === 'hang') {
      socket.resume(); // reads and drops the query, so the resolver closing its side is seen
      return;
    }
    const forward = net.connect({ host: '127.0.0.1', port: upstream.port });
    forward.on('error', () => socket.destroy());
    socket.pipe(forward).pipe(socket);
  });
  await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', resolve));
  const ns: TruncatingNameserver = {
    address: `127.0.0.1:${port}`,
    tcp: 'answer',
    tcpConnections: 0,
    openTcpConnections: () => sockets.size,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    },
  };
  return ns;
}
