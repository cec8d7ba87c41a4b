import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiSignedRequest } from '../auth/api-signed-request.js';
import { ApiErrors, ApiZodBody, ApiZodResponse, ZodPipe } from '../common/zod.js';
import { CurrentOrigin, FederationGuard, type FederationOrigin } from '../federation/federation.guard.js';
import { DESTINATION_HEADER, DOMAIN_HEADER, ORIGIN_HEADER } from '../federation/federation-headers.js';
import {
  FederationAckSchema,
  FederationBatchAnswerSchema,
  FederationBatchSchema,
  FederationClaimRequestSchema,
  FederationMessageSchema,
  type FederationAck,
  type FederationBatch,
  type FederationBatchAnswer,
  type FederationClaimRequest,
  type FederationMessage,
} from '../protocol/exchange-api.js';
import { PrekeyBundleAnswerSchema, type WithTransparency } from '../protocol/transparency/wire.js';
import type { PrekeyBundle } from '../protocol/wire.js';
import { ApiKtKnown, KtKnown } from '../transparency/kt-known.decorator.js';
import { BundleBrokerService } from './bundle-broker.service.js';
import { InboundExchangeService } from './inbound-exchange.service.js';

/**
 * Node-to-node endpoints (docs/protocol.md, "Federation"): every request is signed by the
 * sending node and admitted by FederationGuard; its body is parsed here, once, against the
 * federation schemas, and the services decide what the sending node may do.
 */
@ApiTags('federation')
@Controller('api/v1/federation')
@UseGuards(FederationGuard)
@ApiSignedRequest()
@ApiHeader({ name: ORIGIN_HEADER, required: true, description: 'base URL of the sending node (signed)' })
@ApiHeader({ name: DESTINATION_HEADER, required: true, description: 'base URL of this node (signed)' })
@ApiHeader({ name: DOMAIN_HEADER, required: true, description: 'the domain the sending node acts for (signed)' })
@ApiErrors(401, 403)
export class FederationController {
  constructor(
    private readonly bundles: BundleBrokerService,
    private readonly inbound: InboundExchangeService,
  ) {}

  @Post('claim')
  @HttpCode(200)
  @ApiOperation({ summary: 'Claim a prekey bundle of a local address on behalf of a user of the sending node' })
  @ApiZodBody(FederationClaimRequestSchema)
  @ApiKtKnown()
  @ApiZodResponse(200, PrekeyBundleAnswerSchema)
  @ApiErrors(400, 404, 429, 500)
  claim(
    @CurrentOrigin() origin: FederationOrigin,
    @Body(new ZodPipe(FederationClaimRequestSchema)) request: FederationClaimRequest,
    @KtKnown() known: number | undefined,
  ): Promise<WithTransparency<PrekeyBundle>> {
    return this.bundles.claimForNode(origin, request, known);
  }

  @Post('messages')
  @HttpCode(202)
  @ApiOperation({ summary: 'Deliver an exchange initiation or confirmation (idempotent)' })
  @ApiZodBody(FederationMessageSchema)
  @ApiZodResponse(202, FederationAckSchema)
  @ApiErrors(400, 404, 409, 422, 429)
  deliver(
    @CurrentOrigin() origin: FederationOrigin,
    @Body(new ZodPipe(FederationMessageSchema)) message: FederationMessage,
  ): Promise<FederationAck> {
    return this.inbound.receive(message, origin);
  }

  @Post('batch')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Deliver several initiations and confirmations in one request, with one result per message (idempotent)',
  })
  @ApiZodBody(FederationBatchSchema)
  @ApiZodResponse(200, FederationBatchAnswerSchema)
  @ApiErrors(400, 413)
  deliverBatch(
    @CurrentOrigin() origin: FederationOrigin,
    @Body(new ZodPipe(FederationBatchSchema)) batch: FederationBatch,
  ): Promise<FederationBatchAnswer> {
    return this.inbound.receiveBatch(batch.messages, origin);
  }
}
