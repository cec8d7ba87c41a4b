import { DynamicModule, Global, Module } from '@nestjs/common';
import { Clock } from './clock.js';

/** Provides the one Clock of a node (or of an operator command) to every module. */
@Global()
@Module({})
export class ClockModule {
  static forRoot(clock: Clock = new Clock()): DynamicModule {
    return { module: ClockModule, providers: [{ provide: Clock, useValue: clock }], exports: [Clock] };
  }
}
