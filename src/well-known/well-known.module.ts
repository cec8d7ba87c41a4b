import { Module } from '@nestjs/common';
import { NodeKeysModule } from '../node-keys/node-keys.module.js';
import { TransparencyModule } from '../transparency/transparency.module.js';
import { WellKnownController } from './well-known.controller.js';

@Module({ imports: [NodeKeysModule, TransparencyModule], controllers: [WellKnownController] })
export class WellKnownModule {}
