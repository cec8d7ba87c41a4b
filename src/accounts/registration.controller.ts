import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { parseKeyMaterial } from '../common/key-material.js';
import { ParsePipe } from '../common/parse.pipe.js';
import { ApiErrors, ApiZodBody, ApiZodResponse } from '../common/zod.js';
import type { RegistrationResponse } from '../protocol/client-api.js';
import { RegistrationAnswerSchema, type WithTransparency } from '../protocol/transparency/wire.js';
import { RegistrationRequestSchema, type RegistrationRequest } from '../protocol/wire.js';
import { RegistrationLimitGuard } from './registration-limit.guard.js';
import { RegistrationService } from './registration.service.js';
import { ApiKtKnown, KtKnown } from '../transparency/kt-known.decorator.js';

@ApiTags('accounts')
@Controller('api/v1/accounts')
export class RegistrationController {
  constructor(private readonly registration: RegistrationService) {}

  @Post()
  @HttpCode(201)
  @UseGuards(RegistrationLimitGuard)
  @ApiOperation({
    summary: 'Register an address served by this node, proving possession of its Ed25519 identity key',
  })
  @ApiZodBody(RegistrationRequestSchema)
  @ApiKtKnown()
  @ApiZodResponse(201, RegistrationAnswerSchema)
  @ApiErrors(400, 403, 409, 413, 415, 422, 429)
  register(
    @Body(new ParsePipe((body) => parseKeyMaterial(RegistrationRequestSchema, body))) request: RegistrationRequest,
    @KtKnown() known: number | undefined,
  ): Promise<WithTransparency<RegistrationResponse>> {
    return this.registration.register(request, known);
  }
}
