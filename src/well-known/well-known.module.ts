import { Module } from '@nestjs/common';
import { NodeKeysModule } from '../node-keys/node-keys.module.js';
import { TransparencyModule } from '../transparency/transparency.module.js';
import { PublicUrlCheck } from './public-url.check.js';
import { WellKnownController } from './well-known.controller.js';

@Module({
  imports: [NodeKeysModule, TransparencyModule],
  controllers: [WellKnownController],
  providers: [PublicUrlCheck],
})
export class WellKnownModule {}
