import { Injectable } from '@nestjs/common';

/**
 * The time, injectable so that rules depending on it can be tested at chosen instants. One
 * instance serves the whole node (ClockModule); tests give createNode() one they move.
 */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }

  /** Unix time in whole seconds. */
  unixSeconds(): number {
    return Math.floor(this.now().getTime() / 1000);
  }
}
