import assert from "node:assert/strict";
import { CHECKSUM_FLAG } from "./checksum.ts";
import { InvalidTrailerError, TruncatedFileError } from "./errors.ts";
import { decodeTrailer, encodeTrailer, validateTrailer } from "./trailer.ts";
import { assertLtxError } from "./_test_util.ts";

const FILE = "a.ltx";

Deno.test("encodeTrailer() writes both checksums big-endian", () => {
  const bytes = encodeTrailer({
    postApplyChecksum: 0x8000000000000102n,
    fileChecksum: 0x8000000000000304n,
  });
  assert.deepEqual(
    bytes,
    new Uint8Array([0x80, 0, 0, 0, 0, 0, 1, 2, 0x80, 0, 0, 0, 0, 0, 3, 4]),
  );
  assert.deepEqual(decodeTrailer(bytes, FILE), {
    postApplyChecksum: 0x8000000000000102n,
    fileChecksum: 0x8000000000000304n,
  });
  assert.throws(
    () => encodeTrailer({ postApplyChecksum: -1n, fileChecksum: 0n }),
    RangeError,
  );
});

Deno.test("decodeTrailer() rejects a short buffer", () => {
  assertLtxError(
    () => decodeTrailer(new Uint8Array(15), FILE),
    TruncatedFileError,
    FILE,
    "expected 16 trailer bytes, found 15",
  );
});

Deno.test("validateTrailer() applies ltx.go Trailer.Validate", () => {
  const flagged = CHECKSUM_FLAG | 7n;
  const tracked = { flags: 0 };
  const untracked = { flags: 0x2 };
  validateTrailer({ postApplyChecksum: flagged, fileChecksum: flagged }, {
    file: FILE,
    header: tracked,
  });
  validateTrailer({ postApplyChecksum: 0n, fileChecksum: flagged }, {
    file: FILE,
    header: untracked,
  });
  validateTrailer({ postApplyChecksum: 5n, fileChecksum: flagged }, {
    file: FILE,
  });
  const bad: [bigint, bigint, { flags: number } | undefined, string][] = [
    [
      flagged,
      flagged,
      untracked,
      "must be zero when checksums are not tracked",
    ],
    [0n, flagged, tracked, "post-apply checksum is zero"],
    [
      7n,
      flagged,
      tracked,
      'post-apply checksum "0000000000000007" lacks its flag bit',
    ],
    [flagged, 0n, tracked, "file checksum is zero"],
    [0n, 7n, undefined, 'file checksum "0000000000000007" lacks its flag bit'],
  ];
  for (const [postApplyChecksum, fileChecksum, header, includes] of bad) {
    assertLtxError(
      () =>
        validateTrailer({ postApplyChecksum, fileChecksum }, {
          file: FILE,
          header,
        }),
      InvalidTrailerError,
      FILE,
      includes,
    );
  }
});
