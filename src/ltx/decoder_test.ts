import assert from "node:assert/strict";
import { CHECKSUM_FLAG } from "./checksum.ts";
import {
  decodeFile,
  decodeFrame,
  type DecodeFrameOptions,
  Decoder,
  decodeStream,
  decodeTail,
  indexTailLength,
  type LtxFile,
} from "./decoder.ts";
import { encodeFile } from "./encoder.ts";
import type { Header } from "./header.ts";
import {
  ChecksumMismatchError,
  InvalidFrameError,
  InvalidHeaderError,
  InvalidIndexError,
  InvalidTrailerError,
  LtxError,
  TruncatedFileError,
} from "./errors.ts";
import { compressBlock, compressFrame, Lz4Error } from "./lz4.ts";
import {
  assertLtxError,
  buildRawSpec,
  concat,
  type FileSpec,
  incrementalSpec,
  LITESTREAM_FILE,
  makeHeader,
  random,
  rawFrames,
  snapshotSpec,
} from "./_test_util.ts";

const FILE = "ltx/0/0000000000000001-0000000000000001.ltx";
const PAGE_SIZES = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];

function assertDecodes(bytes: Uint8Array, spec: FileSpec): LtxFile {
  const file = decodeFile(bytes, { file: FILE });
  assert.deepEqual(file.header, spec.header);
  assert.deepEqual(file.pages, spec.pages);
  assert.equal(file.postApplyChecksum, spec.postApplyChecksum);
  assert.equal(file.fileChecksum & CHECKSUM_FLAG, CHECKSUM_FLAG);
  assert.deepEqual(
    file.index.map((e) => e.pgno),
    spec.pages.map((p) => p.pgno),
  );
  return file;
}

/** Feeds `bytes` to a Decoder in chunks of `size` bytes. */
function decodeChunked(bytes: Uint8Array, size: number, file = FILE): LtxFile {
  const pages: LtxFile["pages"] = [];
  const decoder = new Decoder({
    file,
    onPage: (pgno, data) => pages.push({ pgno, data }),
  });
  for (let i = 0; i < bytes.length; i += size) {
    decoder.write(bytes.subarray(i, i + size));
  }
  return { ...decoder.end(), pages };
}

/** Asserts that `decodeFile()` rejects `bytes` with `errorClass`. */
function assertFileError<E extends LtxError>(
  bytes: Uint8Array,
  errorClass: new (...args: never[]) => E,
  includes?: string,
): E {
  return assertLtxError(
    () => decodeFile(bytes, { file: FILE }),
    errorClass,
    FILE,
    includes,
  );
}

/** Asserts that `decodeTail()` rejects the whole file `bytes` with `errorClass`. */
function assertTailError(
  bytes: Uint8Array,
  errorClass: new (...args: never[]) => LtxError,
  includes: string,
  header?: Header,
): LtxError {
  return assertLtxError(
    () => decodeTail(bytes, bytes.length, { file: FILE, header }),
    errorClass,
    FILE,
    includes,
  );
}

/** Asserts that `decodeFrame()` rejects `frame` with an InvalidFrameError. */
function assertFrameError(
  frame: Uint8Array,
  options: Omit<DecodeFrameOptions, "file">,
  includes?: string,
): LtxError {
  return assertLtxError(
    () => decodeFrame(frame, { file: FILE, ...options }),
    InvalidFrameError,
    FILE,
    includes,
  );
}

/** An incremental file holding only the lock page of 65536-byte pages. */
function lockPageSpec(): FileSpec {
  return incrementalSpec({ pageSize: 65536, pgnos: [16385], commit: 16390 });
}

// Round trips.

Deno.test("decodeFile() round-trips snapshots of every page size", () => {
  for (const pageSize of PAGE_SIZES) {
    const spec = snapshotSpec({ pageSize, commit: 3 });
    assertDecodes(encodeFile(spec), spec);
  }
});

Deno.test("decodeFile() round-trips incremental files of every page size", () => {
  for (const pageSize of PAGE_SIZES) {
    const spec = incrementalSpec({
      pageSize,
      pgnos: [2, 5, 6],
      commit: 8,
      minTxid: 3n,
      maxTxid: 9n,
    });
    assertDecodes(encodeFile(spec), spec);
  }
});

Deno.test("decodeFile() round-trips files with the NoChecksum flag", () => {
  for (
    const spec of [
      snapshotSpec({ commit: 4, noChecksum: true }),
      incrementalSpec({ pgnos: [1, 4], noChecksum: true }),
    ]
  ) {
    assert.equal(spec.header.flags, 0x2);
    assertDecodes(encodeFile(spec), spec);
  }
});

Deno.test("decodeFile() round-trips legacy LZ4 frames", () => {
  for (const pageSize of [512, 4096, 65536]) {
    for (
      const spec of [
        snapshotSpec({ pageSize, commit: 3 }),
        incrementalSpec({ pageSize, pgnos: [3, 7], noChecksum: true }),
      ]
    ) {
      assertDecodes(encodeFile(spec, { legacyFrames: true }), spec);
    }
  }
});

Deno.test("decodeFile() reads legacy and block frames mixed in one file", () => {
  const spec = snapshotSpec({ commit: 4 });
  const bytes = buildRawSpec(spec, {
    frames: rawFrames(spec).map((f) => ({ ...f, flags: f.pgno % 2 })),
  });
  assertDecodes(bytes, spec);
});

Deno.test("decodeFile() round-trips empty files", () => {
  assertDecodes(
    encodeFile(snapshotSpec({ commit: 0 })),
    snapshotSpec({ commit: 0 }),
  );
  const shrink = incrementalSpec({ pgnos: [], commit: 2 });
  assertDecodes(encodeFile(shrink), shrink);
});

Deno.test("decodeFile() reads a file written by Litestream v0.5.17", () => {
  const file = decodeFile(LITESTREAM_FILE, { file: FILE });
  assert.equal(file.header.flags, 0x2);
  assert.equal(file.header.pageSize, 4096);
  assert.equal(file.header.commit, 2);
  assert.equal(file.header.minTxid, 1n);
  assert.equal(file.postApplyChecksum, 0n);
  assert.equal(file.fileChecksum, 0xa66ad9074eab9f1fn);
  assert.deepEqual(file.index, [
    { pgno: 1, offset: 100, size: 162 },
    { pgno: 2, offset: 262, size: 57 },
  ]);
  assert.equal(
    new TextDecoder().decode(file.pages[0].data.subarray(0, 15)),
    "SQLite format 3",
  );
  const tail = decodeTail(LITESTREAM_FILE, LITESTREAM_FILE.length, {
    file: FILE,
    header: file.header,
  });
  assert.deepEqual(tail.index, file.index);
  for (const [i, { pgno, offset, size }] of file.index.entries()) {
    const frame = LITESTREAM_FILE.subarray(offset, offset + size);
    assert.deepEqual(
      decodeFrame(frame, { file: FILE, pgno, pageSize: 4096 }),
      file.pages[i].data,
    );
  }
});

Deno.test("decodeFile() snapshots skip the lock page", () => {
  // 65536-byte pages put the lock page at 16385: a 1 GiB database.
  const pageSize = 65536;
  const commit = 16387;
  const zero = new Uint8Array(pageSize);
  const header = makeHeader({ pageSize, commit, flags: 0x2 });
  const pages = function* () {
    for (let pgno = 1; pgno <= commit; pgno++) {
      if (pgno !== 16385) yield { pgno, data: zero };
    }
  };
  const bytes = encodeFile({ header, pages: pages(), postApplyChecksum: 0n });
  let count = 0;
  let last = 0;
  const decoder = new Decoder({
    file: FILE,
    onPage: (pgno) => {
      assert.notEqual(pgno, 16385);
      count++;
      last = pgno;
    },
  });
  for (let i = 0; i < bytes.length; i += 1 << 20) {
    decoder.write(bytes.subarray(i, i + (1 << 20)));
  }
  const summary = decoder.end();
  assert.equal(count, commit - 1);
  assert.equal(last, commit);
  assert.equal(summary.index.length, commit - 1);
  assert.equal(
    decodeTail(bytes, bytes.length, { file: FILE, header }).index.length,
    commit - 1,
  );
});

// The streaming forms.

Deno.test("Decoder accepts the file in chunks of any size", () => {
  const specs = [
    snapshotSpec({ pageSize: 512, commit: 5 }),
    incrementalSpec({ pageSize: 1024, pgnos: [1, 300, 301], commit: 400 }),
  ];
  for (const spec of specs) {
    for (const legacyFrames of [false, true]) {
      const bytes = encodeFile(spec, { legacyFrames });
      const whole = decodeFile(bytes, { file: FILE });
      for (const size of [1, 2, 7, 99, 100, 101, 4096, bytes.length]) {
        assert.deepEqual(decodeChunked(bytes, size), whole);
      }
      const next = random(7);
      const pages: LtxFile["pages"] = [];
      const decoder = new Decoder({
        file: FILE,
        onPage: (pgno, data) => pages.push({ pgno, data }),
      });
      for (let i = 0; i < bytes.length;) {
        const n = Math.floor(next() * 700);
        decoder.write(bytes.subarray(i, i + n));
        i += n;
      }
      assert.deepEqual({ ...decoder.end(), pages }, whole);
    }
  }
});

Deno.test("Decoder exposes the header once decoded", () => {
  const spec = snapshotSpec({ commit: 1 });
  const bytes = encodeFile(spec);
  const decoder = new Decoder({ file: FILE });
  decoder.write(bytes.subarray(0, 99));
  assert.equal(decoder.header, undefined);
  decoder.write(bytes.subarray(99, 100));
  assert.deepEqual(decoder.header, spec.header);
});

Deno.test("Decoder.end() is idempotent and ends the decoder", () => {
  const bytes = encodeFile(snapshotSpec({ commit: 1 }));
  const decoder = new Decoder({ file: FILE });
  decoder.write(bytes);
  const summary = decoder.end();
  assert.equal(decoder.end(), summary);
  assert.throws(() => decoder.write(new Uint8Array(1)), /decoder has ended/);
});

Deno.test("Decoder throws its first error again on every later call", () => {
  const bytes = encodeFile(snapshotSpec({ commit: 1 }));
  bytes[0] = 0;
  const decoder = new Decoder({ file: FILE });
  const err = assertLtxError(
    () => decoder.write(bytes),
    InvalidHeaderError,
    FILE,
  );
  assert.throws(() => decoder.write(bytes), (e) => e === err);
  assert.throws(() => decoder.end(), (e) => e === err);
});

Deno.test("Decoder rejects bytes after the trailer", () => {
  const bytes = encodeFile(snapshotSpec({ commit: 1 }));
  const decoder = new Decoder({ file: FILE });
  decoder.write(bytes);
  assertLtxError(
    () => decoder.write(new Uint8Array(3)),
    InvalidTrailerError,
    FILE,
    "unexpected bytes follow the trailer",
  );
  assertFileError(concat([bytes, new Uint8Array(1)]), InvalidTrailerError);
});

Deno.test("decodeStream() decodes a stream and hands out its pages", async () => {
  const spec = incrementalSpec({ pgnos: [1, 2, 3] });
  const bytes = encodeFile(spec);
  const chunks = [];
  for (let i = 0; i < bytes.length; i += 1000) {
    chunks.push(bytes.slice(i, i + 1000));
  }
  const pages: LtxFile["pages"] = [];
  const summary = await decodeStream(ReadableStream.from(chunks), {
    file: FILE,
    onPage: (pgno, data) => pages.push({ pgno, data }),
  });
  assert.deepEqual({ ...summary, pages }, decodeFile(bytes, { file: FILE }));
});

Deno.test("decodeStream() cancels the stream on a bad file", async () => {
  const bytes = encodeFile(snapshotSpec({ commit: 1 }));
  bytes[bytes.length - 1] ^= 1;
  let cancelled: unknown;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(bytes);
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  await assert.rejects(
    decodeStream(stream, { file: FILE }),
    ChecksumMismatchError,
  );
  assert.ok(cancelled instanceof ChecksumMismatchError);
});

Deno.test("decodeStream() rejects a truncated stream", async () => {
  const bytes = encodeFile(snapshotSpec({ commit: 2 }));
  await assert.rejects(
    decodeStream(ReadableStream.from([bytes.subarray(0, 150)]), { file: FILE }),
    TruncatedFileError,
  );
});

// Bad input.

Deno.test("decodeFile() rejects every truncation of a valid file", () => {
  const files = [
    encodeFile(snapshotSpec({ pageSize: 512, commit: 3 })),
    encodeFile(snapshotSpec({ pageSize: 512, commit: 2 }), {
      legacyFrames: true,
    }),
    encodeFile(
      incrementalSpec({ pageSize: 512, pgnos: [2, 200], noChecksum: true }),
    ),
  ];
  for (const bytes of files) {
    for (let n = 0; n < bytes.length; n++) {
      const prefix = bytes.slice(0, n);
      assertFileError(prefix, TruncatedFileError);
      const decoder = new Decoder({ file: FILE });
      for (let i = 0; i < n; i += 13) decoder.write(prefix.subarray(i, i + 13));
      assertLtxError(() => decoder.end(), TruncatedFileError, FILE);
      // A remote reader that sees the truncated file's size.
      assert.throws(
        () => decodeTail(prefix, n, { file: FILE }),
        (e) => e instanceof LtxError && e.file === FILE,
      );
    }
  }
});

Deno.test("decodeFile() names what a truncated file lacks", () => {
  const bytes = encodeFile(snapshotSpec({ pageSize: 512, commit: 1 }));
  assertFileError(
    bytes.subarray(0, 40),
    TruncatedFileError,
    "expected 100 header bytes, found 40",
  );
  assertFileError(
    bytes.subarray(0, 103),
    TruncatedFileError,
    "expected 6 page header bytes at offset 100, found 3",
  );
  assertFileError(
    bytes.subarray(0, 120),
    TruncatedFileError,
    "page 1 (frame at offset 100) needs",
  );
  assertFileError(
    bytes.subarray(0, bytes.length - 5),
    TruncatedFileError,
    "expected 16 trailer bytes",
  );
});

Deno.test("decodeFile() rejects a wrong magic number", () => {
  const bytes = encodeFile(snapshotSpec({ commit: 1 }));
  bytes.set(new TextEncoder().encode("LTX0"));
  assertFileError(bytes, InvalidHeaderError, "magic");
});

Deno.test("decodeFile() rejects invalid header fields", () => {
  const spec = snapshotSpec({ commit: 1 });
  for (
    const [overrides, includes] of [
      [{ flags: 0x1 }, "flags 0x00000001"],
      [{ flags: 0x6 }, "flags 0x00000006"],
      [{ pageSize: 3000 }, "page size 3000"],
      [{ minTxid: 0n }, "minimum TXID is zero"],
      [{ minTxid: 1n, maxTxid: 0n }, "maximum TXID is zero"],
      [{ preApplyChecksum: CHECKSUM_FLAG }, "must be zero on a snapshot"],
    ] as const
  ) {
    const bytes = buildRawSpec(spec, {
      header: { ...spec.header, ...overrides },
    });
    assertFileError(bytes, InvalidHeaderError, includes);
  }
});

Deno.test("decodeFile() rejects bad page header flags", () => {
  const spec = incrementalSpec({ pgnos: [1, 2] });
  for (const flags of [0x2, 0x3, 0x8001]) {
    const frames = rawFrames(spec);
    frames[1] = { ...frames[1], flags, payload: compressBlock(frames[1].data) };
    const bytes = buildRawSpec(spec, { frames });
    assertFileError(
      bytes,
      InvalidFrameError,
      `page 2 has page header flags 0x${flags.toString(16).padStart(4, "0")}`,
    );
  }
  const bytes = encodeFile(spec);
  bytes[104] = 0;
  bytes[105] = 0x41;
  assertFileError(bytes, InvalidFrameError, "0x0041");
});

Deno.test("decodeFile() rejects a page header with page number zero", () => {
  const spec = incrementalSpec({ pgnos: [1] });
  const bytes = encodeFile(spec);
  bytes.set([0, 0, 0, 0], 100);
  assertFileError(bytes, InvalidFrameError, "page number zero");
});

Deno.test("decodeFile() rejects corrupt LZ4 payloads", () => {
  const spec = incrementalSpec({ pgnos: [1, 2] });
  const page = spec.pages[1].data;
  const block = compressBlock(page);
  const legacy = compressFrame(page);
  const broken: [number, Uint8Array, string][] = [
    [1, new Uint8Array([0xf0, 0xff, 0xff, 0xff]), "corrupt LZ4 block"],
    [1, block.subarray(0, block.length - 3), "page 2 (frame at offset"],
    [
      1,
      compressBlock(page.subarray(0, 100)),
      "decodes to 100 bytes, expected 4096",
    ],
    [1, compressBlock(concat([page, page])), "corrupt LZ4 block"],
    [
      0,
      concat([
        legacy.subarray(0, 6),
        new Uint8Array([legacy[6] ^ 1]),
        legacy.subarray(7),
      ]),
      "corrupt LZ4 frame",
    ],
    [
      0,
      concat([new Uint8Array([0, 0, 0, 0]), legacy.subarray(4)]),
      "LZ4 frame magic",
    ],
    [
      0,
      compressFrame(page.subarray(0, 1000)),
      "decodes to 1000 bytes, expected 4096",
    ],
    [0, compressFrame(concat([page, page])), "corrupt LZ4 frame"],
  ];
  for (const [flags, payload, includes] of broken) {
    const frames = rawFrames(spec);
    frames[1] = { ...frames[1], flags, payload };
    const bytes = buildRawSpec(spec, { frames });
    const err = assertFileError(bytes, InvalidFrameError, includes);
    if (includes.startsWith("corrupt LZ4 block")) {
      assert.ok(err.cause instanceof Lz4Error);
    }
  }
});

Deno.test("decodeFile() rejects a size prefix no page can have", () => {
  const spec = incrementalSpec({ pgnos: [1] });
  for (const size of [0, 4096 + 16 + 16 + 1, 0xffffffff]) {
    const bytes = encodeFile(spec);
    new DataView(bytes.buffer).setUint32(106, size);
    assertFileError(bytes, InvalidFrameError, `payload size of ${size} bytes`);
  }
});

Deno.test("decodeFile() rejects pages out of order or repeated", () => {
  const spec = incrementalSpec({ pgnos: [3, 2], commit: 5 });
  const bytes = buildRawSpec(spec);
  assertFileError(bytes, InvalidFrameError, "page 2 (frame at offset");
  assertFileError(bytes, InvalidFrameError, "follows page 3");
  assertFileError(
    buildRawSpec(incrementalSpec({ pgnos: [2, 2], commit: 5 })),
    InvalidFrameError,
    "repeats the previous page",
  );
});

Deno.test("decodeFile() rejects the lock page", () => {
  assertFileError(
    buildRawSpec(lockPageSpec()),
    InvalidFrameError,
    "page 16385 (frame at offset 100) is the lock page",
  );
});

Deno.test("decodeFile() rejects a page beyond the commit size", () => {
  assertFileError(
    buildRawSpec(incrementalSpec({ pgnos: [1, 9], commit: 8 })),
    InvalidFrameError,
    "beyond the commit size of 8 pages",
  );
});

Deno.test("decodeFile() rejects a snapshot missing pages", () => {
  const spec = snapshotSpec({ commit: 4 });
  for (
    const [pages, includes] of [
      [
        [2, 3, 4],
        "page 2 (frame at offset 100) follows page 0 in a snapshot; expected page 1",
      ],
      [[1, 2, 4], "expected page 3"],
      [[1, 2, 3], "snapshot ends after page 3"],
      [[], "snapshot ends after page 0"],
    ] as const
  ) {
    const frames = rawFrames(spec).filter((f) =>
      (pages as readonly number[]).includes(f.pgno)
    );
    const bytes = buildRawSpec(spec, { frames });
    assertFileError(bytes, InvalidFrameError, includes);
  }
});

Deno.test("decodeFile() rejects index entries that disagree with the frames", () => {
  const spec = incrementalSpec({ pgnos: [1, 2, 3] });
  const good = decodeFile(encodeFile(spec), { file: FILE }).index;
  const cases: [typeof good, string][] = [
    [
      good.map((e, i) => i === 1 ? { ...e, offset: e.offset + 1 } : e),
      "entry 1 (page 2, offset",
    ],
    [
      good.map((e, i) => i === 2 ? { ...e, size: e.size - 1 } : e),
      "disagrees with frame 2",
    ],
    [good.map((e, i) => i === 2 ? { ...e, pgno: 4 } : e), "entry 2 (page 4"],
    [good.slice(0, 2), "index has 2 entries but the file has 3 page frames"],
    [
      [...good, { pgno: 4, offset: 9999, size: 20 }],
      "more entries than the 3 page frames",
    ],
  ];
  for (const [index, includes] of cases) {
    const bytes = buildRawSpec(spec, { index });
    assertFileError(bytes, InvalidIndexError, includes);
  }
});

Deno.test("decodeFile() rejects a wrong index size field", () => {
  const spec = incrementalSpec({ pgnos: [1, 2] });
  for (const indexSize of [0n, 5n, 1n << 40n, 0xffffffffffffffffn]) {
    const bytes = buildRawSpec(spec, { indexSize });
    assertFileError(
      bytes,
      InvalidIndexError,
      `size field says ${indexSize} bytes`,
    );
  }
});

Deno.test("decodeFile() rejects a bad file checksum", () => {
  const spec = snapshotSpec({ commit: 2 });
  const bytes = encodeFile(spec);
  const stored = new DataView(bytes.buffer).getBigUint64(bytes.length - 8);
  bytes[bytes.length - 1] ^= 0x10;
  const err = assertFileError(
    bytes,
    ChecksumMismatchError,
    "file checksum is",
  );
  assert.equal(err.kind, "file");
  assert.equal(err.actual, stored);
  assert.equal(err.expected, stored ^ 0x10n);
  // A change to the content the checksum covers.
  const bytes2 = encodeFile(spec);
  bytes2[50] ^= 1;
  assertFileError(bytes2, ChecksumMismatchError);
});

Deno.test("decodeFile() rejects a snapshot whose post-apply checksum is wrong", () => {
  const spec = snapshotSpec({ commit: 3 });
  const bytes = buildRawSpec(spec, {
    postApplyChecksum: spec.postApplyChecksum ^ 1n,
  });
  const err = assertFileError(
    bytes,
    ChecksumMismatchError,
    "post-apply checksum is",
  );
  assert.equal(err.kind, "post-apply");
  assert.equal(err.actual, spec.postApplyChecksum);
});

Deno.test("decodeFile() rejects post-apply checksums breaking the trailer rules", () => {
  const untracked = snapshotSpec({ commit: 1, noChecksum: true });
  const tracked = incrementalSpec({ pgnos: [1] });
  for (
    const [spec, postApplyChecksum, includes] of [
      [untracked, CHECKSUM_FLAG, "must be zero when checksums are not tracked"],
      [tracked, 0n, "post-apply checksum is zero"],
      [tracked, 1n, "lacks its flag bit"],
    ] as const
  ) {
    const bytes = buildRawSpec(spec, { postApplyChecksum });
    assertFileError(bytes, InvalidTrailerError, includes);
  }
});

// Tail decoding.

Deno.test("indexTailLength() and decodeTail() read the index from the tail", () => {
  for (
    const spec of [
      snapshotSpec({ pageSize: 512, commit: 40 }),
      incrementalSpec({ pgnos: [5, 1000, 70000], commit: 80000 }),
      snapshotSpec({ commit: 0 }),
    ]
  ) {
    for (const legacyFrames of [false, true]) {
      const bytes = encodeFile(spec, { legacyFrames });
      const whole = decodeFile(bytes, { file: FILE });
      const length = indexTailLength(
        bytes.subarray(bytes.length - 24),
        bytes.length,
        FILE,
      );
      for (const extra of [0, 1, 50]) {
        const tail = bytes.subarray(Math.max(0, bytes.length - length - extra));
        assert.deepEqual(
          decodeTail(tail, bytes.length, { file: FILE, header: spec.header }),
          {
            index: whole.index,
            postApplyChecksum: whole.postApplyChecksum,
            fileChecksum: whole.fileChecksum,
          },
        );
      }
    }
  }
});

Deno.test("indexTailLength() rejects a size field pointing outside the file", () => {
  const bytes = encodeFile(incrementalSpec({ pgnos: [1, 2] }));
  const view = new DataView(bytes.buffer);
  const room = bytes.length - 24 - 106;
  for (const size of [0n, BigInt(room + 1), 1n << 53n, 0xffffffffffffffffn]) {
    view.setBigUint64(bytes.length - 24, size);
    assertLtxError(
      () =>
        indexTailLength(bytes.subarray(bytes.length - 24), bytes.length, FILE),
      InvalidIndexError,
      FILE,
      `size field says ${size} bytes, which points outside the file`,
    );
  }
  view.setBigUint64(bytes.length - 24, BigInt(room));
  assert.equal(
    indexTailLength(bytes.subarray(bytes.length - 24), bytes.length, FILE),
    room + 24,
  );
});

Deno.test("indexTailLength() rejects files and tails too small", () => {
  assertLtxError(
    () => indexTailLength(new Uint8Array(24), 130, FILE),
    TruncatedFileError,
    FILE,
    "expected at least 131 bytes, found 130",
  );
  assertLtxError(
    () => indexTailLength(new Uint8Array(23), 500, FILE),
    TruncatedFileError,
    FILE,
    "expected the last 24 bytes, found 23",
  );
  assert.throws(
    () => indexTailLength(new Uint8Array(24), -1, FILE),
    RangeError,
  );
  assert.throws(
    () => indexTailLength(new Uint8Array(200), 150, FILE),
    RangeError,
  );
});

Deno.test("decodeTail() rejects a tail that does not cover the index", () => {
  const bytes = encodeFile(incrementalSpec({ pgnos: [1, 2, 3] }));
  const length = indexTailLength(
    bytes.subarray(bytes.length - 24),
    bytes.length,
    FILE,
  );
  assertLtxError(
    () =>
      decodeTail(bytes.subarray(bytes.length - length + 1), bytes.length, {
        file: FILE,
      }),
    InvalidIndexError,
    FILE,
    `do not cover the index; ${length} are needed`,
  );
});

Deno.test("decodeTail() rejects entries out of order", () => {
  const spec = incrementalSpec({ pgnos: [1, 2, 3] });
  const good = decodeFile(encodeFile(spec), { file: FILE }).index;
  const index = [good[0], good[2], good[1]];
  const bytes = buildRawSpec(spec, { index });
  assertTailError(bytes, InvalidIndexError, "page number 2 after 3");
});

Deno.test("decodeTail() rejects entries outside the page block", () => {
  const spec = incrementalSpec({ pgnos: [1, 2, 3] });
  const good = decodeFile(encodeFile(spec), { file: FILE }).index;
  const cases: [typeof good, string][] = [
    [
      good.map((e, i) => i === 0 ? { ...e, offset: 99 } : e),
      "entry for page 1 has offset 99, expected 100",
    ],
    [
      good.map((e, i) => i === 1 ? { ...e, offset: e.offset + 1 } : e),
      "entry for page 2 has offset",
    ],
    [
      good.map((e, i) => i === 2 ? { ...e, size: e.size + 1 } : e),
      "runs past the page block",
    ],
    [
      good.map((e, i) => i === 2 ? { ...e, size: 2 ** 40 } : e),
      "runs past the page block",
    ],
    [
      good.map((e, i) => i === 2 ? { ...e, size: e.size - 1 } : e),
      "frames end at offset",
    ],
    [
      good.map((e, i) => i === 0 ? { ...e, size: 6 } : e),
      "has size 6, too small for a frame",
    ],
    [good.slice(0, 2), "frames end at offset"],
  ];
  for (const [index, includes] of cases) {
    const bytes = buildRawSpec(spec, { index });
    assertTailError(bytes, InvalidIndexError, includes);
  }
});

Deno.test("decodeTail() checks the index against a header when given one", () => {
  const lock = lockPageSpec();
  const lockBytes = buildRawSpec(lock);
  decodeTail(lockBytes, lockBytes.length, { file: FILE });
  assertTailError(
    lockBytes,
    InvalidFrameError,
    "is the lock page",
    lock.header,
  );
  const spec = snapshotSpec({ commit: 3 });
  const bytes = encodeFile(spec);
  for (
    const [commit, includes] of [
      [2, "beyond the commit size of 2 pages"],
      [4, "snapshot ends after page 3"],
    ] as const
  ) {
    assertTailError(bytes, InvalidFrameError, includes, {
      ...spec.header,
      commit,
    });
  }
  const gap = buildRawSpec(spec, {
    frames: rawFrames(spec).filter((f) => f.pgno !== 2),
  });
  assertTailError(
    gap,
    InvalidFrameError,
    "where page 2 is expected",
    spec.header,
  );
  assertTailError(
    bytes,
    InvalidTrailerError,
    "must be zero when checksums are not tracked",
    { ...spec.header, flags: 2 },
  );
});

Deno.test("decodeTail() rejects a file checksum without its flag bit", () => {
  const spec = incrementalSpec({ pgnos: [1] });
  const bytes = buildRawSpec(spec, { fileChecksum: 5n });
  assertTailError(bytes, InvalidTrailerError, "lacks its flag bit");
});

// Frame decoding.

Deno.test("decodeFrame() decodes each frame the index points to", () => {
  for (const legacyFrames of [false, true]) {
    for (const pageSize of [512, 4096, 65536]) {
      const spec = incrementalSpec({ pageSize, pgnos: [1, 2, 9] });
      const bytes = encodeFile(spec, { legacyFrames });
      const { index } = decodeTail(bytes, bytes.length, { file: FILE });
      const out = new Uint8Array(pageSize);
      for (const [i, { pgno, offset, size }] of index.entries()) {
        const frame = bytes.subarray(offset, offset + size);
        const page = decodeFrame(
          frame,
          { file: FILE, pgno, pageSize, offset },
          out,
        );
        assert.equal(page, out);
        assert.deepEqual(page, spec.pages[i].data);
        assert.deepEqual(
          decodeFrame(frame, { file: FILE, pgno, pageSize }),
          spec.pages[i].data,
        );
      }
    }
  }
});

function frameOf(spec: FileSpec, i: number, legacyFrames = false): Uint8Array {
  const bytes = encodeFile(spec, { legacyFrames });
  const { offset, size } =
    decodeTail(bytes, bytes.length, { file: FILE }).index[i];
  return bytes.slice(offset, offset + size);
}

Deno.test("decodeFrame() rejects a page number mismatch", () => {
  const spec = incrementalSpec({ pgnos: [3] });
  const frame = frameOf(spec, 0);
  assertFrameError(
    frame,
    { pgno: 4, pageSize: 4096, offset: 100 },
    "expected page 4, found page 3 in the frame at offset 100",
  );
  frame.set([0, 0, 0, 0]);
  assertFrameError(frame, { pgno: 3, pageSize: 4096 }, "found page 0");
});

Deno.test("decodeFrame() rejects bad page header flags", () => {
  const frame = frameOf(incrementalSpec({ pgnos: [3] }), 0);
  frame[5] = 3;
  assertFrameError(frame, { pgno: 3, pageSize: 4096 }, "flags 0x0003");
});

Deno.test("decodeFrame() rejects the lock page", () => {
  const bytes = buildRawSpec(lockPageSpec());
  const { offset, size } =
    decodeTail(bytes, bytes.length, { file: FILE }).index[0];
  assertFrameError(bytes.subarray(offset, offset + size), {
    pgno: 16385,
    pageSize: 65536,
  }, "lock page");
});

Deno.test("decodeFrame() rejects a size prefix that disagrees with the frame", () => {
  const frame = frameOf(incrementalSpec({ pgnos: [3] }), 0);
  const view = new DataView(frame.buffer);
  view.setUint32(6, view.getUint32(6) + 1);
  assertFrameError(frame, { pgno: 3, pageSize: 4096 }, "size prefix of");
  assertFrameError(
    frame.subarray(0, 8),
    { pgno: 3, pageSize: 4096 },
    "shorter than its 10-byte page header",
  );
  assertFrameError(
    frame.subarray(0, 5),
    { pgno: 3, pageSize: 4096 },
    "shorter than a page header",
  );
});

Deno.test("decodeFrame() rejects corrupt payloads", () => {
  const spec = incrementalSpec({ pgnos: [3] });
  const frame = frameOf(spec, 0);
  frame.fill(0xff, 10);
  const err = assertFrameError(
    frame,
    { pgno: 3, pageSize: 4096 },
    "corrupt LZ4 block",
  );
  assert.ok(err.cause instanceof Lz4Error);
  const legacy = frameOf(spec, 0, true);
  assertFrameError(legacy.subarray(0, legacy.length - 1), {
    pgno: 3,
    pageSize: 4096,
  }, "LZ4 frame");
  assertFrameError(concat([legacy, new Uint8Array(1)]), {
    pgno: 3,
    pageSize: 4096,
  }, "in a");
});

Deno.test("decodeFrame() rejects a page of the wrong size", () => {
  const spec = incrementalSpec({ pgnos: [3] });
  const frame = frameOf(spec, 0);
  assertFrameError(
    frame,
    { pgno: 3, pageSize: 8192 },
    "decodes to 4096 bytes, expected 8192",
  );
  assertFrameError(frame, { pgno: 3, pageSize: 2048 });
  const legacy = frameOf(spec, 0, true);
  assertFrameError(
    legacy,
    { pgno: 3, pageSize: 8192 },
    "decodes to 4096 bytes, expected 8192",
  );
});

Deno.test("decodeFrame() rejects bad arguments with RangeError", () => {
  const frame = frameOf(incrementalSpec({ pgnos: [3] }), 0);
  assert.throws(
    () => decodeFrame(frame, { file: FILE, pgno: 3, pageSize: 1000 }),
    RangeError,
  );
  assert.throws(
    () =>
      decodeFrame(
        frame,
        { file: FILE, pgno: 3, pageSize: 4096 },
        new Uint8Array(10),
      ),
    RangeError,
  );
});
