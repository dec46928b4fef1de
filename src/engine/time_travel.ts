/**
 * Time travel: reading the target time a user gives (`litestream_set_time`,
 * `PRAGMA litestream_time = ...`), formatting view times as Litestream does,
 * and planning the newest state of a replica at or before a time.
 *
 * A state's time is the timestamp in the LTX header of the file that ends
 * at it: the commit time Litestream wrote (a compacted file carries the
 * newest timestamp of the files it merged). Storage modification times are
 * not used: copying a replica changes them.
 *
 * @module
 */

import * as chrono from "chrono-node";
import { formatTxid, SNAPSHOT_LEVEL } from "../ltx/mod.ts";
import type { LtxFileInfo } from "../storage/mod.ts";
import { TimeTravelError } from "./errors.ts";
import { restorePlan } from "./restore_plan.ts";

/** What `litestream_set_time` and `PRAGMA litestream_time` accept, for messages. */
export const ACCEPTED_TIME_FORMATS =
  'RFC 3339 ("2024-01-15T10:30:00Z", "2024-01-15T10:30:00.123456789+02:00"), ' +
  'a date ("2024-01-15", midnight UTC), a relative time ("5 minutes ago", ' +
  '"2 hours ago", "yesterday", "1 day ago", "last week"), or LATEST';

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Date.UTC of the fields, or NaN when a field is out of range (Feb 30). */
function utc(
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
): number {
  if (hour > 23 || minute > 59 || second > 59) return NaN;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(ms);
  if (
    back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 ||
    back.getUTCDate() !== day
  ) return NaN;
  return ms;
}

/** The time; NaN when shaped like RFC 3339 but out of range; undefined when not shaped like it. */
function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = m;
  let ms = utc(+y, +mo, +d, +h, +mi, +s);
  if (Number.isNaN(ms) || +oh > 23 || +om > 59) return NaN;
  // Milliseconds: the precision of LTX timestamps; finer digits cannot
  // change which states are at or before the time.
  if (frac !== undefined) ms += Math.floor(Number(`0.${frac}`) * 1000);
  if (z === undefined) {
    ms -= (sign === "-" ? -1 : 1) * (+oh * 60 + +om) * 60_000;
  }
  return ms;
}

/**
 * Reads a target time as Litestream's VFS takes it: RFC 3339 (with or
 * without fractional seconds, any offset), else a relative expression
 * evaluated in UTC against `now` (npm `chrono-node`): `5 minutes ago`,
 * `2 hours ago`, `yesterday`, `1 day ago`, `last week`, `now`... A plain
 * date means midnight UTC. The whole text must be the time: `yesterday
 * please` is refused, not read as `yesterday`.
 *
 * @param text The time.
 * @param now The current time in ms since the epoch.
 * @returns The time in ms since the epoch (sub-millisecond digits dropped).
 * @throws {SyntaxError} When the text is not a time, listing what is.
 *
 * @example Absolute and relative times
 * ```ts
 * import { parseTargetTime } from "./time_travel.ts";
 * import assert from "node:assert/strict";
 *
 * const now = Date.UTC(2024, 4, 10, 12, 0, 0);
 * assert.equal(
 *   parseTargetTime("2024-05-10T14:00:00.5+02:00", now),
 *   Date.UTC(2024, 4, 10, 12, 0, 0, 500),
 * );
 * assert.equal(parseTargetTime("5 minutes ago", now), now - 5 * 60_000);
 * assert.throws(() => parseTargetTime("whenever", now), SyntaxError);
 * ```
 */
export function parseTargetTime(text: string, now: number): number {
  const trimmed = text.trim();
  const absolute = parseRfc3339(trimmed);
  const date = DATE_ONLY.exec(trimmed);
  if (absolute !== undefined) {
    if (!Number.isNaN(absolute)) return absolute;
  } else if (date !== null) {
    const ms = utc(+date[1], +date[2], +date[3]);
    if (!Number.isNaN(ms)) return ms;
  } else if (trimmed !== "") {
    const results = chrono.parse(trimmed, {
      instant: new Date(now),
      timezone: "UTC",
    });
    if (
      results.length === 1 && results[0].index === 0 &&
      results[0].text.length === trimmed.length
    ) {
      const ms = results[0].start.date().getTime();
      if (Number.isFinite(ms)) return ms;
    }
  }
  throw new SyntaxError(`Invalid time "${text}": use ${ACCEPTED_TIME_FORMATS}`);
}

/**
 * Formats a time as Go's `time.RFC3339Nano` does in UTC, as Litestream's
 * `litestream_time()` returns it: trailing zeros of the fraction dropped,
 * and the fraction too when it is zero.
 *
 * @param ms Milliseconds since the epoch.
 * @returns For example `2024-01-15T10:30:00.12Z` or `2024-01-15T10:30:00Z`.
 *
 * @example Format times
 * ```ts
 * import { formatTime } from "./time_travel.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatTime(Date.UTC(2024, 0, 15, 10, 30, 0, 120)), "2024-01-15T10:30:00.12Z");
 * assert.equal(formatTime(Date.UTC(2024, 0, 15, 10, 30)), "2024-01-15T10:30:00Z");
 * ```
 */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0*Z$/, "Z");
}

/**
 * Plans the newest state at or before `target`: the files whose header
 * timestamp is at or before it (snapshots, compacted levels, level 0), in a
 * restore plan that stops where they stop being contiguous. Files written
 * after the target are left out even when they cover older transactions
 * too (a compacted file carries its newest transaction's time).
 *
 * Litestream takes files strictly before the target; here a file stamped
 * exactly at the target counts, so setting the time `litestream_time()`
 * reported returns the same view.
 *
 * @param files Every LTX file of the replica.
 * @param timestampOf Each file's header timestamp, in ms.
 * @param target The time, in ms.
 * @param url The replica URL (credentials removed), for messages.
 * @returns The plan, oldest file first; never empty.
 * @throws {TimeTravelError} When no state is that old, naming the oldest
 * time available.
 *
 * @example Plan at a time between two commits
 * ```ts
 * import { planAtTime } from "./time_travel.ts";
 * import assert from "node:assert/strict";
 * const file = (min: bigint, max: bigint) =>
 *   ({ level: 0, minTxid: min, maxTxid: max, size: 0, createdAt: 0 });
 * const files = [file(1n, 1n), file(2n, 2n), file(3n, 3n)];
 * const plan = planAtTime(files, (f) => Number(f.maxTxid) * 1000, 2500, "file:///r");
 * assert.deepEqual(plan.map((f) => f.maxTxid), [1n, 2n]);
 * ```
 */
export function planAtTime(
  files: readonly LtxFileInfo[],
  timestampOf: (file: LtxFileInfo) => number,
  target: number,
  url: string,
): LtxFileInfo[] {
  const eligible = files.filter((f) => timestampOf(f) <= target);
  const plan = eligible.length === 0
    ? []
    : restorePlan(eligible, { url, upToGap: true });
  if (plan.length > 0) return plan;

  // The oldest state is one a single file gives: a snapshot, or a file
  // that starts at TXID 1.
  let oldest: LtxFileInfo | undefined;
  for (const file of files) {
    if (file.level !== SNAPSHOT_LEVEL && file.minTxid > 1n) continue;
    if (oldest === undefined || timestampOf(file) < timestampOf(oldest)) {
      oldest = file;
    }
  }
  const oldestTime = oldest === undefined ? undefined : timestampOf(oldest);
  throw new TimeTravelError(
    `No state of "${url}" at or before ${formatTime(target)}: ${
      oldest === undefined
        ? "the replica has no file to start from"
        : `the oldest available is ${formatTime(oldestTime!)} (TXID ${
          formatTxid(oldest.maxTxid)
        })`
    }`,
    { target, oldest: oldestTime },
  );
}
