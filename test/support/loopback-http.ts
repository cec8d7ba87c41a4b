/**
 * A plain HTTP server on 127.0.0.1 that records every TCP connection it receives, so a test
 * can assert that a refused destination was never connected to.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoopbackHttp {
  port: number;
  url: string;
  /** TCP connections accepted so far. */
  connections: number;
  /** Requests seen, as `METHOD host path`. */
  requests: string[];
  close(): Promise<void>;
}

export async function startLoopbackHttp(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => res.end('{}'),
  host: '127.0.0.1' | '::1' = '127.0.0.1',
): Promise<LoopbackHttp> {
  const server = http.createServer((req, res) => {
    handle.requests.push(`${req.method} ${req.headers.host} ${req.url}`);
    handler(req, res);
  });
  const handle: LoopbackHttp = {
    port: 0,
    url: '',
    connections: 0,
    requests: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => {
    handle.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  handle.port = (server.address() as AddressInfo).port;
  handle.url = host === '::1' ? `http://[::1]:${handle.port}` : `http://127.0.0.1:${handle.port}`;
  return handle;
}
