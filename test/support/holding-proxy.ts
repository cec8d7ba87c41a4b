/**
 * A loopback HTTP proxy in front of a node (the node's public URL points at it). It forwards
 * everything; while `hold` is set, requests to `holdPath` are forwarded and processed by the
 * node but the answer is never passed back: the sender sees a delivery that never finishes.
 * While `blackhole` is set, requests to `holdPath` are read and then neither forwarded nor
 * answered: a peer that accepts connections and never says anything.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HoldingProxy {
  port: number;
  url: string;
  /** Port of the node behind the proxy (set once it is known). */
  targetPort: number;
  hold: boolean;
  blackhole: boolean;
  /** Requests to `holdPath` whose answers were swallowed. */
  held: number;
  /** Requests to `holdPath` that were swallowed whole, and how many of those are still open. */
  swallowed: number;
  openSwallowed(): number;
  close(): Promise<void>;
}

export async function startHoldingProxy(holdPath: string): Promise<HoldingProxy> {
  const sockets = new Set<import('node:net').Socket>();
  const open = new Set<http.IncomingMessage>();
  const server = http.createServer((req, res) => {
    if (proxy.blackhole && req.url === holdPath) {
      proxy.swallowed++;
      open.add(req);
      req.resume();
      req.socket.on('close', () => open.delete(req));
      return;
    }
    const upstream = http.request(
      { host: '127.0.0.1', port: proxy.targetPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          if (proxy.hold && req.url === holdPath) {
            proxy.held++;
            return; // the node did the work; the sender never hears about it
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(Buffer.concat(chunks));
        });
      },
    );
    upstream.on('error', () => {
      res.statusCode = 502;
      res.end();
    });
    req.pipe(upstream);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const proxy: HoldingProxy = {
    port,
    url: `http://127.0.0.1:${port}`,
    targetPort: 0,
    hold: false,
    blackhole: false,
    held: 0,
    swallowed: 0,
    openSwallowed: () => open.size,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
