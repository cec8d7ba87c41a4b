/**
 * Registration of `local@domain` on the node that serves `domain` (docs/key-directory.md,
 * "Registration"). The request carries the identity keys and a proof of possession of the
 * Ed25519 identity key bound to this node and a fresh timestamp.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { parseAddress } from '../protocol/address.js';
import type { RegistrationResponse } from '../protocol/client-api.js';
import { KeyPearsError } from '../protocol/errors.js';
import { identityFingerprint } from '../protocol/fingerprint.js';
import type { WithTransparency } from '../protocol/transparency/wire.js';
import { decodeRegistrationRequest, type RegistrationRequest } from '../protocol/wire.js';
import { TransparencyService } from '../transparency/transparency.service.js';
import { AccountRepository } from './account.repository.js';
import { inviteTokenHash } from './invite.service.js';

/** How far the proof's timestamp may be from the node's clock, either way. */
export const REGISTRATION_PROOF_MAX_AGE_SECONDS = 300;

@Injectable()
export class RegistrationService {
  constructor(
    private readonly accounts: AccountRepository,
    private readonly clock: Clock,
    private readonly transparency: TransparencyService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Registers the address of a request that passed its schema (the source's attempts are
   * counted before, by RegistrationLimitGuard).
   *
   * @throws KeyPearsError `invalid_key`, `domain_not_served`, `registration_closed`,
   *   `invite_required`, `invalid_invite`, `proof_expired`, `bad_signature` or `address_taken`.
   */
  async register(request: RegistrationRequest, known?: number): Promise<WithTransparency<RegistrationResponse>> {
    const { domain } = parseAddress(request.address);
    if (!this.config.domains.includes(domain)) {
      throw new KeyPearsError('domain_not_served', `this node does not serve ${domain}`);
    }
    if (this.config.registration === 'closed') {
      throw new KeyPearsError('registration_closed', 'this node does not accept registrations');
    }
    if (this.config.registration === 'invite' && request.invite === undefined) {
      throw new KeyPearsError('invite_required', 'this node registers new addresses by invite only');
    }
    const now = this.clock.now();
    if (Math.abs(Math.floor(now.getTime() / 1000) - request.timestamp) > REGISTRATION_PROOF_MAX_AGE_SECONDS) {
      throw new KeyPearsError(
        'proof_expired',
        `the registration proof must be made within ${REGISTRATION_PROOF_MAX_AGE_SECONDS} seconds of the node's clock`,
      );
    }
    const registration = decodeRegistrationRequest(request, this.config.publicUrl);
    // The log entry is computed before the transaction (its VRF proof costs milliseconds) and
    // appended in it, so the account exists exactly when its entry does.
    const entry = await this.transparency.prepareRegistration(registration.address, {
      identityKey: registration.identityKey,
      identityDhKey: registration.identityDhKey,
      registeredAt: registration.timestamp,
      registrationProof: registration.proof,
    });
    const appended = await this.accounts.create(
      {
        address: registration.address,
        domain,
        identityKey: registration.identityKey,
        proof: registration.proof,
        identityDhKey: registration.identityDhKey,
      },
      {
        now,
        inviteTokenHash:
          this.config.registration === 'invite' && registration.invite !== undefined
            ? inviteTokenHash(registration.invite)
            : undefined,
        inTransaction: entry.append,
      },
    );
    const response: WithTransparency<RegistrationResponse> = {
      address: registration.address,
      fingerprint: identityFingerprint(registration.identityKey),
      node: this.config.publicUrl,
    };
    const transparency =
      known === undefined ? undefined : await this.transparency.member(entry.account, known, appended);
    return transparency ? { ...response, transparency } : response;
  }
}
