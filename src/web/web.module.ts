import { DynamicModule, Module } from '@nestjs/common';
import { BUILT_WEB_APP_DIR } from './web-app.files.js';
import { WebController } from './web.controller.js';
import { WEB_APP_DIR, WebService } from './web.service.js';

/** The web app at /app (docs/web.md), served from `dir` (default: the build's dist/web/app). */
@Module({})
export class WebModule {
  static forRoot(dir: string = BUILT_WEB_APP_DIR): DynamicModule {
    return {
      module: WebModule,
      controllers: [WebController],
      providers: [{ provide: WEB_APP_DIR, useValue: dir }, WebService],
    };
  }
}
