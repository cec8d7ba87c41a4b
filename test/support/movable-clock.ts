/**
 * A Clock that stands still until the test moves it. What sleeps on it (long polls, the
 * outbox worker) wakes when the test moves it past the sleeper's end, not before.
 */
import { Clock } from '../../src/common/clock.js';

interface Sleeper {
  wakeAt: number;
  wake(): void;
}

export class MovableClock extends Clock {
  private ms: number;
  private readonly sleepers = new Set<Sleeper>();

  constructor(start: Date | number) {
    super();
    this.ms = typeof start === 'number' ? start : start.getTime();
  }

  override now(): Date {
    return new Date(this.ms);
  }

  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    // Nothing to wait for: the next turn, as the system clock's timer would.
    if (ms <= 0 || signal?.aborted) return new Promise((resolve) => setImmediate(resolve));
    return new Promise((resolve) => {
      const sleeper: Sleeper = {
        wakeAt: this.ms + ms,
        wake: () => {
          this.sleepers.delete(sleeper);
          signal?.removeEventListener('abort', sleeper.wake);
          resolve();
        },
      };
      this.sleepers.add(sleeper);
      signal?.addEventListener('abort', sleeper.wake, { once: true });
    });
  }

  /** How many sleeps are waiting for the clock to move. */
  get sleeping(): number {
    return this.sleepers.size;
  }

  set(to: Date | number): void {
    this.ms = typeof to === 'number' ? to : to.getTime();
    for (const sleeper of [...this.sleepers]) if (sleeper.wakeAt <= this.ms) sleeper.wake();
  }

  advance(ms: number): void {
    this.set(this.ms + ms);
  }
}
