/**
 * Registration invites for nodes with KEYPEARS_REGISTRATION=invite: single-use, expiring,
 * bound to one served domain. The token is shown once to the operator; only its SHA-256 is
 * stored, so a database leak does not leak usable invites.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { parseDomain } from '../protocol/address.js';
import { randomBytes, sha256 } from '../protocol/crypto.js';
import { toB64u, toHex, utf8 } from '../protocol/encoding.js';
import { KeyPearsError } from '../protocol/errors.js';
import { InviteRepository, type StoredInvite } from './invite.repository.js';

export const INVITE_TOKEN_BYTES = 32;
export const DEFAULT_INVITE_TTL_SECONDS = 7 * 86_400;
export const MAX_INVITE_TTL_SECONDS = 90 * 86_400;
export const MIN_INVITE_TTL_SECONDS = 60;

export interface CreatedInvite {
  token: string;
  domain: string;
  expiresAt: Date;
}

/** What is stored for a token: lower-case hex SHA-256 of its text. */
export const inviteTokenHash = (token: string): string => toHex(sha256(utf8(token)));

@Injectable()
export class InviteService {
  constructor(
    private readonly invites: InviteRepository,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** @throws KeyPearsError `invalid_domain`, `domain_not_served` or `invalid_request` (ttl). */
  async create(domainInput: string, ttlSeconds = DEFAULT_INVITE_TTL_SECONDS): Promise<CreatedInvite> {
    const domain = parseDomain(domainInput);
    if (!this.config.domains.includes(domain)) {
      throw new KeyPearsError('domain_not_served', `this node does not serve ${domain} (KEYPEARS_DOMAINS)`);
    }
    if (
      !Number.isSafeInteger(ttlSeconds) ||
      ttlSeconds < MIN_INVITE_TTL_SECONDS ||
      ttlSeconds > MAX_INVITE_TTL_SECONDS
    ) {
      throw new KeyPearsError(
        'invalid_request',
        `an invite must live between ${MIN_INVITE_TTL_SECONDS} seconds and ${MAX_INVITE_TTL_SECONDS / 86_400} days`,
      );
    }
    const token = toB64u(randomBytes(INVITE_TOKEN_BYTES));
    const createdAt = this.clock.now();
    const expiresAt = new Date(createdAt.getTime() + ttlSeconds * 1000);
    await this.invites.create({ tokenHash: inviteTokenHash(token), domain, createdAt, expiresAt });
    return { token, domain, expiresAt };
  }

  /** Every invite, newest first, by id (the first 16 hex digits of its token's hash), never the token. */
  async list(): Promise<InviteListing[]> {
    const now = this.clock.now();
    return (await this.invites.list()).map((i) =>
      listing(i, i.usedAt ? 'used' : i.expiresAt <= now ? 'expired' : 'unused'),
    );
  }

  /**
   * Revokes (deletes) the unused invite whose id starts with `id`.
   *
   * @throws KeyPearsError `invalid_request` (not hex, or shorter than 6), `not_found` (no unused
   *   invite with that id), `conflict` (several).
   */
  async revoke(id: string): Promise<InviteListing> {
    if (!/^[0-9a-f]{6,64}$/.test(id)) {
      throw new KeyPearsError('invalid_request', 'an invite id is 6 to 64 lower-case hex digits (invite list)');
    }
    const found = await this.invites.revokeUnused(id);
    if (found.length === 0) throw new KeyPearsError('not_found', `no unused invite ${id}`);
    if (found.length > 1) throw new KeyPearsError('conflict', `${id} names ${found.length} invites: give more digits`);
    return listing(found[0], 'revoked');
  }
}

const listing = (i: StoredInvite, state: InviteListing['state']): InviteListing => ({
  id: i.tokenHash.slice(0, INVITE_ID_LENGTH),
  domain: i.domain,
  createdAt: i.createdAt,
  expiresAt: i.expiresAt,
  state,
  usedBy: i.usedBy,
});

/** An invite id: the first hex digits of its token's SHA-256 (enough to name it, useless to register). */
export const INVITE_ID_LENGTH = 16;

export interface InviteListing {
  id: string;
  domain: string;
  createdAt: Date;
  expiresAt: Date;
  state: 'unused' | 'used' | 'expired' | 'revoked';
  usedBy: string | null;
}
