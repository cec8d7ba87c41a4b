import { Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiSignedRequest } from '../auth/api-signed-request.js';
import { CurrentAccount, type AuthenticatedAccount } from '../auth/authenticated-account.js';
import { ClientAuthGuard } from '../auth/client-auth.guard.js';
import { parseKeyMaterial } from '../common/key-material.js';
import { ParsePipe } from '../common/parse.pipe.js';
import { ApiErrors, ApiZodBody, ApiZodResponse } from '../common/zod.js';
import { AccountStatusSchema, type AccountStatus } from '../protocol/client-api.js';
import { KeyPearsError } from '../protocol/errors.js';
import { MAX_PREKEYS_PER_UPLOAD, PrekeyUploadSchema, type PrekeyUpload } from '../protocol/wire.js';
import { DirectoryService } from './directory.service.js';

/**
 * A prekey upload: a batch over the limit is 413 `payload_too_large` (before the schema, which
 * would call it malformed), keys of the wrong shape 422 (`parseKeyMaterial`).
 */
function parsePrekeyUpload(body: unknown): PrekeyUpload {
  for (const field of ['oneTimePrekeys', 'pqOneTimePrekeys'] as const) {
    const batch = (body as Record<string, unknown> | null)?.[field];
    if (Array.isArray(batch) && batch.length > MAX_PREKEYS_PER_UPLOAD) {
      throw new KeyPearsError(
        'payload_too_large',
        `${field}: at most ${MAX_PREKEYS_PER_UPLOAD} keys per upload, got ${batch.length}`,
      );
    }
  }
  return parseKeyMaterial(PrekeyUploadSchema, body);
}

@ApiTags('accounts')
@Controller('api/v1/accounts/me')
@UseGuards(ClientAuthGuard)
export class AccountKeysController {
  constructor(private readonly directory: DirectoryService) {}

  @Get()
  @ApiOperation({ summary: 'The signer’s account: remaining one-time prekeys and current long-lived keys' })
  @ApiSignedRequest()
  @ApiZodResponse(200, AccountStatusSchema)
  status(@CurrentAccount() account: AuthenticatedAccount): Promise<AccountStatus> {
    return this.directory.status(account);
  }

  @Post('prekeys')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Publish prekeys: signed prekey, one-time X25519 and ML-KEM-768 batches (≤ 100 each), last-resort key',
  })
  @ApiSignedRequest()
  @ApiZodBody(PrekeyUploadSchema)
  @ApiZodResponse(200, AccountStatusSchema)
  @ApiErrors(400, 409, 413, 415, 422)
  publish(
    @CurrentAccount() account: AuthenticatedAccount,
    @Body(new ParsePipe(parsePrekeyUpload)) upload: PrekeyUpload,
  ): Promise<AccountStatus> {
    return this.directory.publish(account, upload);
  }
}
