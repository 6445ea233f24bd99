/**
 * Values kept in memory within a byte budget and an entry cap, least recently used out first.
 * Sizes are what the caller says an entry costs (a document's length, a blob's bytes).
 */
export class SizedLru<V> {
  readonly #entries = new Map<string, { value: V; size: number }>();
  readonly #maxBytes: number;
  readonly #maxEntries: number;
  readonly #maxItemBytes: number;
  #bytes = 0;

  constructor(options: { maxBytes: number; maxEntries?: number; maxItemBytes?: number }) {
    this.#maxBytes = options.maxBytes;
    this.#maxEntries = options.maxEntries ?? Number.POSITIVE_INFINITY;
    this.#maxItemBytes = Math.min(options.maxItemBytes ?? options.maxBytes, options.maxBytes);
  }

  /** The value, marked as the most recently used. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    // Map keeps insertion order: re-inserting moves the entry to the young end.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** The value, without touching its recency. */
  peek(key: string): V | undefined {
    return this.#entries.get(key)?.value;
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** Keeps `value` unless it alone is over the item limit, then drops the oldest entries beyond the budget. */
  set(key: string, value: V, size: number): void {
    this.delete(key);
    if (size > this.#maxItemBytes) return;
    this.#entries.set(key, { value, size });
    this.#bytes += size;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes && this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.size;
    }
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.size;
  }
}
