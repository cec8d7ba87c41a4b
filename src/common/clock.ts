import { Injectable } from '@nestjs/common';

/** The time, injectable so that rules depending on it can be tested at chosen instants. */
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
