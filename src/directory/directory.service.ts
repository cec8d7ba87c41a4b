/**
 * The key directory (docs/key-directory.md): publishing prekeys, the owner's view of them,
 * public lookup and the claim of a prekey bundle. Lookup and claim are also what the
 * federation layer serves to other nodes.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { AccountKey } from '../accounts/account.repository.js';
import type { AdmissionLimitsOf } from '../auth/admission-limits.js';
import { Clock } from '../common/clock.js';
import { requestSource } from '../common/request-source.js';
import { RateLimitService, type RateLimitedBucket } from '../common/rate-limit/rate-limit.service.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { isValidAddress, parseAddress, type Address } from '../protocol/address.js';
import type { AccountStatus } from '../protocol/client-api.js';
import { KeyPearsError } from '../protocol/errors.js';
import { storedIdentityFingerprint } from '../protocol/fingerprint.js';
import {
  decodePrekeyUpload,
  encodeKeyRecord,
  type KeyRecord,
  type PrekeyBundle,
  type PrekeyUpload,
  type PublicIdentity,
} from '../protocol/wire.js';
import type { WithTransparency } from '../protocol/transparency/wire.js';
import { TransparencyService } from '../transparency/transparency.service.js';
import { PrekeyRepository, type DirectoryAccount, type OneTimePrekeyCounts } from './prekey.repository.js';

/** Most one-time prekeys of each kind stored for one account. */
export const MAX_ONE_TIME_PREKEYS = 1000;

/** Who asks for a bundle: an address (local or remote) and where the request came from. */
export interface ClaimRequester {
  address: string;
  /** The client's IP address, or the requesting node for federated claims. */
  source: string;
}

/**
 * The budgets a claim of `target` spends: per source (a client's IP address, or the requesting
 * node), and per (requester, target) pair. Without a valid target, only the source's.
 */
export function claimLimits(config: AppConfig, requester: ClaimRequester, target?: string): RateLimitedBucket[] {
  const source: RateLimitedBucket = {
    bucket: `claim:source:${requester.source}`,
    limit: config.claimLimitPerSource,
    windowSeconds: 60,
    what: 'bundle claims from this source',
  };
  if (target === undefined) return [source];
  return [
    source,
    {
      bucket: `claim:pair:${requester.address}>${target}`,
      limit: config.claimLimitPerPair,
      windowSeconds: 3600,
      what: `bundle claims for ${target}`,
    },
  ];
}

/** The claim limits of a client's claim route (`:address` parameter), counted on admission. */
export const clientClaimLimits: AdmissionLimitsOf = ({ request, signer, config }) => {
  const address = (request.params as { address?: unknown }).address;
  const target = isValidAddress(address) ? parseAddress(address as string).canonical : undefined;
  return claimLimits(config, { address: signer, source: requestSource(request) }, target);
};

/** The one answer for every address that has no usable identity here, so lookups are not an oracle. */
const notFound = () => new KeyPearsError('not_found', 'no such address');

type CompleteAccount = DirectoryAccount & {
  [K in 'signedPrekey' | 'pqLastResort']: NonNullable<DirectoryAccount[K]>;
};

/** An account can be looked up once it has published a signed prekey and a last-resort key. */
const isComplete = (a: DirectoryAccount): a is CompleteAccount => a.signedPrekey !== null && a.pqLastResort !== null;

@Injectable()
export class DirectoryService {
  constructor(
    private readonly prekeys: PrekeyRepository,
    private readonly rateLimits: RateLimitService,
    private readonly clock: Clock,
    private readonly transparency: TransparencyService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async status(owner: AccountKey): Promise<AccountStatus> {
    const account = await this.prekeys.findAccountById(owner.id);
    if (!account) throw notFound();
    const counts = await this.prekeys.countOneTimePrekeys(owner.id);
    const { signedPrekey, pqLastResort } = account;
    return {
      address: account.address,
      fingerprint: storedIdentityFingerprint(account.identityKey),
      oneTimePrekeys: counts.x25519,
      pqOneTimePrekeys: counts.mlkem768,
      maxOneTimePrekeys: MAX_ONE_TIME_PREKEYS,
      signedPrekey:
        signedPrekey?.publishedAt != null
          ? { id: signedPrekey.id, publishedAt: signedPrekey.publishedAt.toISOString() }
          : null,
      pqLastResort: pqLastResort ? { id: pqLastResort.id } : null,
    };
  }

  /**
   * Verifies the signatures of an upload by the account's owner, then stores it, all or nothing.
   *
   * @throws KeyPearsError `invalid_key`, `bad_signature`, `prekey_limit` or `conflict`.
   */
  async publish(owner: AccountKey, request: PrekeyUpload): Promise<AccountStatus> {
    const upload = decodePrekeyUpload(request, owner.address, owner.identityKey);
    await this.prekeys.storeUpload(owner.id, upload, this.clock.now(), (stored: OneTimePrekeyCounts) => {
      const check = (kind: string, current: number, added: number) => {
        if (current + added > MAX_ONE_TIME_PREKEYS) {
          throw new KeyPearsError(
            'prekey_limit',
            `${kind}: ${current} stored + ${added} uploaded exceeds the limit of ${MAX_ONE_TIME_PREKEYS}`,
          );
        }
      };
      check('oneTimePrekeys', stored.x25519, upload.oneTimePrekeys.length);
      check('pqOneTimePrekeys', stored.mlkem768, upload.pqOneTimePrekeys.length);
    });
    return this.status(owner);
  }

  /**
   * The public identity of a local address, without consuming anything.
   *
   * @throws KeyPearsError `not_found` (the same for unknown addresses, addresses of domains
   *   this node does not serve, and accounts without published prekeys).
   */
  async lookupPublicIdentity(address: Address, known?: number): Promise<WithTransparency<PublicIdentity>> {
    const account = await this.findComplete(address);
    this.transparency.checkServed(account);
    return this.withProof(publicIdentity(account), account, known);
  }

  /**
   * Adds the `transparency` member when the requester asked for it (`known`, the log size it
   * knows: docs/transparency.md §11.2) and the log is advertised.
   */
  private async withProof<T extends object>(
    answer: T,
    account: DirectoryAccount,
    known: number | undefined,
  ): Promise<WithTransparency<T>> {
    if (known === undefined) return answer;
    const transparency = await this.transparency.member(account, known);
    return transparency ? { ...answer, transparency } : answer;
  }

  /**
   * A prekey bundle for `address`, consuming one one-time prekey of each kind atomically, or
   * the last-resort keys when they are used up (`usedLastResort`). Rate-limited per
   * (requester, target) pair and per source (`claimLimits`).
   *
   * @throws KeyPearsError `rate_limited` or `not_found`.
   */
  async claimBundle(
    target: Address,
    requester: ClaimRequester,
    known?: number,
  ): Promise<WithTransparency<PrekeyBundle>> {
    await this.rateLimits.consumeAll(claimLimits(this.config, requester, target.canonical));
    return this.claim(target, known);
  }

  /**
   * `claimBundle` for a request whose claim limits were already counted (on the client's claim
   * route, with the request's nonce: `clientClaimLimits`).
   *
   * @throws KeyPearsError `not_found`.
   */
  claimCountedBundle(target: Address, known?: number): Promise<WithTransparency<PrekeyBundle>> {
    return this.claim(target, known);
  }

  private async claim({ canonical: target, domain }: Address, known?: number): Promise<WithTransparency<PrekeyBundle>> {
    if (!this.config.domains.includes(domain)) throw notFound();
    const found = await this.prekeys.claimBundle(target);
    if (!found || !isComplete(found.account)) throw notFound();
    const { account, claimed } = found;
    const encode = (r: KeyRecord | undefined) => (r ? encodeKeyRecord(r) : undefined);
    const bundle: PrekeyBundle = { ...publicIdentity(account), usedLastResort: claimed.pqOneTimePrekey === undefined };
    const oneTimePrekey = encode(claimed.oneTimePrekey);
    const pqOneTimePrekey = encode(claimed.pqOneTimePrekey);
    if (oneTimePrekey) bundle.oneTimePrekey = oneTimePrekey;
    if (pqOneTimePrekey) bundle.pqOneTimePrekey = pqOneTimePrekey;
    this.transparency.checkServed(account);
    return this.withProof(bundle, account, known);
  }

  private async findComplete({ canonical, domain }: Address): Promise<CompleteAccount> {
    if (!this.config.domains.includes(domain)) throw notFound();
    const account = await this.prekeys.findAccountByAddress(canonical);
    if (!account || !isComplete(account)) throw notFound();
    return account;
  }
}

function publicIdentity(account: CompleteAccount): PublicIdentity {
  return {
    address: account.address,
    identityKey: Buffer.from(account.identityKey).toString('base64url'),
    identityDhKey: encodeKeyRecord(account.identityDhKey),
    signedPrekey: encodeKeyRecord(account.signedPrekey),
    pqLastResort: encodeKeyRecord(account.pqLastResort),
    fingerprint: storedIdentityFingerprint(account.identityKey),
  };
}
