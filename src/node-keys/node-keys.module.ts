import { Module } from '@nestjs/common';
import { NodeKeyRepository } from './node-key.repository.js';
import { NodeKeysService } from './node-keys.service.js';
import { NodePublicationRepository } from './node-publication.repository.js';
import { NodePublicationService } from './node-publication.service.js';

@Module({
  providers: [NodeKeysService, NodeKeyRepository, NodePublicationService, NodePublicationRepository],
  exports: [NodeKeysService, NodePublicationService],
})
export class NodeKeysModule {}
