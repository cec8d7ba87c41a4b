/**
 * The suite's web server for discovery cases: one loopback HTTP server that plays many hosts
 * (by `Host`), each answering `GET /.well-known/keypears.json` as a case sets it up, so that
 * the node under test meets domains' websites (docs/discovery.md §2) and node documents
 * (§3 step 4) that are right, wrong, oversized or redirecting.
 */
import { createServer, type Server } from 'node:http';
import { close, listen } from './servers.js';

export interface SiteAnswer {
  status: number;
  /** A string is sent as it is, anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

export class SiteServer {
  private server: Server | undefined;
  private readonly sites = new Map<string, SiteAnswer>();
  port = 0;

  /** Listens on 127.0.0.1:`port` (0: any free port). */
  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
      const path = (req.url ?? '/').split('?')[0];
      const site = path === '/.well-known/keypears.json' ? this.sites.get(host) : undefined;
      const answer = site ?? { status: 404, body: { error: { code: 'not_found', message: 'no such site' } } };
      const body =
        answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(body);
    });
    this.port = await listen(server, port, '127.0.0.1');
    this.server = server;
  }

  /** What `http://<host>:<port>/.well-known/keypears.json` answers. */
  set(host: string, answer: SiteAnswer): void {
    this.sites.set(host.toLowerCase(), answer);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await close(server);
  }
}
