import { Injectable } from '@nestjs/common';
import type { AccountKey } from '../../accounts/account.repository.js';
import { Clock } from '../../common/clock.js';
import { KeyPearsError } from '../../protocol/errors.js';
import { BlockPatternSchema, type BlockList } from '../../protocol/exchange-api.js';
import { BlockRepository } from './block.repository.js';

/**
 * A user's blocks: canonical addresses or whole domains whose exchanges the user's node
 * refuses (docs/protocol.md, "Initiation checks").
 */
@Injectable()
export class BlockService {
  constructor(
    private readonly blocks: BlockRepository,
    private readonly clock: Clock,
  ) {}

  async list(account: AccountKey): Promise<BlockList> {
    return { blocks: await this.blocks.list(account.id) };
  }

  /**
   * @param pattern a canonical address or domain (BlockPatternSchema).
   * @throws KeyPearsError `invalid_request` for the user's own address.
   */
  async add(account: AccountKey, pattern: string): Promise<BlockList> {
    if (pattern === account.address) throw new KeyPearsError('invalid_request', 'cannot block yourself');
    await this.blocks.add(account.id, pattern, this.clock.now());
    return this.list(account);
  }

  /**
   * @param pattern as the client sent it (a route parameter): anything that is not a canonical
   *   address or domain is no block, and never reaches the database.
   * @throws KeyPearsError `not_found` when the pattern was not blocked.
   */
  async remove(account: AccountKey, pattern: string): Promise<BlockList> {
    const blocked = BlockPatternSchema.safeParse(pattern).success && (await this.blocks.remove(account.id, pattern));
    if (!blocked) throw new KeyPearsError('not_found', 'no such block');
    return this.list(account);
  }

  /** True when the account blocks this sender address or its whole domain. */
  isBlocked(accountId: string, senderAddress: string, senderDomain: string): Promise<boolean> {
    return this.blocks.isBlocked(accountId, senderAddress, senderDomain);
  }
}
