import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { parseKeyMaterial } from '../common/key-material.js';
import { ParsePipe } from '../common/parse.pipe.js';
import { ApiErrors, ApiZodBody, ApiZodResponse } from '../common/zod.js';
import { RegistrationResponseSchema, type RegistrationResponse } from '../protocol/client-api.js';
import { RegistrationRequestSchema, type RegistrationRequest } from '../protocol/wire.js';
import { RegistrationLimitGuard } from './registration-limit.guard.js';
import { RegistrationService } from './registration.service.js';

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
  @ApiZodResponse(201, RegistrationResponseSchema)
  @ApiErrors(400, 403, 409, 413, 415, 422, 429)
  register(
    @Body(new ParsePipe((body) => parseKeyMaterial(RegistrationRequestSchema, body))) request: RegistrationRequest,
  ): Promise<RegistrationResponse> {
    return this.registration.register(request);
  }
}
