import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ParsePipe } from '../common/parse.pipe.js';
import { Source } from '../common/request-source.js';
import { ApiErrors, ApiZodResponse } from '../common/zod.js';
import { parseAddress, type Address } from '../protocol/address.js';
import { ApiKtKnown, KtKnown } from '../transparency/kt-known.decorator.js';
import { ResolveResponseSchema, ResolveService, type ResolveResponse } from './resolve.service.js';

@ApiTags('discovery')
@Controller('api/v1/resolve')
export class ResolveController {
  constructor(private readonly resolver: ResolveService) {}

  @Get(':address')
  @ApiOperation({
    summary: 'Which node serves an address, and its public identity (fetched from that node when remote)',
    description:
      '404 no_node_for_domain: the domain has no KeyPears node; 503 discovery_unavailable: the lookup failed; ' +
      '502: the domain is misconfigured or points somewhere refused (see docs/discovery.md).',
  })
  @ApiParam({ name: 'address', type: String, example: 'bob@example.com' })
  @ApiKtKnown()
  @ApiZodResponse(200, ResolveResponseSchema)
  @ApiErrors(400, 404, 429, 500, 502, 503, 504)
  resolve(
    @Param('address', new ParsePipe(parseAddress)) address: Address,
    @Source() source: string,
    @KtKnown() known: number | undefined,
  ): Promise<ResolveResponse> {
    return this.resolver.resolve(address, source, known);
  }
}
