import assert from "node:assert/strict";
import type { LtxFileInfo } from "../storage/mod.ts";
import { ReplicaNotFoundError, TxidGapError } from "./errors.ts";
import { restorePlan } from "./restore_plan.ts";

const URL = "file:///replica";

function file(level: number, min: number, max: number): LtxFileInfo {
  return {
    level,
    minTxid: BigInt(min),
    maxTxid: BigInt(max),
    size: 0,
    createdAt: 0,
  };
}

function ranges(plan: LtxFileInfo[]): string[] {
  return plan.map((f) => `${f.level}:${f.minTxid}-${f.maxTxid}`);
}

Deno.test("restorePlan() chains level-0 files from TXID 1", () => {
  const plan = restorePlan([file(0, 2, 2), file(0, 1, 1), file(0, 3, 3)], {
    url: URL,
  });
  assert.deepEqual(ranges(plan), ["0:1-1", "0:2-2", "0:3-3"]);
});

Deno.test("restorePlan() starts from the newest snapshot and takes the longest jumps", () => {
  const files = [
    file(9, 1, 4),
    file(9, 1, 10),
    file(1, 1, 10),
    file(1, 11, 20),
    ...Array.from({ length: 22 }, (_, i) => file(0, i + 1, i + 1)),
  ];
  assert.deepEqual(ranges(restorePlan(files, { url: URL })), [
    "9:1-10",
    "1:11-20",
    "0:21-21",
    "0:22-22",
  ]);
});

Deno.test("restorePlan() accepts a compacted file that straddles the snapshot", () => {
  const plan = restorePlan([file(9, 1, 5), file(1, 3, 8), file(0, 9, 9)], {
    url: URL,
  });
  assert.deepEqual(ranges(plan), ["9:1-5", "1:3-8", "0:9-9"]);
});

Deno.test("restorePlan() stops at the target TXID", () => {
  const files = [file(0, 1, 1), file(0, 2, 2), file(1, 1, 3), file(0, 3, 3)];
  assert.deepEqual(ranges(restorePlan(files, { url: URL, targetTxid: 2n })), [
    "0:1-1",
    "0:2-2",
  ]);
});

Deno.test("restorePlan() rejects a gap in the TXID chain, naming both sides", () => {
  assert.throws(
    () =>
      restorePlan([file(0, 1, 1), file(0, 2, 2), file(0, 4, 4)], { url: URL }),
    (error: unknown) =>
      error instanceof TxidGapError &&
      error.message.includes("end at TXID 0000000000000002") &&
      error.message.includes("starts at TXID 0000000000000004"),
  );
});

Deno.test("restorePlan() rejects a chain with no snapshot and no TXID 1", () => {
  assert.throws(
    () => restorePlan([file(0, 5, 5), file(0, 6, 6)], { url: URL }),
    (error: unknown) =>
      error instanceof TxidGapError &&
      error.message.includes("no snapshot covers TXID 1"),
  );
});

Deno.test("restorePlan() reports an empty replica as not found", () => {
  assert.throws(
    () => restorePlan([], { url: URL }),
    (error: unknown) =>
      error instanceof ReplicaNotFoundError &&
      error.message.includes(`No LTX files at "${URL}"`),
  );
});

Deno.test("restorePlan() carries a held state forward with afterTxid", () => {
  const files = [file(9, 1, 4), file(0, 3, 3), file(0, 4, 4), file(0, 5, 5)];
  assert.deepEqual(
    ranges(restorePlan(files, { url: URL, afterTxid: 3n })),
    ["0:4-4", "0:5-5"],
  );
  assert.deepEqual(restorePlan(files, { url: URL, afterTxid: 5n }), []);
  // Compacted away: the held TXID is no longer where a chain starts.
  assert.throws(
    () =>
      restorePlan([file(9, 1, 6), file(0, 7, 7)], { url: URL, afterTxid: 3n }),
    TxidGapError,
  );
});
