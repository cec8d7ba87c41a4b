import { Controller, Get, Header, Param, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { ApiErrors, ApiZodResponse, ZodPipe } from '../common/zod.js';
import {
  ConsistencyProofResponseSchema,
  ConsistencyQuerySchema,
  type ConsistencyProofResponse,
  InclusionProofResponseSchema,
  InclusionQuerySchema,
  type InclusionProofResponse,
} from '../protocol/transparency/wire.js';
import { TransparencyService } from './transparency.service.js';

/** Proofs and tiles never change once they exist. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const GENERATION = { name: 'generation', type: String, example: '1', description: 'the log generation' };
const decimalQuery = (name: string, description: string) => ({
  name,
  required: true,
  type: String,
  description: `${description} (decimal)`,
});

/** The log's routes under its URL `<node>/kt/<generation>` (docs/transparency.md §11.1). */
@ApiTags('transparency')
@Controller('kt/:generation')
export class TransparencyController {
  constructor(private readonly transparency: TransparencyService) {}

  @Get('checkpoint')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @Header('Cache-Control', 'public, max-age=5')
  @ApiOperation({ summary: "The log's latest checkpoint: a C2SP signed note (text/plain)" })
  @ApiParam(GENERATION)
  @ApiProduces('text/plain')
  @ApiResponse({ status: 200, description: 'the checkpoint note', schema: { type: 'string' } })
  @ApiErrors(404)
  checkpoint(@Param('generation') generation: string): Promise<string> {
    return this.transparency.checkpoint(generation);
  }

  @Get('proof/inclusion')
  @Header('Cache-Control', IMMUTABLE)
  @ApiOperation({ summary: 'The inclusion proof of entry `index` in the tree of `size` entries (RFC 9162 PATH)' })
  @ApiParam(GENERATION)
  @ApiQuery(decimalQuery('index', 'the entry'))
  @ApiQuery(decimalQuery('size', 'the tree size, at most the current one'))
  @ApiZodResponse(200, InclusionProofResponseSchema)
  @ApiErrors(400, 404)
  async inclusion(
    @Param('generation') generation: string,
    @Query(new ZodPipe(InclusionQuerySchema)) { index, size }: z.output<typeof InclusionQuerySchema>,
  ): Promise<InclusionProofResponse> {
    return { index, size, proof: await this.transparency.inclusionProof(generation, index, size) };
  }

  @Get('proof/consistency')
  @Header('Cache-Control', IMMUTABLE)
  @ApiOperation({
    summary: 'The consistency proof from the tree of `from` entries to the tree of `to` (RFC 9162 PROOF)',
  })
  @ApiParam(GENERATION)
  @ApiQuery(decimalQuery('from', 'the older tree size'))
  @ApiQuery(decimalQuery('to', 'the newer tree size, at most the current one'))
  @ApiZodResponse(200, ConsistencyProofResponseSchema)
  @ApiErrors(400, 404)
  async consistency(
    @Param('generation') generation: string,
    @Query(new ZodPipe(ConsistencyQuerySchema)) { from, to }: z.output<typeof ConsistencyQuerySchema>,
  ): Promise<ConsistencyProofResponse> {
    return { from, to, proof: await this.transparency.consistencyProof(generation, from, to) };
  }

  @Get('tile/entries/*')
  @ApiOperation({
    summary: 'A C2SP tlog-tiles entry bundle: tile/entries/<N> (256 entries) or tile/entries/<N>.p/<W> (W entries)',
    description: 'Each entry as a big-endian 16-bit length and its bytes; used by owners scanning the log.',
  })
  @ApiParam(GENERATION)
  @ApiProduces('application/octet-stream')
  @ApiResponse({ status: 200, description: 'the entry bundle', schema: { type: 'string', format: 'binary' } })
  @ApiErrors(404)
  async entries(
    @Param('generation') generation: string,
    @Param('*') path: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Buffer> {
    const bundle = await this.transparency.entryTile(generation, path);
    reply.header('Content-Type', 'application/octet-stream').header('Cache-Control', IMMUTABLE);
    return Buffer.from(bundle.buffer, bundle.byteOffset, bundle.byteLength);
  }
}
