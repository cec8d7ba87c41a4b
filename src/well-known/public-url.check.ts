import { Injectable, OnModuleInit } from '@nestjs/common';
import { NodePublicationService } from '../node-keys/node-publication.service.js';

/**
 * Before the node serves or sends anything (module initialisation comes before the workers
 * start and the server listens), its public URL must be the one the database's nodes publish.
 */
@Injectable()
export class PublicUrlCheck implements OnModuleInit {
  constructor(private readonly publication: NodePublicationService) {}

  onModuleInit(): Promise<void> {
    return this.publication.requireSamePublicUrl();
  }
}
