/**
 * A bounded in-memory map whose entries expire: per process, so only for values that every
 * replica may hold a little longer than the database says (see where it is used). When full,
 * the oldest entry is dropped first.
 */
export class ExpiringCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAtMs: number }>();

  /**
   * @param maxEntries most entries kept.
   * @param nowMs the current time in milliseconds (injectable for tests).
   */
  constructor(
    private readonly maxEntries: number,
    private readonly nowMs: () => number,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.nowMs() >= entry.expiresAtMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Keeps `value` for `ttlMs` (replacing any entry for `key`); a TTL of 0 or less only removes. */
  set(key: string, value: V, ttlMs: number): void {
    this.entries.delete(key);
    if (ttlMs <= 0) return;
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, { value, expiresAtMs: this.nowMs() + ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
