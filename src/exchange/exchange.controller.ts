import { Body, Controller, Delete, Get, HttpCode, Ip, Param, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiSignedRequest } from '../auth/api-signed-request.js';
import { CurrentAccount, type AuthenticatedAccount } from '../auth/authenticated-account.js';
import { ClientAuthGuard } from '../auth/client-auth.guard.js';
import { ApiErrors, ApiZodBody, ApiZodResponse } from '../common/zod.js';
import {
  BlockListSchema,
  BlockRequestSchema,
  BundleRequestSchema,
  ConfirmExchangeRequestSchema,
  ExchangeStatusResponseSchema,
  ExchangeViewSchema,
  InboxResponseSchema,
  StartExchangeRequestSchema,
  type ExchangeStatusResponse,
  type ExchangeView,
  type InboxResponse,
} from '../protocol/exchange-api.js';
import { PrekeyBundleSchema, type PrekeyBundle } from '../protocol/wire.js';
import { ExchangeService } from './exchange.service.js';

/** The exchange as a local user drives it; every request is signed by the user (docs/protocol.md). */
@ApiTags('exchanges')
@Controller('api/v1')
@UseGuards(ClientAuthGuard)
export class ExchangeController {
  constructor(private readonly exchanges: ExchangeService) {}

  @Post('exchanges/bundle')
  @HttpCode(200)
  @ApiOperation({ summary: 'Claim a prekey bundle for any address (this node fetches it over federation if needed)' })
  @ApiSignedRequest()
  @ApiZodBody(BundleRequestSchema)
  @ApiZodResponse(200, PrekeyBundleSchema)
  @ApiErrors(400, 404, 429, 502, 503)
  bundle(
    @CurrentAccount() account: AuthenticatedAccount,
    @Body() body: unknown,
    @Ip() ip: string,
  ): Promise<PrekeyBundle> {
    return this.exchanges.claimBundle(account, body, ip);
  }

  @Post('exchanges')
  @HttpCode(202)
  @ApiOperation({ summary: 'Start an exchange: hand over a signed initiation for delivery to its recipient' })
  @ApiSignedRequest()
  @ApiZodBody(StartExchangeRequestSchema)
  @ApiZodResponse(202, ExchangeStatusResponseSchema)
  @ApiErrors(400, 403, 404, 409, 422, 429)
  start(@CurrentAccount() account: AuthenticatedAccount, @Body() body: unknown): Promise<ExchangeStatusResponse> {
    return this.exchanges.start(account, body);
  }

  @Get('exchanges/inbox')
  @ApiOperation({ summary: 'Incoming exchanges waiting for an answer, oldest first' })
  @ApiSignedRequest()
  @ApiZodResponse(200, InboxResponseSchema)
  async inbox(@CurrentAccount() account: AuthenticatedAccount): Promise<InboxResponse> {
    return { exchanges: await this.exchanges.inbox(account) };
  }

  @Get('exchanges/:id')
  @ApiOperation({ summary: 'One exchange of the signer, with its messages and status' })
  @ApiParam({ name: 'id', description: 'the exchange id (22 base64url characters)' })
  @ApiSignedRequest()
  @ApiZodResponse(200, ExchangeViewSchema)
  @ApiErrors(404)
  get(@CurrentAccount() account: AuthenticatedAccount, @Param('id') id: string): Promise<ExchangeView> {
    return this.exchanges.get(account, id);
  }

  @Post('exchanges/:id/confirmation')
  @HttpCode(202)
  @ApiOperation({ summary: 'Answer an incoming exchange with a key confirmation, delivered to the initiator' })
  @ApiParam({ name: 'id', description: 'the exchange id' })
  @ApiSignedRequest()
  @ApiZodBody(ConfirmExchangeRequestSchema)
  @ApiZodResponse(202, ExchangeStatusResponseSchema)
  @ApiErrors(400, 404, 409, 422)
  confirm(
    @CurrentAccount() account: AuthenticatedAccount,
    @Param('id') id: string,
    @Body() body: unknown,
  ): Promise<ExchangeStatusResponse> {
    return this.exchanges.confirm(account, id, body);
  }

  @Get('blocks')
  @ApiOperation({ summary: 'Addresses and domains the signer blocks' })
  @ApiSignedRequest()
  @ApiZodResponse(200, BlockListSchema)
  listBlocks(@CurrentAccount() account: AuthenticatedAccount): Promise<{ blocks: string[] }> {
    return this.exchanges.listBlocks(account);
  }

  @Post('blocks')
  @HttpCode(200)
  @ApiOperation({ summary: 'Block an address (alice@a.example) or a whole domain (a.example)' })
  @ApiSignedRequest()
  @ApiZodBody(BlockRequestSchema)
  @ApiZodResponse(200, BlockListSchema)
  @ApiErrors(400)
  block(@CurrentAccount() account: AuthenticatedAccount, @Body() body: unknown): Promise<{ blocks: string[] }> {
    return this.exchanges.block(account, body);
  }

  @Delete('blocks/:pattern')
  @ApiOperation({ summary: 'Remove a block' })
  @ApiParam({ name: 'pattern', description: 'the blocked address or domain' })
  @ApiSignedRequest()
  @ApiZodResponse(200, BlockListSchema)
  @ApiErrors(404)
  unblock(
    @CurrentAccount() account: AuthenticatedAccount,
    @Param('pattern') pattern: string,
  ): Promise<{ blocks: string[] }> {
    return this.exchanges.unblock(account, pattern);
  }
}
