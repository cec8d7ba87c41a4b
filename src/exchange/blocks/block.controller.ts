import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiSignedRequest } from '../../auth/api-signed-request.js';
import { CurrentAccount, type AuthenticatedAccount } from '../../auth/authenticated-account.js';
import { ClientAuthGuard } from '../../auth/client-auth.guard.js';
import { ApiErrors, ApiZodBody, ApiZodResponse, ZodPipe } from '../../common/zod.js';
import { BlockListSchema, BlockRequestSchema, type BlockList, type BlockRequest } from '../../protocol/exchange-api.js';
import { BlockService } from './block.service.js';

/** A user's blocks; every request is signed by the user (docs/protocol.md, "Client exchange API"). */
@ApiTags('exchanges')
@Controller('api/v1/blocks')
@UseGuards(ClientAuthGuard)
export class BlockController {
  constructor(private readonly blocks: BlockService) {}

  @Get()
  @ApiOperation({ summary: 'Addresses and domains the signer blocks' })
  @ApiSignedRequest()
  @ApiZodResponse(200, BlockListSchema)
  list(@CurrentAccount() account: AuthenticatedAccount): Promise<BlockList> {
    return this.blocks.list(account);
  }

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Block an address (alice@a.example) or a whole domain (a.example)' })
  @ApiSignedRequest()
  @ApiZodBody(BlockRequestSchema)
  @ApiZodResponse(200, BlockListSchema)
  @ApiErrors(400)
  add(
    @CurrentAccount() account: AuthenticatedAccount,
    @Body(new ZodPipe(BlockRequestSchema)) { pattern }: BlockRequest,
  ): Promise<BlockList> {
    return this.blocks.add(account, pattern);
  }

  @Delete(':pattern')
  @ApiOperation({ summary: 'Remove a block' })
  @ApiParam({ name: 'pattern', description: 'the blocked address or domain' })
  @ApiSignedRequest()
  @ApiZodResponse(200, BlockListSchema)
  @ApiErrors(404)
  remove(@CurrentAccount() account: AuthenticatedAccount, @Param('pattern') pattern: string): Promise<BlockList> {
    return this.blocks.remove(account, pattern);
  }
}
