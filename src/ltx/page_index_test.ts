import assert from "node:assert/strict";
import { InvalidIndexError } from "./errors.ts";
import { decodePageIndex, encodePageIndex } from "./page_index.ts";
import { readUvarint, uvarintLength, writeUvarint } from "./_uvarint.ts";
import { assertLtxError, concat } from "./_test_util.ts";

const FILE = "a.ltx";

function sizeField(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

Deno.test("encodePageIndex() writes Go Uvarints, terminator and size field", () => {
  const bytes = encodePageIndex([
    { pgno: 1, offset: 100, size: 300 },
    { pgno: 200, offset: 400, size: 20 },
  ]);
  assert.deepEqual(
    bytes,
    concat([
      new Uint8Array([1, 100, 0xac, 0x02, 0xc8, 0x01, 0x90, 0x03, 20, 0]),
      sizeField(10),
    ]),
  );
});

Deno.test("encodePageIndex() writes an empty index as terminator and size 1", () => {
  assert.deepEqual(
    encodePageIndex([]),
    concat([new Uint8Array([0]), sizeField(1)]),
  );
});

Deno.test("encodePageIndex() handles offsets past 2 GiB and 4 GiB", () => {
  const entries = [
    { pgno: 1, offset: 2 ** 31, size: 11 },
    { pgno: 2, offset: 2 ** 32 + 5, size: 2 ** 31 + 1 },
    { pgno: 0xffffffff, offset: Number.MAX_SAFE_INTEGER, size: 2 ** 35 },
  ];
  assert.deepEqual(decodePageIndex(encodePageIndex(entries), FILE), entries);
});

Deno.test("writeUvarint() and readUvarint() agree with Go on edge values", () => {
  const cases: [number, number[]][] = [
    [0, [0]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [2 ** 31, [0x80, 0x80, 0x80, 0x80, 0x08]],
    [2 ** 32, [0x80, 0x80, 0x80, 0x80, 0x10]],
    [Number.MAX_SAFE_INTEGER, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]],
  ];
  for (const [value, bytes] of cases) {
    const out = new Uint8Array(10);
    assert.equal(writeUvarint(out, 0, value), bytes.length);
    assert.deepEqual(Array.from(out.subarray(0, bytes.length)), bytes);
    assert.equal(uvarintLength(value), bytes.length);
    assert.deepEqual(readUvarint(new Uint8Array(bytes), 0), {
      value,
      length: bytes.length,
    });
  }
  assert.throws(() => writeUvarint(new Uint8Array(10), 0, -1), RangeError);
  assert.throws(() => writeUvarint(new Uint8Array(10), 0, 2 ** 53), RangeError);
});

Deno.test("readUvarint() reports incomplete and overflowing values", () => {
  assert.equal(readUvarint(new Uint8Array([0x80, 0x80]), 0).length, 0);
  // 2^64 - 1 is the largest Go accepts: ten bytes, the last one 0x01.
  const max = new Uint8Array([...new Array(9).fill(0xff), 0x01]);
  const r = readUvarint(max, 0);
  assert.equal(r.length, 10);
  assert.ok(r.value > Number.MAX_SAFE_INTEGER);
  assert.equal(
    readUvarint(new Uint8Array([...new Array(9).fill(0xff), 0x02]), 0).length,
    -1,
  );
  assert.equal(readUvarint(new Uint8Array(11).fill(0x80), 0).length, -1);
});

Deno.test("decodePageIndex() rejects malformed indexes", () => {
  const cases: [Uint8Array, string][] = [
    [new Uint8Array([0, 0, 0]), "too short"],
    [
      concat([new Uint8Array([1, 100]), sizeField(2)]),
      "ends inside the size of entry 0",
    ],
    [
      concat([new Uint8Array([1, 100, 5]), sizeField(3)]),
      "ends inside the page number of entry 1",
    ],
    [
      concat([new Uint8Array([0, 7]), sizeField(1)]),
      "1 bytes follow the index terminator",
    ],
    [
      concat([new Uint8Array([0]), sizeField(2)]),
      "size field says 2 bytes, entries take 1",
    ],
    [
      concat([new Uint8Array([2, 100, 5, 2, 105, 5, 0]), sizeField(7)]),
      "page number 2 after 2",
    ],
    [
      concat([new Uint8Array([3, 100, 5, 2, 105, 5, 0]), sizeField(7)]),
      "page number 2 after 3",
    ],
    [
      concat([
        new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x10, 1, 1, 0]),
        sizeField(8),
      ]),
      "beyond 32 bits",
    ],
    [
      concat([
        new Uint8Array([1, ...new Array(9).fill(0xff), 0x02, 1, 0]),
        sizeField(14),
      ]),
      "offset of entry 0 at index byte 1 is out of range",
    ],
    [
      concat([
        new Uint8Array([
          1,
          0x80,
          0x80,
          0x80,
          0x80,
          0x80,
          0x80,
          0x80,
          0x10,
          1,
          0,
        ]),
        sizeField(11),
      ]),
      "offset of entry 0 at index byte 1 is out of range",
    ],
  ];
  for (const [bytes, includes] of cases) {
    assertLtxError(
      () => decodePageIndex(bytes, FILE),
      InvalidIndexError,
      FILE,
      includes,
    );
  }
});
