/**
 * Read-ahead: how many pages a cache miss should read, from the pattern of
 * the misses before it.
 *
 * It follows a few streams at once (a join scans a table and an index; a
 * scan also visits a few pages out of order), each the last run read for it
 * and a direction. A miss that continues a stream, at or just past its end
 * going forward or just before its start going backward (SQLite's
 * integrity_check and `ORDER BY ... DESC` walk pages downwards), reads twice
 * the pages of the stream's last run; a miss that continues no stream reads
 * one page and starts a stream of its own, replacing the one used least
 * recently.
 *
 * @module
 */

import type { PageRun } from "./database_file.ts";

/**
 * A miss at most this many pages past a stream's end (or before its start)
 * still continues it: a table scan skips the interior pages it has read
 * already.
 */
export const SEQUENTIAL_SLACK = 8;

/** Streams followed at once. */
export const MAX_STREAMS = 4;

/** What a miss should read: {@linkcode ReadAhead.plan}'s answer. */
export interface RunPlan {
  /** Pages to read, the one asked for included; at least 1. */
  readonly pages: number;
  /** True: the run ends at the page asked for; false: it starts there. */
  readonly backward: boolean;
}

type Direction = "forward" | "backward" | "unknown";

interface Stream {
  /** The last run read for the stream: pages first to end - 1. */
  first: number;
  end: number;
  /** Pages the last run asked for (it may have read fewer). */
  pages: number;
  direction: Direction;
  /** When it was last continued, on a counter of misses. */
  used: number;
}

/** The read-ahead state of one database file. */
export class ReadAhead {
  // A stream at page 1 that has no direction yet, so a scan from the start
  // of the database reads ahead from its first miss.
  #streams: Stream[] = [
    { first: 1, end: 1, pages: 1, direction: "unknown", used: 0 },
  ];
  #clock = 0;
  /** The stream the last plan continues, and what it planned for it. */
  #planned: { stream: Stream; pages: number; direction: Direction } | undefined;

  /**
   * Decides what a miss reads. Call {@linkcode ReadAhead.record} with what
   * was read before the next plan.
   *
   * @param pgno The page missed.
   * @param room The most pages the caller can take (at least 1).
   * @returns How many pages to read, and which way from `pgno`.
   *
   * @example A forward scan doubles its runs
   * ```ts
   * import { ReadAhead } from "./read_ahead.ts";
   * import assert from "node:assert/strict";
   *
   * const readAhead = new ReadAhead();
   * const sizes = [];
   * for (let pgno = 1; pgno < 60;) {
   *   const { pages } = readAhead.plan(pgno, 16);
   *   readAhead.record({ first: pgno, count: pages });
   *   sizes.push(pages);
   *   pgno += pages;
   * }
   * assert.deepEqual(sizes, [2, 4, 8, 16, 16, 16]);
   * ```
   */
  plan(pgno: number, room: number): RunPlan {
    this.#clock++;
    this.#planned = undefined;
    let stream: Stream | undefined;
    let direction: Direction | undefined;
    for (const s of this.#streams) {
      direction = continues(s, pgno);
      if (direction !== undefined) {
        stream = s;
        break;
      }
    }
    if (stream === undefined || direction === undefined) {
      return { pages: 1, backward: false };
    }
    const pages = Math.max(
      1,
      Math.min(stream.direction === "unknown" ? 2 : stream.pages * 2, room),
    );
    this.#planned = { stream, pages, direction };
    return { pages, backward: direction === "backward" };
  }

  /**
   * Notes what the last planned miss read.
   *
   * @param run The pages read.
   */
  record(run: PageRun): void {
    const end = run.first + run.count;
    const planned = this.#planned;
    this.#planned = undefined;
    if (planned !== undefined) {
      const { stream } = planned;
      stream.first = run.first;
      stream.end = end;
      stream.pages = planned.pages;
      stream.direction = planned.direction;
      stream.used = this.#clock;
      return;
    }
    const fresh: Stream = {
      first: run.first,
      end,
      pages: 1,
      direction: "unknown",
      used: this.#clock,
    };
    if (this.#streams.length < MAX_STREAMS) {
      this.#streams.push(fresh);
    } else {
      let oldest = 0;
      this.#streams.forEach((s, i) => {
        if (s.used < this.#streams[oldest].used) oldest = i;
      });
      this.#streams[oldest] = fresh;
    }
  }
}

/** The way `pgno` continues `stream`, if it does. */
function continues(stream: Stream, pgno: number): Direction | undefined {
  if (
    stream.direction !== "backward" && pgno >= stream.end &&
    pgno <= stream.end + SEQUENTIAL_SLACK
  ) return "forward";
  if (
    stream.direction !== "forward" && pgno < stream.first &&
    pgno >= stream.first - 1 - SEQUENTIAL_SLACK
  ) return "backward";
  return undefined;
}
