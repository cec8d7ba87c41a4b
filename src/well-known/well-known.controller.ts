import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiZodResponse } from '../common/zod.js';
import { NodeKeysService } from '../node-keys/node-keys.service.js';
import { NodeDocumentSchema } from '../protocol/discovery.js';
import { LogAdvertisementSchema } from '../protocol/transparency/wire.js';
import { TransparencyService } from '../transparency/transparency.service.js';

/** Peers cache the document this long; a rotation's overlap must be longer (it is: days). */
export const NODE_DOCUMENT_MAX_AGE_SECONDS = 300;

@ApiTags('discovery')
@Controller('.well-known')
export class WellKnownController {
  constructor(
    private readonly nodeKeys: NodeKeysService,
    private readonly transparency: TransparencyService,
  ) {}

  @Get('keypears.json')
  @Header('Cache-Control', `public, max-age=${NODE_DOCUMENT_MAX_AGE_SECONDS}`)
  @ApiOperation({
    summary:
      'This node: protocol version, base URL, served domains, signing keys, its transparency log (docs/discovery.md)',
  })
  @ApiZodResponse(200, NodeDocumentSchema.extend({ transparency: LogAdvertisementSchema.optional() }))
  async document() {
    const document = await this.nodeKeys.nodeDocument();
    // The log is announced once it holds every account (docs/transparency.md §10.1).
    const transparency = this.transparency.advertised();
    return transparency ? { ...document, transparency } : document;
  }
}
