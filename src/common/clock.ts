import { Injectable } from '@nestjs/common';

/**
 * The time, injectable so that rules depending on it can be tested at chosen instants. One
 * instance serves the whole node (ClockModule); tests give createNode() one they move. Code
 * that waits for time to pass (a long poll's deadline, the outbox worker's next round) waits
 * with `sleep`, so that a test's clock moves it too.
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

  /**
   * Resolves once `ms` of this clock's time have passed (on the next turn for 0 or less), or
   * as soon as `signal` aborts; never rejects.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
