import { Module } from '@nestjs/common';
import { PeerLogRepository } from './peer-log.repository.js';
import { PeerLogService } from './peer-log.service.js';

/**
 * Key transparency, the verifying side of a node (docs/transparency.md §12.6): other nodes'
 * logs as this node verified them, and the evidence of every failure.
 */
@Module({
  providers: [PeerLogService, PeerLogRepository],
  exports: [PeerLogService, PeerLogRepository],
})
export class KtPeersModule {}
