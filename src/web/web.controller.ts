import { Controller, Get, Headers, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { WEB_APP_HEADERS, WebService } from './web.service.js';

/**
 * GET /app: the web app (docs/web.md), static files built into the node, under a strict
 * Content-Security-Policy. Not part of the API, so not in the OpenAPI document.
 */
@ApiExcludeController()
@Controller('app')
export class WebController {
  constructor(private readonly web: WebService) {}

  /** The page; its links are absolute (/app/app.js), so /app and /app/ serve it alike. */
  @Get()
  index(@Headers('if-none-match') ifNoneMatch: string | undefined, @Res() reply: FastifyReply): void {
    this.send('index.html', ifNoneMatch, reply);
  }

  @Get(':file')
  asset(
    @Param('file') name: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() reply: FastifyReply,
  ): void {
    this.send(name, ifNoneMatch, reply);
  }

  private send(name: string, ifNoneMatch: string | undefined, reply: FastifyReply): void {
    const file = this.web.file(name);
    void reply.headers(WEB_APP_HEADERS).header('ETag', file.etag);
    if (ifNoneMatch === file.etag) {
      void reply.code(304).send();
      return;
    }
    void reply.header('Content-Type', file.contentType).send(file.body);
  }
}
