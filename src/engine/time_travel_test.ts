import assert from "node:assert/strict";
import type { LtxFileInfo } from "../storage/mod.ts";
import { TimeTravelError } from "./errors.ts";
import { formatTime, parseTargetTime, planAtTime } from "./time_travel.ts";

/** A fixed clock: Friday 2024-05-10 12:34:56.789 UTC. */
const NOW = Date.UTC(2024, 4, 10, 12, 34, 56, 789);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

Deno.test("parseTargetTime() reads RFC 3339 with or without fractions, any offset", () => {
  const base = Date.UTC(2024, 0, 15, 10, 30, 0);
  const cases: [string, number][] = [
    ["2024-01-15T10:30:00Z", base],
    ["2024-01-15t10:30:00z", base],
    ["2024-01-15 10:30:00Z", base],
    ["2024-01-15T10:30:00.5Z", base + 500],
    ["2024-01-15T10:30:00.123456789Z", base + 123],
    ["2024-01-15T10:30:00.999999999Z", base + 999],
    ["2024-01-15T12:30:00+02:00", base],
    ["2024-01-15T05:00:00.25-05:30", base + 250],
    ["2024-01-15T10:30:00+00:00", base],
    // No offset: UTC, as every relative time is.
    ["2024-01-15T10:30:00", base],
    ["2024-01-15 10:30", base],
    ["  2024-01-15T10:30:00Z  ", base],
  ];
  for (const [text, want] of cases) {
    assert.equal(parseTargetTime(text, NOW), want, text);
  }
});

Deno.test("parseTargetTime() reads a plain date as midnight UTC", () => {
  assert.equal(parseTargetTime("2024-02-29", NOW), Date.UTC(2024, 1, 29));
});

Deno.test("parseTargetTime() evaluates relative times in UTC against the clock", () => {
  const cases: [string, number][] = [
    ["5 minutes ago", NOW - 5 * MINUTE],
    ["5 mins ago", NOW - 5 * MINUTE],
    ["30 seconds ago", NOW - 30_000],
    ["2 hours ago", NOW - 2 * HOUR],
    ["an hour ago", NOW - HOUR],
    ["two hours ago", NOW - 2 * HOUR],
    ["1 day ago", NOW - DAY],
    ["3 days ago", NOW - 3 * DAY],
    ["yesterday", NOW - DAY],
    ["Yesterday", NOW - DAY],
    ["1 week ago", NOW - 7 * DAY],
    ["last week", NOW - 7 * DAY],
    ["now", NOW],
  ];
  for (const [text, want] of cases) {
    assert.equal(
      parseTargetTime(text, NOW),
      want,
      `${text}: ${formatTime(parseTargetTime(text, NOW))}`,
    );
  }
  // The same words against another clock give another time.
  const later = NOW + 7 * HOUR;
  assert.equal(parseTargetTime("2 hours ago", later), later - 2 * HOUR);
  assert.equal(parseTargetTime("yesterday", later), later - DAY);
});

Deno.test("parseTargetTime() refuses what is not a time, listing the formats", () => {
  for (
    const text of [
      "",
      "   ",
      "garbage",
      "yesterday please",
      "about yesterday",
      "2024-13-01",
      "2024-02-30",
      "2024-01-15T25:00:00Z",
      "2024-01-15T10:30:00+24:00",
      "1705314600",
    ]
  ) {
    assert.throws(
      () => parseTargetTime(text, NOW),
      (error: unknown) => {
        assert.ok(error instanceof SyntaxError, `${text}: ${error}`);
        assert.equal(
          error.message.startsWith(`Invalid time "${text}": use RFC 3339`),
          true,
          error.message,
        );
        assert.match(error.message, /5 minutes ago/);
        assert.match(error.message, /LATEST/);
        return true;
      },
      text,
    );
  }
});

Deno.test("formatTime() writes Go's RFC3339Nano in UTC", () => {
  const base = Date.UTC(2026, 10, 25, 6, 0, 36);
  assert.equal(formatTime(base + 827), "2026-11-25T06:00:36.827Z");
  assert.equal(formatTime(base + 800), "2026-11-25T06:00:36.8Z");
  assert.equal(formatTime(base), "2026-11-25T06:00:36Z");
  // It reads back to the same instant.
  assert.equal(parseTargetTime(formatTime(base + 10), NOW), base + 10);
});

function file(level: number, min: bigint, max: bigint): LtxFileInfo {
  return { level, minTxid: min, maxTxid: max, size: 0, createdAt: 0 };
}

/**
 * A replica's files after compaction and retention: a snapshot at TXID 3,
 * a level-1 file for 4-6, and level-0 files 6-8 (1-5 deleted). The time of
 * TXID n is n hours; a compacted file carries its last TXID's time.
 */
const COMPACTED = [
  file(9, 1n, 3n),
  file(1, 4n, 6n),
  file(0, 6n, 6n),
  file(0, 7n, 7n),
  file(0, 8n, 8n),
];
const hours = (f: LtxFileInfo) => Number(f.maxTxid) * HOUR;
const txids = (plan: LtxFileInfo[]) => plan.map((f) => f.maxTxid);

Deno.test("planAtTime() takes the newest state at or before the time", () => {
  const plan = (h: number) =>
    txids(planAtTime(COMPACTED, hours, h * HOUR, "file:///r"));
  assert.deepEqual(plan(3), [3n]);
  assert.deepEqual(plan(3.5), [3n]);
  // 4 and 5 are gone, and the level-1 file holds 6's time: 3 is the
  // newest state the replica still has at or before 5.
  assert.deepEqual(plan(5.99), [3n]);
  // At exactly a file's time, that file counts.
  assert.deepEqual(plan(6), [3n, 6n]);
  assert.deepEqual(plan(7.5), [3n, 6n, 7n]);
  assert.deepEqual(plan(100), [3n, 6n, 7n, 8n]);
});

Deno.test("planAtTime() uses level-0 files over a compacted file written later", () => {
  const files = [
    file(0, 1n, 1n),
    file(0, 2n, 2n),
    file(0, 3n, 3n),
    file(1, 1n, 3n),
    file(9, 1n, 3n),
  ];
  assert.deepEqual(
    txids(planAtTime(files, hours, 2.5 * HOUR, "file:///r")),
    [1n, 2n],
  );
  assert.deepEqual(
    planAtTime(files, hours, 3 * HOUR, "file:///r").map((f) => f.level),
    [9],
  );
});

Deno.test("planAtTime() stops at a gap rather than skipping a transaction", () => {
  const files = [file(0, 1n, 1n), file(0, 2n, 2n), file(0, 4n, 4n)];
  assert.deepEqual(
    txids(planAtTime(files, hours, 10 * HOUR, "file:///r")),
    [1n, 2n],
  );
});

Deno.test("planAtTime() before the oldest state names the oldest time", () => {
  assert.throws(
    () => planAtTime(COMPACTED, hours, 2 * HOUR, "file:///r"),
    (error: unknown) => {
      assert.ok(error instanceof TimeTravelError);
      assert.equal(
        error.message,
        'No state of "file:///r" at or before 1970-01-01T02:00:00Z: the oldest available is 1970-01-01T03:00:00Z (TXID 0000000000000003)',
      );
      assert.equal(error.target, 2 * HOUR);
      assert.equal(error.oldest, 3 * HOUR);
      return true;
    },
  );
});
