/**
 * A byte-bounded LRU of whole LTX files in memory, for backends without
 * range reads (NATS's object store): a file is fetched once and its pages
 * are served from here.
 *
 * @module
 */

/**
 * A byte-bounded LRU of whole LTX files, by object name: the object store
 * has no range reads, so a file is fetched once and its pages are served
 * from here.
 *
 * @example Keep files up to a bound
 * ```ts
 * import { LtxMemoryCache } from "./_ltx_memory_cache.ts";
 * import assert from "node:assert/strict";
 * const cache = new LtxMemoryCache(10);
 * cache.set("a", new Uint8Array(6));
 * cache.set("b", new Uint8Array(4));
 * cache.get("a");
 * cache.set("c", new Uint8Array(3));
 * assert.deepEqual([cache.has("a"), cache.has("b"), cache.has("c")], [true, false, true]);
 * assert.equal(cache.bytes, 9);
 * ```
 */
export class LtxMemoryCache {
  /** The bound, in bytes. */
  readonly maxBytes: number;
  #files = new Map<string, Uint8Array>();
  #bytes = 0;

  /** @param maxBytes The bound on the bytes kept, in total. */
  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** The bytes kept now. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Whether a file is kept, without counting as a use.
   *
   * @param name The object name.
   * @returns True when kept.
   */
  has(name: string): boolean {
    return this.#files.has(name);
  }

  /**
   * A kept file, which becomes the most recently used.
   *
   * @param name The object name.
   * @returns Its bytes, or undefined.
   */
  get(name: string): Uint8Array | undefined {
    const bytes = this.#files.get(name);
    if (bytes !== undefined) {
      this.#files.delete(name);
      this.#files.set(name, bytes);
    }
    return bytes;
  }

  /**
   * Keeps a file, dropping the least recently used ones past the bound; a
   * file larger than the bound is not kept.
   *
   * @param name The object name.
   * @param bytes Its bytes.
   */
  set(name: string, bytes: Uint8Array): void {
    this.delete(name);
    if (bytes.length > this.maxBytes) return;
    this.#files.set(name, bytes);
    this.#bytes += bytes.length;
    for (const [oldest, old] of this.#files) {
      if (this.#bytes <= this.maxBytes) break;
      this.#files.delete(oldest);
      this.#bytes -= old.length;
    }
  }

  /**
   * Forgets a file.
   *
   * @param name The object name.
   */
  delete(name: string): void {
    const old = this.#files.get(name);
    if (old === undefined) return;
    this.#files.delete(name);
    this.#bytes -= old.length;
  }

  /** Forgets every file. */
  clear(): void {
    this.#files.clear();
    this.#bytes = 0;
  }
}
