import assert from "node:assert/strict";
import { CHECKSUM_FLAG, crc64 } from "./checksum.ts";
import { decodeFile } from "./decoder.ts";
import { encodeFile, Encoder } from "./encoder.ts";
import {
  ChecksumMismatchError,
  InvalidFrameError,
  InvalidHeaderError,
  InvalidTrailerError,
} from "./errors.ts";
import { decompressBlock, decompressFrame } from "./lz4.ts";
import { decodePageIndex } from "./page_index.ts";
import {
  assertLtxError,
  concat,
  incrementalSpec,
  makeHeader,
  makePage,
  snapshotSpec,
} from "./_test_util.ts";

const SNAPSHOT_NAME = "0000000000000001-0000000000000001.ltx";

/** Splits an encoded file by hand, following the spec, not the decoder. */
function dissect(bytes: Uint8Array, pageSize: number) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const indexSize = Number(view.getBigUint64(bytes.length - 24));
  const indexStart = bytes.length - 24 - indexSize;
  const frames: {
    pgno: number;
    flags: number;
    head: Uint8Array;
    data: Uint8Array;
  }[] = [];
  let pos = 100;
  for (;;) {
    const pgno = view.getUint32(pos);
    const flags = view.getUint16(pos + 4);
    if (pgno === 0 && flags === 0) break;
    const data = new Uint8Array(pageSize);
    if (flags === 1) {
      const size = view.getUint32(pos + 6);
      assert.equal(
        decompressBlock(bytes.subarray(pos + 10, pos + 10 + size), data),
        pageSize,
      );
      frames.push({ pgno, flags, head: bytes.subarray(pos, pos + 10), data });
      pos += 10 + size;
    } else {
      const next = frameEnd(bytes, pos + 6);
      data.set(decompressFrame(bytes.subarray(pos + 6, next), pageSize));
      frames.push({ pgno, flags, head: bytes.subarray(pos, pos + 6), data });
      pos = next;
    }
  }
  assert.equal(pos + 6, indexStart, "zero page header just before the index");
  return {
    header: bytes.subarray(0, 100),
    frames,
    zero: bytes.subarray(pos, pos + 6),
    index: bytes.subarray(indexStart, bytes.length - 16),
    postApply: bytes.subarray(bytes.length - 16, bytes.length - 8),
    fileChecksum: view.getBigUint64(bytes.length - 8),
  };
}

/** End of the LZ4 frame at `pos`, found by walking its block sizes. */
function frameEnd(bytes: Uint8Array, pos: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const flg = bytes[pos + 4];
  let p = pos + 7 + ((flg & 0x08) ? 8 : 0);
  for (;;) {
    const size = view.getUint32(p, true);
    p += 4;
    if (size === 0) break;
    p += (size & 0x7fffffff) + ((flg & 0x10) ? 4 : 0);
  }
  return p + ((flg & 0x04) ? 4 : 0);
}

Deno.test("encodeFile() writes size-prefixed LZ4 block frames", () => {
  const spec = snapshotSpec({ pageSize: 4096, commit: 3 });
  const bytes = encodeFile(spec);
  const parts = dissect(bytes, 4096);
  assert.deepEqual(parts.frames.map((f) => [f.pgno, f.flags]), [
    [1, 1],
    [2, 1],
    [
      3,
      1,
    ],
  ]);
  for (const [i, frame] of parts.frames.entries()) {
    assert.deepEqual(frame.data, spec.pages[i].data);
  }
  assert.deepEqual(parts.zero, new Uint8Array(6));
});

Deno.test("encodeFile() writes the page index of its frames", () => {
  const spec = incrementalSpec({ pgnos: [2, 9, 10], commit: 12 });
  const bytes = encodeFile(spec);
  const parts = dissect(bytes, 4096);
  const index = decodePageIndex(parts.index, "a.ltx");
  let offset = 100;
  for (const [i, entry] of index.entries()) {
    assert.equal(entry.pgno, spec.pages[i].pgno);
    assert.equal(entry.offset, offset);
    offset += entry.size;
  }
  assert.equal(offset + 6, bytes.length - 16 - parts.index.length);
});

Deno.test("encodeFile() computes the file checksum as the spec says", () => {
  for (const legacyFrames of [false, true]) {
    const spec = incrementalSpec({ pgnos: [1, 3, 4], commit: 5 });
    const bytes = encodeFile(spec, { legacyFrames });
    const parts = dissect(bytes, 4096);
    const input = concat([
      parts.header,
      ...parts.frames.flatMap((f) => [f.head, f.data]),
      parts.zero,
      parts.index,
      parts.postApply,
    ]);
    assert.equal(parts.fileChecksum, crc64(input) | CHECKSUM_FLAG);
    assert.equal(
      new DataView(parts.postApply.buffer, parts.postApply.byteOffset)
        .getBigUint64(0),
      spec.postApplyChecksum,
    );
  }
});

Deno.test("encodeFile() writes legacy LZ4 frames when asked", () => {
  const spec = snapshotSpec({ pageSize: 1024, commit: 2 });
  const bytes = encodeFile(spec, { legacyFrames: true });
  const parts = dissect(bytes, 1024);
  assert.deepEqual(parts.frames.map((f) => f.flags), [0, 0]);
  assert.deepEqual(
    parts.frames.map((f) => f.data),
    spec.pages.map((p) => p.data),
  );
  assert.deepEqual(decodeFile(bytes, { file: "a.ltx" }).pages, spec.pages);
});

Deno.test("encodeFile() writes an empty snapshot and a file without pages", () => {
  const empty = snapshotSpec({ commit: 0 });
  assert.equal(empty.postApplyChecksum, CHECKSUM_FLAG);
  const decoded = decodeFile(encodeFile(empty), { file: "a.ltx" });
  assert.deepEqual(decoded.pages, []);
  assert.deepEqual(decoded.index, []);
  const shrink = incrementalSpec({ pgnos: [], commit: 3 });
  assert.deepEqual(decodeFile(encodeFile(shrink), { file: "a.ltx" }).pages, []);
});

Deno.test("Encoder returns the file piece by piece", () => {
  const spec = incrementalSpec({ pgnos: [4, 7] });
  const encoder = new Encoder();
  const chunks = [encoder.encodeHeader(spec.header)];
  assert.equal(encoder.bytesWritten, 100);
  for (const { pgno, data } of spec.pages) {
    chunks.push(encoder.encodePage(pgno, data));
  }
  assert.deepEqual(encoder.index.map((e) => e.pgno), [4, 7]);
  assert.equal(encoder.trailer, undefined);
  chunks.push(encoder.close(spec.postApplyChecksum));
  const bytes = concat(chunks);
  assert.equal(encoder.bytesWritten, bytes.length);
  assert.deepEqual(bytes, encodeFile(spec));
  const decoded = decodeFile(bytes, { file: "a.ltx" });
  assert.deepEqual(encoder.trailer, {
    postApplyChecksum: spec.postApplyChecksum,
    fileChecksum: decoded.fileChecksum,
  });
  assert.deepEqual(encoder.close(spec.postApplyChecksum), new Uint8Array(0));
});

Deno.test("Encoder enforces its state machine", () => {
  const encoder = new Encoder();
  assert.throws(() => encoder.encodePage(1, makePage(1, 4096)), Error);
  assert.throws(() => encoder.close(0n), Error);
  encoder.encodeHeader(makeHeader({ flags: 2, commit: 1 }));
  assert.throws(() => encoder.encodeHeader(makeHeader()), /already encoded/);
  encoder.encodePage(1, makePage(1, 4096));
  encoder.close(0n);
  assert.throws(() => encoder.encodePage(2, makePage(2, 4096)), /closed/);
  assert.throws(() => encoder.encodeHeader(makeHeader()), /closed/);
});

Deno.test("Encoder.encodeHeader() validates the header first", () => {
  const encoder = new Encoder();
  assertLtxError(
    () => encoder.encodeHeader(makeHeader({ pageSize: 1000 })),
    InvalidHeaderError,
    SNAPSHOT_NAME,
    "page size 1000",
  );
  assertLtxError(
    () =>
      new Encoder({ file: "ltx/0/x.ltx" }).encodeHeader(
        makeHeader({ flags: 4 }),
      ),
    InvalidHeaderError,
    "ltx/0/x.ltx",
  );
});

Deno.test("Encoder.encodePage() refuses pages breaking the rules", () => {
  const page = makePage(1, 4096);
  const incremental = () => {
    const encoder = new Encoder();
    encoder.encodeHeader(
      makeHeader({
        minTxid: 5n,
        maxTxid: 5n,
        commit: 10,
        preApplyChecksum: CHECKSUM_FLAG | 1n,
      }),
    );
    return encoder;
  };
  const name = "0000000000000005-0000000000000005.ltx";
  assertLtxError(
    () => incremental().encodePage(11, page),
    InvalidFrameError,
    name,
    "page 11 is beyond the commit size of 10 pages",
  );
  assertLtxError(
    () => incremental().encodePage(0, page),
    InvalidFrameError,
    name,
  );
  const outOfOrder = incremental();
  outOfOrder.encodePage(5, page);
  for (const pgno of [3, 5]) {
    assertLtxError(
      () => outOfOrder.encodePage(pgno, page),
      InvalidFrameError,
      name,
      `page ${pgno} follows page 5`,
    );
  }
  assert.throws(
    () => incremental().encodePage(1, new Uint8Array(100)),
    RangeError,
  );

  const snapshot = new Encoder();
  snapshot.encodeHeader(makeHeader({ commit: 4 }));
  for (const pgno of [1, 2]) {
    assertLtxError(
      () => snapshot.encodePage(pgno + 1, page),
      InvalidFrameError,
      SNAPSHOT_NAME,
      `expected page ${pgno}`,
    );
    snapshot.encodePage(pgno, page);
  }
  assertLtxError(
    () => snapshot.close(CHECKSUM_FLAG),
    InvalidFrameError,
    SNAPSHOT_NAME,
    "snapshot ends after page 2; its commit size is 4 pages",
  );
});

Deno.test("Encoder.encodePage() refuses the lock page", () => {
  // 65536-byte pages put the lock page at 16385.
  const encoder = new Encoder({ file: "big.ltx" });
  encoder.encodeHeader(
    makeHeader({
      pageSize: 65536,
      minTxid: 2n,
      maxTxid: 2n,
      commit: 20000,
      flags: 2,
    }),
  );
  encoder.encodePage(16384, new Uint8Array(65536));
  assertLtxError(
    () => encoder.encodePage(16385, new Uint8Array(65536)),
    InvalidFrameError,
    "big.ltx",
    "page 16385 is the lock page",
  );
  encoder.encodePage(16386, new Uint8Array(65536));
});

Deno.test("Encoder.close() refuses post-apply checksums breaking the rules", () => {
  const cases: [ReturnType<typeof snapshotSpec>, bigint, string][] = [
    [
      incrementalSpec({ pgnos: [1], noChecksum: true }),
      CHECKSUM_FLAG,
      "must be zero",
    ],
    [incrementalSpec({ pgnos: [1] }), 0n, "post-apply checksum is zero"],
    [incrementalSpec({ pgnos: [1] }), 5n, "lacks its flag bit"],
    [
      incrementalSpec({ pgnos: [], commit: 0 }),
      CHECKSUM_FLAG | 1n,
      "empty database must be the flag bit alone",
    ],
  ];
  for (const [spec, postApplyChecksum, includes] of cases) {
    assertLtxError(
      () => encodeFile({ ...spec, postApplyChecksum }, { file: "a.ltx" }),
      InvalidTrailerError,
      "a.ltx",
      includes,
    );
  }
});

Deno.test("Encoder.close() refuses a snapshot checksum that is not its pages'", () => {
  const spec = snapshotSpec({ commit: 3 });
  const err = assertLtxError(
    () =>
      encodeFile({ ...spec, postApplyChecksum: CHECKSUM_FLAG | 1n }, {
        file: "a.ltx",
      }),
    ChecksumMismatchError,
    "a.ltx",
  );
  assert.equal(err.kind, "post-apply");
  assert.equal(err.expected, CHECKSUM_FLAG | 1n);
  assert.equal(err.actual, spec.postApplyChecksum);
});
