/**
 * A Clock that stands still until the test moves it: give it to startTestNode() (or
 * createNode(), runAdmin(), a service under test) and time passes only when the test says
 * so, so that nothing depends on when the test runs (a fixed window that ends between two
 * requests, a slow machine) and nothing has to sleep for time to pass.
 */
import { Clock } from '../../src/common/clock.js';

export class ManualClock extends Clock {
  private ms: number;

  /** Starts at `start` (default: the current time, so signatures made elsewhere still fit). */
  constructor(start: Date | number = Date.now()) {
    super();
    this.ms = typeof start === 'number' ? start : start.getTime();
  }

  override now(): Date {
    return new Date(this.ms);
  }

  /** Moves the clock forward (or, with a negative value, back). */
  advance(ms: number): void {
    this.ms += ms;
  }

  set(to: Date | number): void {
    this.ms = typeof to === 'number' ? to : to.getTime();
  }
}

/**
 * A ManualClock `offsetMs` into the current hour (by default 10 s): every fixed rate-limit
 * window of a minute or an hour then starts at a known instant, whatever the time of the run.
 */
export function clockInThisHour(offsetMs = 10_000): ManualClock {
  return new ManualClock(Math.floor(Date.now() / 3_600_000) * 3_600_000 + offsetMs);
}
