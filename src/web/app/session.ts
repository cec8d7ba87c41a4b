/**
 * An unlocked identity in this page: the keystore and its sealing key in memory, a client of
 * this node signing as the identity, and the SDK's context whose `save` seals and stores the
 * keystore (writes one after another, so the last state written is the last state reached).
 */
import { normalizeNodeUrl, NodeClient } from '../../sdk/client.js';
import type { UserContext } from '../../sdk/context.js';
import { NodeDocumentSchema } from '../../protocol/discovery.js';
import { KeyPearsError } from '../../protocol/errors.js';
import { parseWire } from '../../protocol/wire.js';
import { save, type Keystore, type Unlocked } from './vault.js';

/** The node that served this page, as it describes itself (/.well-known/keypears.json). */
export interface NodeInfo {
  /** Its base URL: what requests are signed for and registrations bound to. */
  baseUrl: string;
  domains: string[];
  /** The page came over plain HTTP (a development node): the client must allow it too. */
  insecure: boolean;
}

/**
 * Reads the node's own document. The page may talk to no other node (its policy allows
 * requests to this origin only), so a node that knows itself under another origin is refused.
 *
 * @throws KeyPearsError `node_unavailable`, `node_document_invalid`, `invalid_node_url`.
 */
export async function loadNode(): Promise<NodeInfo> {
  let json: unknown;
  try {
    const response = await fetch('/.well-known/keypears.json', { headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    json = await response.json();
  } catch (e) {
    throw new KeyPearsError('node_unavailable', `this node does not answer: ${(e as Error).message}`);
  }
  const document = parseWire(NodeDocumentSchema, json, 'node_document_invalid');
  const insecure = location.protocol === 'http:';
  const baseUrl = normalizeNodeUrl(document.node, insecure);
  if (new URL(baseUrl).origin !== location.origin) {
    throw new KeyPearsError(
      'invalid_node_url',
      `this node calls itself ${baseUrl}, but the page was opened at ${location.origin}: open the app at ${baseUrl}/app`,
    );
  }
  return { baseUrl, domains: document.domains, insecure };
}

export class Session {
  readonly client: NodeClient;
  readonly ctx: UserContext;
  private active = true;
  private writes: Promise<void> = Promise.resolve();

  constructor(
    readonly node: NodeInfo,
    private readonly unlocked: Unlocked,
  ) {
    const { ks } = unlocked;
    this.client = new NodeClient({
      baseUrl: node.baseUrl,
      signer: { address: ks.address, secretKey: ks.identitySecretKey },
      allowInsecureHttp: node.insecure,
    });
    this.ctx = { client: this.client, ks, save: () => this.save() };
  }

  get ks(): Keystore {
    return this.unlocked.ks;
  }

  get isActive(): boolean {
    return this.active;
  }

  /** Seals and stores the keystore after any write still under way; nothing once locked. */
  save(): Promise<void> {
    const next = this.writes.then(() => (this.active ? save(this.unlocked) : undefined));
    this.writes = next.catch(() => undefined);
    return next;
  }

  /** Ends the session: the loops stop at their next answer, and nothing more is written. */
  async lock(): Promise<void> {
    await this.writes;
    this.active = false;
  }
}
