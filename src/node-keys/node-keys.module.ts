import { Module } from '@nestjs/common';
import { NodeKeyRepository } from './node-key.repository.js';
import { NodeKeysService } from './node-keys.service.js';

@Module({ providers: [NodeKeysService, NodeKeyRepository], exports: [NodeKeysService] })
export class NodeKeysModule {}
