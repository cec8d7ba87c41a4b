/** A Clock that stands still until the test moves it. */
import { Clock } from '../../src/common/clock.js';

export class MovableClock extends Clock {
  private ms: number;

  constructor(start: Date | number) {
    super();
    this.ms = typeof start === 'number' ? start : start.getTime();
  }

  override now(): Date {
    return new Date(this.ms);
  }

  set(to: Date | number): void {
    this.ms = typeof to === 'number' ? to : to.getTime();
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}
