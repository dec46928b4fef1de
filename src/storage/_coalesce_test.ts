import assert from "node:assert/strict";
import { coalesce } from "./_coalesce.ts";

Deno.test("coalesce() merges overlapping and touching ranges of one file", () => {
  const ranges = [
    { key: "a", offset: 0, length: 50 },
    { key: "a", offset: 10, length: 50 },
    { key: "a", offset: 100, length: 50 },
    { key: "a", offset: 60, length: 40 },
    { key: "a", offset: 20, length: 5 },
  ];
  const [read, ...rest] = coalesce(ranges);
  assert.deepEqual(rest, []);
  assert.equal(read.offset, 0);
  assert.equal(read.length, 150);
  for (const { index, at } of read.parts) {
    assert.equal(read.offset + at, ranges[index].offset);
  }
  assert.deepEqual(read.parts.map((p) => p.index).sort(), [0, 1, 2, 3, 4]);
});

Deno.test("coalesce() keeps gaps and files apart, in batch order", () => {
  const reads = coalesce([
    { key: "b", offset: 0, length: 10 },
    { key: "a", offset: 0, length: 10 },
    { key: "b", offset: 11, length: 10 },
    { key: "a", offset: 10, length: 0 },
  ]);
  assert.deepEqual(
    reads.map((r) => [r.first, r.offset, r.length, r.parts.length]),
    [[0, 0, 10, 1], [1, 0, 10, 2], [2, 11, 10, 1]],
  );
  assert.deepEqual(coalesce([]), []);
});
