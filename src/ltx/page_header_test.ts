import assert from "node:assert/strict";
import { InvalidFrameError, TruncatedFileError } from "./errors.ts";
import {
  decodePageHeader,
  encodePageHeader,
  pageHeaderLength,
  validatePageHeader,
} from "./page_header.ts";
import { assertLtxError } from "./_test_util.ts";

const FILE = "a.ltx";

Deno.test("encodePageHeader() writes page number, flags and size prefix", () => {
  assert.deepEqual(
    encodePageHeader({ pgno: 0x01020304, flags: 1 }, 0x0a0b0c0d),
    new Uint8Array([1, 2, 3, 4, 0, 1, 0x0a, 0x0b, 0x0c, 0x0d]),
  );
  assert.deepEqual(
    encodePageHeader({ pgno: 9, flags: 0 }),
    new Uint8Array([0, 0, 0, 9, 0, 0]),
  );
  assert.deepEqual(encodePageHeader({ pgno: 0, flags: 0 }), new Uint8Array(6));
});

Deno.test("encodePageHeader() rejects values that do not fit", () => {
  assert.throws(() => encodePageHeader({ pgno: -1, flags: 0 }), RangeError);
  assert.throws(
    () => encodePageHeader({ pgno: 2 ** 32, flags: 0 }),
    RangeError,
  );
  assert.throws(
    () => encodePageHeader({ pgno: 1, flags: 0x10000 }),
    RangeError,
  );
  assert.throws(() => encodePageHeader({ pgno: 1, flags: 1 }), RangeError);
});

Deno.test("pageHeaderLength() counts the size prefix", () => {
  assert.equal(pageHeaderLength(0), 6);
  assert.equal(pageHeaderLength(1), 10);
});

Deno.test("decodePageHeader() round-trips encodePageHeader()", () => {
  const header = { pgno: 0xfffffffe, flags: 0x8001 };
  assert.deepEqual(decodePageHeader(encodePageHeader(header, 3), FILE), header);
});

Deno.test("decodePageHeader() rejects a short buffer", () => {
  assertLtxError(
    () => decodePageHeader(new Uint8Array(5), FILE),
    TruncatedFileError,
    FILE,
    "expected 6 page header bytes, found 5",
  );
});

Deno.test("validatePageHeader() rejects unknown flags and page zero", () => {
  validatePageHeader({ pgno: 1, flags: 0 }, FILE);
  validatePageHeader({ pgno: 1, flags: 1 }, FILE);
  for (const flags of [2, 3, 0x8000, 0xffff]) {
    assertLtxError(
      () => validatePageHeader({ pgno: 4, flags }, FILE),
      InvalidFrameError,
      FILE,
      `0x${flags.toString(16).padStart(4, "0")}`,
    );
  }
  assertLtxError(
    () => validatePageHeader({ pgno: 0, flags: 1 }, FILE),
    InvalidFrameError,
    FILE,
    "page number zero",
  );
});
