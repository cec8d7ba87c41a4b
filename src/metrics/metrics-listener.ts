/**
 * The metrics listener of KEYPEARS_METRICS_PORT: GET /api/metrics and nothing else, on an
 * address of its own (loopback by default), so the public listener does not serve the metrics
 * at all (docs/operators.md, "Metrics"). Its error answers have the documented shape
 * (docs/errors.md).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsSettings } from '../config/config.js';
import { errorBody, isKeyPearsError, type ApiErrorCode } from '../protocol/errors.js';
import { statusForCode } from '../common/error-status.js';
import { requireMetricsToken } from './metrics-token.js';
import type { NodeMetrics } from './node-metrics.js';

export const METRICS_PATH = '/api/metrics';

export interface MetricsListener {
  /** `http://host:port`, the port actually listened on. */
  url: string;
  close(): Promise<void>;
}

function answerError(res: http.ServerResponse, code: ApiErrorCode, message: string): void {
  const body = JSON.stringify(errorBody(code, message));
  res.writeHead(statusForCode(code) ?? 500, { 'Content-Type': 'application/json; charset=utf-8' }).end(body);
}

async function answer(req: http.IncomingMessage, res: http.ServerResponse, metrics: NodeMetrics, token?: string) {
  const path = (req.url ?? '').split('?')[0];
  if (path !== METRICS_PATH) return answerError(res, 'not_found', `no route for ${req.method} ${path}`);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return answerError(res, 'method_not_allowed', `${METRICS_PATH} answers GET only`);
  }
  try {
    requireMetricsToken(req.headers.authorization, token);
    const text = await metrics.scrape();
    res.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : text);
  } catch (e) {
    if (isKeyPearsError(e) && e.code === 'unauthorized') return answerError(res, 'unauthorized', e.message);
    answerError(res, 'internal_error', 'internal error');
  }
}

/** Listens on `settings.host`:`settings.port`; rejects with Node's error (EADDRINUSE, ...) when it cannot. */
export function startMetricsListener(metrics: NodeMetrics, settings: MetricsSettings): Promise<MetricsListener> {
  const server = http.createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => {
    // A scrape has no body; whatever is sent is read and dropped.
    req.resume();
    void answer(req, res, metrics, settings.token);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
      resolve({
        url: `http://${host}:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
