import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiZodBody, ApiZodResponse, ZodPipe } from '../common/zod.js';
import { Blake3Request, Blake3Response } from './hash.schemas.js';
import { HashService } from './hash.service.js';
import type { z } from 'zod';

@ApiTags('hash')
@Controller('api')
export class HashController {
  constructor(private readonly hash: HashService) {}

  @Post('blake3')
  @HttpCode(200)
  @ApiOperation({ summary: 'BLAKE3-256 of a UTF-8 string (at most 64 KiB)' })
  @ApiZodBody(Blake3Request)
  @ApiZodResponse(200, Blake3Response)
  @ApiErrors(400, 413, 415)
  blake3(@Body(new ZodPipe(Blake3Request)) body: z.output<typeof Blake3Request>): z.output<typeof Blake3Response> {
    return { hash: this.hash.blake3Hex(body.data) };
  }
}
