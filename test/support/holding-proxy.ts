/**
 * A loopback HTTP proxy in front of a node (the node's public URL points at it). It forwards
 * everything; while `hold` is set, requests to `holdPath` are forwarded and processed by the
 * node but the answer is never passed back: the sender sees a delivery that never finishes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HoldingProxy {
  port: number;
  url: string;
  /** Port of the node behind the proxy (set once it is known). */
  targetPort: number;
  hold: boolean;
  /** Requests to `holdPath` whose answers were swallowed. */
  held: number;
  close(): Promise<void>;
}

export async function startHoldingProxy(holdPath: string): Promise<HoldingProxy> {
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
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
    held: 0,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
