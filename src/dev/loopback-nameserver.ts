/**
 * A small authoritative nameserver on 127.0.0.1 (UDP and TCP) with a mutable record table:
 * for trying out several nodes on one machine (`npm run dev:nameserver`) and for the tests.
 * Names not in the table get NXDOMAIN; it never forwards a query anywhere.
 */
import dns2 from 'dns2';

const { Packet } = dns2;

export interface NameRecords {
  /** TXT records; each record is one or more character-strings. */
  txt?: string[][];
  a?: string[];
  aaaa?: string[];
  /** TTL of every answer for this name, seconds. Default 300. */
  ttl?: number;
}

export class LoopbackNameserver {
  private readonly records = new Map<string, NameRecords>();
  private server: ReturnType<typeof dns2.createServer> | undefined;
  /** Queries answered so far, as `TYPE name`. */
  readonly queries: string[] = [];

  private constructor(readonly port: number) {}

  /** Starts on 127.0.0.1:`port` (UDP and TCP). */
  static async start(port: number): Promise<LoopbackNameserver> {
    const ns = new LoopbackNameserver(port);
    await ns.resume();
    return ns;
  }

  /** `127.0.0.1:<port>`, the form KEYPEARS_DNS_SERVERS takes. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Replaces every record of `name`. */
  set(name: string, records: NameRecords): void {
    this.records.set(name.toLowerCase(), records);
  }

  /** Sets the TXT records of `name` (each value one record of one string), keeping its other records. */
  setTxt(name: string, ...values: string[]): void {
    const current = this.records.get(name.toLowerCase()) ?? {};
    this.set(name, { ...current, txt: values.map((v) => [v]) });
  }

  /** Sets the A records of `name`, keeping its other records. */
  setA(name: string, ...addresses: string[]): void {
    const current = this.records.get(name.toLowerCase()) ?? {};
    this.set(name, { ...current, a: addresses });
  }

  delete(name: string): void {
    this.records.delete(name.toLowerCase());
  }

  /** Stops answering (the port is released): a nameserver that is down. */
  async pause(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await server.close();
  }

  /** Starts answering again on the same port. */
  async resume(): Promise<void> {
    if (this.server) return;
    const server = dns2.createServer({
      udp: true,
      tcp: true,
      handle: (request, send) => {
        const response = Packet.createResponseFromRequest(request);
        response.header.aa = 1;
        const [question] = request.questions;
        if (!question) return send(response);
        const name = question.name.toLowerCase().replace(/\.$/, '');
        this.queries.push(`${Packet.typeName(question.type)} ${name}`);
        const entry = this.records.get(name);
        if (!entry) {
          response.header.rcode = Packet.RCODE.NXDOMAIN;
          return send(response);
        }
        const base = { name: question.name, class: Packet.CLASS.IN, ttl: entry.ttl ?? 300 };
        if (question.type === Packet.TYPE.TXT) {
          for (const data of entry.txt ?? []) response.answers.push({ ...base, type: Packet.TYPE.TXT, data } as never);
        } else if (question.type === Packet.TYPE.A) {
          for (const address of entry.a ?? [])
            response.answers.push({ ...base, type: Packet.TYPE.A, address } as never);
        } else if (question.type === Packet.TYPE.AAAA) {
          for (const address of entry.aaaa ?? [])
            response.answers.push({ ...base, type: Packet.TYPE.AAAA, address } as never);
        }
        send(response);
      },
    });
    await server.listen({
      udp: { port: this.port, address: '127.0.0.1' },
      tcp: { port: this.port, address: '127.0.0.1' },
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    await this.pause();
  }
}
