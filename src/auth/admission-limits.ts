/**
 * Route metadata for rate limits that follow from the signed request alone (its signer, its
 * source address, its route parameters). ClientAuthGuard counts them in the same statement
 * that spends the request's nonce, so admitting the request costs one database round trip
 * (docs/performance.md). Limits that depend on a validated body or on what a service finds
 * are counted by the service, with RateLimitService.
 */
import { SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { RateLimitedBucket } from '../common/rate-limit/rate-limit.service.js';
import type { AppConfig } from '../config/config.js';

export interface AdmissionContext {
  request: FastifyRequest;
  /** The verified signer: a local account's canonical address. */
  signer: string;
  config: AppConfig;
}

export type AdmissionLimitsOf = (context: AdmissionContext) => readonly RateLimitedBucket[];

export const ADMISSION_LIMITS = 'keypears:admission-limits';

/** Counts `limitsOf(...)` on admission of every request to the decorated (ClientAuthGuard) route. */
export const AdmissionLimits = (limitsOf: AdmissionLimitsOf) => SetMetadata(ADMISSION_LIMITS, limitsOf);
