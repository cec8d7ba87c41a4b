import { Controller, Get, Header, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiSignedRequest } from '../auth/api-signed-request.js';
import { AdmissionLimits } from '../auth/admission-limits.js';
import { ClientAuthGuard } from '../auth/client-auth.guard.js';
import { ParsePipe } from '../common/parse.pipe.js';
import { ApiErrors, ApiZodResponse } from '../common/zod.js';
import { parseAddress, type Address } from '../protocol/address.js';
import {
  PrekeyBundleAnswerSchema,
  PublicIdentityAnswerSchema,
  type WithTransparency,
} from '../protocol/transparency/wire.js';
import type { PrekeyBundle, PublicIdentity } from '../protocol/wire.js';
import { ApiKtKnown, KtKnown } from '../transparency/kt-known.decorator.js';
import { clientClaimLimits, DirectoryService } from './directory.service.js';

/** The `:address` parameter, in any spelling an address has (answers use the canonical one). */
const AddressParam = new ParsePipe(parseAddress);

@ApiTags('identities')
@Controller('api/v1/identities')
export class IdentitiesController {
  constructor(private readonly directory: DirectoryService) {}

  @Get(':address')
  // Resolving nodes may keep the verified answer this long (docs/discovery.md).
  @Header('Cache-Control', 'public, max-age=30')
  @ApiOperation({ summary: 'Public identity of a local address (identity keys, signed prekey, last-resort key)' })
  @ApiParam({ name: 'address', type: String, example: 'alice@example.com' })
  @ApiKtKnown()
  @ApiZodResponse(200, PublicIdentityAnswerSchema)
  @ApiErrors(400, 404, 500)
  lookup(
    @Param('address', AddressParam) address: Address,
    @KtKnown() known: number | undefined,
  ): Promise<WithTransparency<PublicIdentity>> {
    return this.directory.lookupPublicIdentity(address, known);
  }

  @Post(':address/claim')
  @HttpCode(200)
  @UseGuards(ClientAuthGuard)
  @AdmissionLimits(clientClaimLimits)
  @ApiOperation({
    summary: 'Claim a prekey bundle: consumes one one-time prekey of each kind, or answers with the last-resort keys',
  })
  @ApiParam({ name: 'address', type: String, example: 'bob@example.com' })
  @ApiSignedRequest()
  @ApiKtKnown()
  @ApiZodResponse(200, PrekeyBundleAnswerSchema)
  @ApiErrors(400, 404, 429, 500)
  claim(
    @Param('address', AddressParam) address: Address,
    @KtKnown() known: number | undefined,
  ): Promise<WithTransparency<PrekeyBundle>> {
    return this.directory.claimCountedBundle(address, known);
  }
}
