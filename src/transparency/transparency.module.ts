import { Module } from '@nestjs/common';
import { LogAuditService } from './log-audit.service.js';
import { TransparencyController } from './transparency.controller.js';
import { TransparencyRepository } from './transparency.repository.js';
import { TransparencyService } from './transparency.service.js';

/**
 * The node's key-transparency log (docs/transparency.md §10-12): its storage, the appends the
 * registrations make, the log's routes, and the proofs and self-check of every lookup.
 */
@Module({
  controllers: [TransparencyController],
  providers: [TransparencyService, TransparencyRepository, LogAuditService],
  exports: [TransparencyService, LogAuditService],
})
export class TransparencyModule {}
