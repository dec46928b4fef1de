import assert from "node:assert/strict";
import {
  ChecksumMismatchError,
  InvalidFrameError,
  InvalidHeaderError,
  InvalidIndexError,
  InvalidTrailerError,
  LtxError,
  TruncatedFileError,
} from "./errors.ts";

const FILE = "ltx/0/0000000000000001-0000000000000001.ltx";

Deno.test("TruncatedFileError has the std wording", () => {
  const err = new TruncatedFileError(
    FILE,
    "expected 100 header bytes, found 40",
  );
  assert.equal(
    err.message,
    `Truncated LTX file "${FILE}": expected 100 header bytes, found 40`,
  );
  assert.equal(err.name, "TruncatedFileError");
  assert.equal(err.file, FILE);
  assert.ok(err instanceof LtxError);
  assert.ok(err instanceof Error);
});

Deno.test("LtxError subclasses name the file and keep the cause", () => {
  const cause = new Error("inner");
  for (
    const [Class, start] of [
      [InvalidHeaderError, "Invalid header in LTX file"],
      [InvalidFrameError, "Invalid page frame in LTX file"],
      [InvalidIndexError, "Invalid page index in LTX file"],
      [InvalidTrailerError, "Invalid trailer in LTX file"],
    ] as const
  ) {
    const err = new Class(FILE, "something is wrong", { cause });
    assert.equal(err.message, `${start} "${FILE}": something is wrong`);
    assert.equal(err.name, Class.name);
    assert.equal(err.file, FILE);
    assert.equal(err.cause, cause);
    assert.ok(err instanceof LtxError);
  }
});

Deno.test("ChecksumMismatchError carries the stored and computed checksums", () => {
  const err = new ChecksumMismatchError(FILE, {
    kind: "post-apply",
    expected: 0x8000000000000001n,
    actual: 0x80000000000000ffn,
  });
  assert.equal(
    err.message,
    `Checksum mismatch in LTX file "${FILE}": post-apply checksum is "8000000000000001", computed "80000000000000ff"`,
  );
  assert.equal(err.kind, "post-apply");
  assert.equal(err.expected, 0x8000000000000001n);
  assert.equal(err.actual, 0x80000000000000ffn);
  assert.equal(err.name, "ChecksumMismatchError");
  assert.ok(err instanceof LtxError);
});
