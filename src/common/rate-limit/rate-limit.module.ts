import { Module } from '@nestjs/common';
import { Clock } from '../clock.js';
import { RateLimitRepository } from './rate-limit.repository.js';
import { RateLimitService } from './rate-limit.service.js';

@Module({ providers: [RateLimitService, RateLimitRepository, Clock], exports: [RateLimitService] })
export class RateLimitModule {}
