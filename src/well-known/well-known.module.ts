import { Module } from '@nestjs/common';
import { NodeKeysModule } from '../node-keys/node-keys.module.js';
import { WellKnownController } from './well-known.controller.js';

@Module({ imports: [NodeKeysModule], controllers: [WellKnownController] })
export class WellKnownModule {}
