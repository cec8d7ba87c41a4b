/**
 * Authenticates a request signed with HTTP Message Signatures (RFC 9421, the profile of
 * src/protocol/http-signature.ts) and refuses replays. Shared by client authentication
 * (scope `client`, keys are users' identity keys) and node-to-node requests (another scope,
 * keys are node keys).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CleanupWhenDue } from '../common/cleanup-when-due.js';
import { Clock } from '../common/clock.js';
import { RateLimitService, type RateLimitedBucket } from '../common/rate-limit/rate-limit.service.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { isKeyPearsError, KeyPearsError } from '../protocol/errors.js';
import { DEFAULT_MAX_SKEW_SECONDS, verifyRequest, type VerifiedRequest } from '../protocol/http-signature.js';
import { NonceRepository } from './nonce.repository.js';

export interface VerifyOptions {
  /** Namespace of the nonces, so that the two kinds of signers cannot collide. */
  scope: string;
  /** The Ed25519 public key for a key id, or undefined when unknown. */
  resolveKey: (keyId: string) => Promise<Uint8Array | undefined>;
  /** Headers the signature must also cover, in order. */
  requiredHeaders?: string[];
  /**
   * Rate limits to count in the statement that spends the nonce (one round trip for both),
   * from the verified request; counted only for a fresh nonce.
   */
  limits?: (verified: VerifiedRequest) => readonly RateLimitedBucket[];
}

const NONCE_CLEANUP_INTERVAL_MS = 60_000;

@Injectable()
export class SignedRequestVerifier {
  private readonly cleanup = new CleanupWhenDue(
    NONCE_CLEANUP_INTERVAL_MS,
    'nonce cleanup',
    new Logger(SignedRequestVerifier.name),
  );

  constructor(
    private readonly nonces: NonceRepository,
    private readonly rateLimits: RateLimitService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * @throws KeyPearsError with a 401 code: `signature_missing`, `signature_malformed`,
   *   `signature_expired`, `signature_future`, `digest_mismatch`, `unknown_key`,
   *   `request_signature_invalid` or `replayed_request`; `rate_limited` (429) when
   *   `options.limits` names a spent budget.
   */
  async verify(request: FastifyRequest, options: VerifyOptions): Promise<VerifiedRequest> {
    const now = this.clock.unixSeconds();
    let verified: VerifiedRequest;
    try {
      verified = await verifyRequest({
        method: request.method,
        // The URI as the signer addressed it: binds the signature to this node, not just the path.
        targetUri: `${this.config.publicUrl}${request.url}`,
        body: rawBody(request),
        headers: request.headers,
        requiredHeaders: options.requiredHeaders,
        now,
        maxSkewSeconds: DEFAULT_MAX_SKEW_SECONDS,
        resolveKey: options.resolveKey,
      });
    } catch (e) {
      if (isKeyPearsError(e) && e.code === 'bad_signature') {
        throw new KeyPearsError('request_signature_invalid', e.message);
      }
      if (isKeyPearsError(e) && e.code === 'invalid_argument') {
        throw new KeyPearsError('signature_malformed', e.message);
      }
      throw e;
    }
    await this.cleanup.runIfDue(now * 1000, () => this.nonces.deleteExpired(new Date(now * 1000)));
    // Kept for as long as the signature could still be accepted.
    const keepUntil = new Date((verified.expires + DEFAULT_MAX_SKEW_SECONDS) * 1000);
    // Nonces are per signer: one signer cannot spend another signer's nonce.
    const nonce = `${verified.keyId} ${verified.nonce}`;
    await this.rateLimits.consumeAllWith(options.limits?.(verified) ?? [], async (hits) => {
      const spent = await this.nonces.remember(options.scope, nonce, keepUntil, hits);
      if (!spent.fresh) throw new KeyPearsError('replayed_request', 'this signed request was already received');
      return spent.counts;
    });
    return verified;
  }
}

/** The exact bytes received (kept by the JSON parser because the app is created with `rawBody`). */
function rawBody(request: FastifyRequest): Uint8Array | undefined {
  const raw = (request as FastifyRequest & { rawBody?: Buffer | string }).rawBody;
  if (raw === undefined) return undefined;
  return typeof raw === 'string' ? new TextEncoder().encode(raw) : new Uint8Array(raw);
}
