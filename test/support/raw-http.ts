/**
 * Sends raw bytes to a node over TCP and reads what comes back until the server closes the
 * connection: for requests no HTTP client would send (malformed request lines, headers,
 * percent-encoding, bodies that stop short or never end).
 */
import net from 'node:net';

export interface RawAnswer {
  /** The status of the response, or undefined when the server closed without one. */
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
}

/** Parses the first HTTP/1.1 response in `text` (a Content-Length body, as the node sends). */
export function parseRawAnswer(text: string): RawAnswer {
  const end = text.indexOf('\r\n\r\n');
  if (!text.startsWith('HTTP/1.1 ') || end < 0) return { status: undefined, headers: {}, body: text };
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? '0');
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(end + 4, end + 4 + length) };
}

export interface RawExchange {
  socket: net.Socket;
  /** Everything received, once the server closed the connection. */
  closed: Promise<RawAnswer>;
}

/** Opens a connection to `url`'s host and port and writes `chunks` (more can be written on `socket`). */
export function rawRequest(url: string, ...chunks: (string | Buffer)[]): RawExchange {
  const { hostname, port } = new URL(url);
  const socket = net.connect({ host: hostname, port: Number(port) });
  const received: Buffer[] = [];
  const closed = new Promise<RawAnswer>((resolve) => {
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('error', () => {});
    socket.on('close', () => resolve(parseRawAnswer(Buffer.concat(received).toString('latin1'))));
  });
  for (const chunk of chunks) socket.write(chunk);
  return { socket, closed };
}
