import { Module } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { NodeKeyRepository } from './node-key.repository.js';
import { NodeKeysService } from './node-keys.service.js';

@Module({ providers: [NodeKeysService, NodeKeyRepository, Clock], exports: [NodeKeysService] })
export class NodeKeysModule {}
