/**
 * Coalescing of range reads: a batch's reads of one file that overlap or
 * touch become one read, so a batch costs one request per run of bytes
 * rather than one per range.
 *
 * @module
 */

/** One range read of a batch, as {@linkcode coalesce} takes it. */
export interface Range {
  /** Which file: ranges coalesce only with ranges of the same key. */
  readonly key: string;
  /** First byte. */
  readonly offset: number;
  /** Number of bytes. */
  readonly length: number;
}

/** A read that serves one or more ranges of a batch. */
export interface CoalescedRead {
  /** The first range it serves (for the file to read). */
  readonly first: number;
  /** First byte. */
  readonly offset: number;
  /** Number of bytes. */
  length: number;
  /** The ranges it serves: their index in the batch and offset in this read. */
  readonly parts: { index: number; at: number }[];
}

/**
 * Merges the ranges of a batch that overlap or touch, per file.
 *
 * @param ranges The batch.
 * @returns The reads to make; together their parts name every range once.
 *
 * @example Two touching ranges of one file, one of another
 * ```ts
 * import { coalesce } from "./_coalesce.ts";
 * import assert from "node:assert/strict";
 *
 * const reads = coalesce([
 *   { key: "a", offset: 100, length: 50 },
 *   { key: "b", offset: 150, length: 10 },
 *   { key: "a", offset: 150, length: 20 },
 * ]);
 * assert.deepEqual(reads.map((r) => [r.first, r.offset, r.length]), [
 *   [0, 100, 70],
 *   [1, 150, 10],
 * ]);
 * ```
 */
export function coalesce(ranges: readonly Range[]): CoalescedRead[] {
  const order = ranges.map((_, i) => i).sort((a, b) =>
    ranges[a].key < ranges[b].key
      ? -1
      : ranges[a].key > ranges[b].key
      ? 1
      : ranges[a].offset - ranges[b].offset
  );
  const reads: CoalescedRead[] = [];
  let current: CoalescedRead | undefined;
  for (const index of order) {
    const { key, offset, length } = ranges[index];
    if (
      current !== undefined && ranges[current.first].key === key &&
      offset <= current.offset + current.length
    ) {
      current.length = Math.max(
        current.length,
        offset + length - current.offset,
      );
      current.parts.push({ index, at: offset - current.offset });
      continue;
    }
    current = { first: index, offset, length, parts: [{ index, at: 0 }] };
    reads.push(current);
  }
  return reads.sort((a, b) => a.first - b.first);
}
