import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { KeyPearsError } from '../protocol/errors.js';
import { NodePublicationRepository } from './node-publication.repository.js';

/**
 * The public URL every replica on one database must publish (docs/operators.md, "Replicas
 * behind a balancer"). Peers find the node, and check what it signs, by that URL: a replica
 * with another one would publish a second node document for the same keys and domains, and
 * its deliveries would be refused. The first node to start records its URL; the operator
 * moves the node to another with `admin public-url set`.
 */
@Injectable()
export class NodePublicationService {
  constructor(
    private readonly repository: NodePublicationRepository,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Records this node's KEYPEARS_PUBLIC_URL if none is, and refuses to go on with another.
   *
   * @throws KeyPearsError `public_url_mismatch` naming both URLs.
   */
  async requireSamePublicUrl(): Promise<void> {
    const recorded = await this.repository.claim(this.config.publicUrl);
    if (recorded !== this.config.publicUrl) {
      throw new KeyPearsError(
        'public_url_mismatch',
        `KEYPEARS_PUBLIC_URL is ${this.config.publicUrl}, but the nodes on this database publish ${recorded}: ` +
          'every replica must have the same public URL (to move the node to a new one, stop every replica and run ' +
          '`npm run admin -- public-url set <url>`)',
      );
    }
  }

  /** The recorded URL (undefined before a node first started). */
  recorded(): Promise<string | undefined> {
    return this.repository.recorded();
  }

  /** Records `publicUrl` as the one every replica must publish; returns the previous one. */
  replace(publicUrl: string): Promise<string | undefined> {
    return this.repository.replace(publicUrl, this.clock.now());
  }
}
