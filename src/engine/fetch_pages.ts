/**
 * Fetching many pages of a view at once, for whole-database work (the
 * hydration file, `lsvfs restore`): batches of range reads, each taking
 * the frames of consecutive pages that lie back to back in one LTX file,
 * run in parallel by the storage client, then decoded.
 *
 * @module
 */

import { decodeFrame } from "../ltx/mod.ts";
import type { RangeRequest } from "../storage/mod.ts";
import type { PageIndex } from "./page_index.ts";
import type { Replica } from "./replica.ts";

/** Bytes of frames one batch of range reads fetches, at most about. */
const BATCH_BYTES = 8 * 1024 * 1024;

/** A run of consecutive pages, decoded. */
export interface FetchedRun {
  /** Its first page number. */
  readonly first: number;
  /** How many pages. */
  readonly count: number;
  /** The pages, one after another (`count` pages). */
  readonly pages: Uint8Array;
  /** Bytes fetched for it. */
  readonly fetched: number;
}

/**
 * Fetches and decodes pages `pgnos` of a view, yielding runs of
 * consecutive pages in ascending order.
 *
 * @param replica The replica.
 * @param index The view's page index.
 * @param pgnos Page numbers, ascending, each in the index.
 * @param pageSize The page size.
 * @throws {LtxError} When a frame does not decode to its page.
 */
export function* fetchPages(
  replica: Replica,
  index: PageIndex,
  pgnos: readonly number[],
  pageSize: number,
): Generator<FetchedRun> {
  let at = 0;
  while (at < pgnos.length) {
    const requests: RangeRequest[] = [];
    const runs: { first: number; count: number }[] = [];
    let bytes = 0;
    while (at < pgnos.length && bytes < BATCH_BYTES) {
      const first = pgnos[at];
      const slot = index.slotOf(first);
      const offset = index.offsetOf(first);
      let end = offset + index.sizeOf(first);
      let count = 1;
      while (
        at + count < pgnos.length && pgnos[at + count] === first + count &&
        index.slotOf(first + count) === slot &&
        index.offsetOf(first + count) === end
      ) {
        end += index.sizeOf(first + count);
        count++;
      }
      requests.push({
        file: index.files[slot - 1],
        offset,
        length: end - offset,
      });
      runs.push({ first, count });
      bytes += end - offset;
      at += count;
    }
    const frames = replica.readRanges(requests);
    for (let r = 0; r < runs.length; r++) {
      const { first, count } = runs[r];
      const name = replica.describe(requests[r].file);
      const pages = new Uint8Array(count * pageSize);
      let offset = 0;
      for (let i = 0; i < count; i++) {
        const size = index.sizeOf(first + i);
        decodeFrame(
          frames[r].subarray(offset, offset + size),
          {
            file: name,
            pgno: first + i,
            pageSize,
            offset: requests[r].offset + offset,
          },
          pages.subarray(i * pageSize, (i + 1) * pageSize),
        );
        offset += size;
      }
      yield { first, count, pages, fetched: frames[r].length };
    }
  }
}
