import type { Logger } from '@nestjs/common';

/**
 * A clean-up of expired rows run by the requests that pass by, at most once per interval (no
 * timer of its own, so an idle node does no work). A failure is logged, never thrown: rows
 * left behind only cost space, and the request that happened to run it must not fail for it.
 */
export class CleanupWhenDue {
  private lastRunMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly intervalMs: number,
    private readonly what: string,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  /** Runs `cleanup` if `intervalMs` have passed since the last run (`nowMs` from the Clock). */
  async runIfDue(nowMs: number, cleanup: () => Promise<unknown>): Promise<void> {
    if (nowMs - this.lastRunMs < this.intervalMs) return;
    this.lastRunMs = nowMs;
    try {
      await cleanup();
    } catch (e) {
      this.logger.warn(`${this.what} failed: ${(e as Error).message}`);
    }
  }
}
