/**
 * The health of an open database file, as `PRAGMA litestream_status`
 * reports it: one row, one JSON object with the fields of
 * {@linkcode ReplicaStatus} (their names in snake_case, as SQL users read
 * them).
 *
 * @module
 */

import type { Verification } from "./config.ts";
import type { CacheCounters } from "./database_file.ts";

/** What `PRAGMA litestream_status` says about a file. */
export interface ReplicaStatus {
  /** The replica URL, credentials removed. */
  readonly replica: string;
  /** The TXID of the view, 16 hex digits. */
  readonly txid: string;
  /** When that state was committed (RFC 3339). */
  readonly time: string;
  /** Seconds since the replica was last listed successfully, as `litestream_lag()`. */
  readonly lag: number;
  /**
   * `ok` when the last poll worked; `failing` when it did not, the view then
   * being the last good state; `off` in time travel, which does not poll.
   */
  readonly poll: "ok" | "failing" | "off";
  /** Why polls fail, while they do; null otherwise. */
  readonly pollError: string | null;
  /** Polls failed in a row. */
  readonly pollFailures: number;
  /** True when newer data may exist that the view cannot show (polls fail). */
  readonly stale: boolean;
  /** The time travel target (RFC 3339), or null when the view is live. */
  readonly timeTravel: string | null;
  /** LTX files the view is made of. */
  readonly files: number;
  /** Distinct levels among them. */
  readonly levels: number;
  /** The verification level. */
  readonly verification: Verification;
  /** Files of the view that checked out. */
  readonly verified: number;
  /** Files of the view that failed: their pages are not served. */
  readonly bad: number;
  /** Files of the view waiting for a check (none when verification is off). */
  readonly pending: number;
  /** What the first bad file failed with; null when none is bad. */
  readonly badError: string | null;
  /** Page lookups the shim's cache answered. */
  readonly cacheHits: number;
  /** Page lookups that missed the shim's cache. */
  readonly cacheMisses: number;
  /** Reads the shim served from local files (hydration file, frame map). */
  readonly localReads: number;
  /** Bytes read from the replica's files (pages, indexes, verification). */
  readonly bytesFetched: number;
}

/**
 * Reads the page-cache counters the shim sends as the value of
 * `PRAGMA litestream_status`: decimal numbers separated by spaces, in
 * `lsvfs_cache_stats()` order.
 *
 * @param text The counters; missing ones count as 0.
 * @returns The counters.
 *
 * @example Parse the shim's counters
 * ```ts
 * import { parseCacheCounters } from "./status.ts";
 * import assert from "node:assert/strict";
 * const counters = parseCacheCounters("10 2 0 1 8192 2 10485760 5 2");
 * assert.equal(counters.hits, 10);
 * assert.equal(counters.engineReads, 2);
 * ```
 */
export function parseCacheCounters(text: string): CacheCounters {
  const n = text.trim().split(/\s+/).map((word) => Number(word) || 0);
  return {
    hits: n[0] ?? 0,
    misses: n[1] ?? 0,
    evictions: n[2] ?? 0,
    drops: n[3] ?? 0,
    bytes: n[4] ?? 0,
    pages: n[5] ?? 0,
    maxBytes: n[6] ?? 0,
    localReads: n[7] ?? 0,
    engineReads: n[8] ?? 0,
  };
}

/**
 * The status as one line of JSON, with snake_case names.
 *
 * @param status The status.
 * @returns The JSON text `PRAGMA litestream_status` returns.
 */
export function formatStatus(status: ReplicaStatus): string {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(status)) {
    out[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value;
  }
  return JSON.stringify(out);
}

/**
 * Reads the JSON of {@linkcode formatStatus} back.
 *
 * @param text The JSON text.
 * @returns The status.
 */
export function parseStatus(text: string): ReplicaStatus {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(JSON.parse(text))) {
    out[key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())] = value;
  }
  return out as unknown as ReplicaStatus;
}
