import { Body, Controller, Get, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { ApiSignedRequest } from '../auth/api-signed-request.js';
import { CurrentAccount, type AuthenticatedAccount } from '../auth/authenticated-account.js';
import { ClientAuthGuard } from '../auth/client-auth.guard.js';
import { Source } from '../common/request-source.js';
import { ApiErrors, ApiZodBody, ApiZodResponse, ZodPipe } from '../common/zod.js';
import {
  BundleRequestSchema,
  ConfirmExchangeRequestSchema,
  EXCHANGE_STATUSES,
  ExchangeQuerySchema,
  ExchangeStatusResponseSchema,
  ExchangeViewSchema,
  InboxQuerySchema,
  InboxResponseSchema,
  MAX_POLL_WAIT_SECONDS,
  StartExchangeRequestSchema,
  type BundleRequest,
  type ConfirmExchangeRequest,
  type ExchangeStatusResponse,
  type ExchangeView,
  type InboxResponse,
  type StartExchangeRequest,
} from '../protocol/exchange-api.js';
import { PrekeyBundleAnswerSchema, type WithTransparency } from '../protocol/transparency/wire.js';
import type { PrekeyBundle } from '../protocol/wire.js';
import { ApiKtKnown, KtKnown } from '../transparency/kt-known.decorator.js';
import { BundleBrokerService } from './bundle-broker.service.js';
import type { WaitRequest } from './exchange-waiters.js';
import { ExchangeService } from './exchange.service.js';

const WAIT_QUERY = {
  name: 'wait',
  required: false,
  description: `long polling: wait up to this many seconds (0-${MAX_POLL_WAIT_SECONDS}) for a change before answering`,
  schema: { type: 'integer', minimum: 0, maximum: MAX_POLL_WAIT_SECONDS },
} as const;

/** The wait a request asked for, ended early when the client goes away. */
function waitOf(seconds: number | undefined, reply: FastifyReply): WaitRequest {
  if (!seconds) return { ms: 0 };
  const gone = new AbortController();
  reply.raw.once('close', () => gone.abort());
  return { ms: seconds * 1000, signal: gone.signal };
}

/** The exchange as a local user drives it; every request is signed by the user (docs/protocol.md). */
@ApiTags('exchanges')
@Controller('api/v1')
@UseGuards(ClientAuthGuard)
export class ExchangeController {
  constructor(
    private readonly exchanges: ExchangeService,
    private readonly bundles: BundleBrokerService,
  ) {}

  @Post('exchanges/bundle')
  @HttpCode(200)
  @ApiOperation({ summary: 'Claim a prekey bundle for any address (this node fetches it over federation if needed)' })
  @ApiSignedRequest()
  @ApiZodBody(BundleRequestSchema)
  @ApiKtKnown()
  @ApiZodResponse(200, PrekeyBundleAnswerSchema)
  @ApiErrors(400, 404, 429, 500, 502, 503)
  bundle(
    @CurrentAccount() account: AuthenticatedAccount,
    @Body(new ZodPipe(BundleRequestSchema)) { address }: BundleRequest,
    @Source() source: string,
    @KtKnown() known: number | undefined,
  ): Promise<WithTransparency<PrekeyBundle>> {
    return this.bundles.claimForUser(account, address, source, known);
  }

  @Post('exchanges')
  @HttpCode(202)
  @ApiOperation({ summary: 'Start an exchange: hand over a signed initiation for delivery to its recipient' })
  @ApiSignedRequest()
  @ApiZodBody(StartExchangeRequestSchema)
  @ApiZodResponse(202, ExchangeStatusResponseSchema)
  @ApiErrors(400, 403, 404, 409, 422, 429)
  start(
    @CurrentAccount() account: AuthenticatedAccount,
    @Body(new ZodPipe(StartExchangeRequestSchema)) request: StartExchangeRequest,
  ): Promise<ExchangeStatusResponse> {
    return this.exchanges.start(account, request);
  }

  @Get('exchanges/inbox')
  @ApiOperation({
    summary: 'Incoming exchanges waiting for an answer, oldest first',
    description: 'With `wait`, an empty inbox is answered when an exchange arrives or when the wait ends.',
  })
  @ApiQuery(WAIT_QUERY)
  @ApiSignedRequest()
  @ApiZodResponse(200, InboxResponseSchema)
  @ApiErrors(400)
  async inbox(
    @CurrentAccount() account: AuthenticatedAccount,
    @Query(new ZodPipe(InboxQuerySchema)) { wait }: z.output<typeof InboxQuerySchema>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<InboxResponse> {
    return { exchanges: await this.exchanges.inbox(account, waitOf(wait, reply)) };
  }

  @Get('exchanges/:id')
  @ApiOperation({ summary: 'One exchange of the signer, with its messages and status' })
  @ApiParam({ name: 'id', description: 'the exchange id (22 base64url characters)' })
  @ApiQuery(WAIT_QUERY)
  @ApiQuery({
    name: 'status',
    required: false,
    enum: EXCHANGE_STATUSES,
    description:
      'with `wait`: the status the client already knows; the answer comes when the status differs ' +
      '(without it: once the exchange is confirmed, failed or expired)',
  })
  @ApiSignedRequest()
  @ApiZodResponse(200, ExchangeViewSchema)
  @ApiErrors(400, 404)
  get(
    @CurrentAccount() account: AuthenticatedAccount,
    @Param('id') id: string,
    @Query(new ZodPipe(ExchangeQuerySchema)) { wait, status }: z.output<typeof ExchangeQuerySchema>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ExchangeView> {
    return this.exchanges.get(account, id, waitOf(wait, reply), status);
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
    @Body(new ZodPipe(ConfirmExchangeRequestSchema)) request: ConfirmExchangeRequest,
  ): Promise<ExchangeStatusResponse> {
    return this.exchanges.confirm(account, id, request);
  }
}
