import { DynamicModule, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { BUILT_WEB_APP_DIR } from './web-app.files.js';
import { WebController } from './web.controller.js';
import { WEB_APP_DIR, WEB_APP_HEADERS, WebService } from './web.service.js';

/** The web app at /app (docs/web.md), served from `dir` (default: the build's dist/web/app). */
@Module({})
export class WebModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  static forRoot(dir: string = BUILT_WEB_APP_DIR): DynamicModule {
    return {
      module: WebModule,
      controllers: [WebController],
      providers: [{ provide: WEB_APP_DIR, useValue: dir }, WebService],
    };
  }

  /**
   * `/app/` leads to `/app`: Nest drops a route's trailing slash, and Fastify tells the two
   * apart, so the one route Nest cannot declare is declared on Fastify itself.
   */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.get('/app/', (_request, reply) => {
      void reply.code(308).headers(WEB_APP_HEADERS).header('Location', '/app').send();
    });
  }
}
