import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import lz4js from "lz4js";
import lz4jsXxh32 from "lz4js/xxh32.js";
import {
  compressBlock,
  compressFrame,
  decompressBlock,
  decompressFrame,
  Lz4Error,
} from "./lz4.ts";

// The system liblz4 (a dependency of apt on Debian), for cross-checks.
const liblz4 = Deno.dlopen("liblz4.so.1", {
  // int LZ4_compress_default(const char* src, char* dst, int srcSize, int dstCapacity)
  LZ4_compress_default: {
    parameters: ["buffer", "buffer", "i32", "i32"],
    result: "i32",
  },
  // int LZ4_compress_HC(const char* src, char* dst, int srcSize, int dstCapacity, int level)
  LZ4_compress_HC: {
    parameters: ["buffer", "buffer", "i32", "i32", "i32"],
    result: "i32",
  },
  // int LZ4_decompress_safe(const char* src, char* dst, int compressedSize, int dstCapacity)
  LZ4_decompress_safe: {
    parameters: ["buffer", "buffer", "i32", "i32"],
    result: "i32",
  },
  // size_t LZ4F_compressFrameBound(size_t srcSize, const LZ4F_preferences_t* prefs)
  LZ4F_compressFrameBound: { parameters: ["usize", "buffer"], result: "usize" },
  // size_t LZ4F_compressFrame(void* dst, size_t dstCapacity, const void* src, size_t srcSize, const LZ4F_preferences_t* prefs)
  LZ4F_compressFrame: {
    parameters: ["buffer", "usize", "buffer", "usize", "buffer"],
    result: "usize",
  },
  // unsigned LZ4F_isError(size_t code)
  LZ4F_isError: { parameters: ["usize"], result: "u32" },
  // size_t LZ4F_createDecompressionContext(LZ4F_dctx** dctxPtr, unsigned version)
  LZ4F_createDecompressionContext: {
    parameters: ["buffer", "u32"],
    result: "usize",
  },
  // size_t LZ4F_freeDecompressionContext(LZ4F_dctx* dctx)
  LZ4F_freeDecompressionContext: { parameters: ["pointer"], result: "usize" },
  // size_t LZ4F_decompress(LZ4F_dctx* dctx, void* dst, size_t* dstSizePtr, const void* src, size_t* srcSizePtr, const LZ4F_decompressOptions_t* opts)
  LZ4F_decompress: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "buffer", "pointer"],
    result: "usize",
  },
});
const LZ4F_VERSION = 100;

function libCompress(src: Uint8Array, hcLevel = 0): Uint8Array {
  const out = new Uint8Array(src.length + Math.floor(src.length / 255) + 16);
  const n = hcLevel > 0
    ? liblz4.symbols.LZ4_compress_HC(src, out, src.length, out.length, hcLevel)
    : liblz4.symbols.LZ4_compress_default(src, out, src.length, out.length);
  assert.ok(n > 0, "liblz4 compression failed");
  return out.slice(0, n);
}

/** LZ4_decompress_safe's result: the decoded bytes, or null if it refused. */
function libDecompress(src: Uint8Array, capacity: number): Uint8Array | null {
  const out = new Uint8Array(capacity);
  const n = liblz4.symbols.LZ4_decompress_safe(
    src,
    out,
    src.length,
    capacity,
  );
  return n < 0 ? null : out.subarray(0, n);
}

interface FramePrefs {
  /** 4 to 7: 64 KiB to 4 MiB. */
  blockSizeId: number;
  independent: boolean;
  contentChecksum: boolean;
  contentSize: boolean;
  blockChecksum: boolean;
}

function libCompressFrame(src: Uint8Array, prefs: FramePrefs): Uint8Array {
  // LZ4F_preferences_t: frameInfo {blockSizeID, blockMode,
  // contentChecksumFlag, frameType, u64 contentSize, dictID,
  // blockChecksumFlag}, compressionLevel, autoFlush, favorDecSpeed,
  // reserved[3]: 56 bytes.
  const raw = new Uint8Array(56);
  const view = new DataView(raw.buffer);
  view.setUint32(0, prefs.blockSizeId, true);
  view.setUint32(4, prefs.independent ? 1 : 0, true);
  view.setUint32(8, prefs.contentChecksum ? 1 : 0, true);
  view.setBigUint64(16, prefs.contentSize ? BigInt(src.length) : 0n, true);
  view.setUint32(28, prefs.blockChecksum ? 1 : 0, true);
  const bound = Number(
    liblz4.symbols.LZ4F_compressFrameBound(BigInt(src.length), raw),
  );
  const out = new Uint8Array(bound);
  const n = liblz4.symbols.LZ4F_compressFrame(
    out,
    BigInt(bound),
    src,
    BigInt(src.length),
    raw,
  );
  assert.equal(liblz4.symbols.LZ4F_isError(n), 0, "LZ4F_compressFrame failed");
  return out.slice(0, Number(n));
}

function libDecompressFrame(src: Uint8Array, capacity: number): Uint8Array {
  const ctxOut = new BigUint64Array(1);
  const rc = liblz4.symbols.LZ4F_createDecompressionContext(
    new Uint8Array(ctxOut.buffer),
    LZ4F_VERSION,
  );
  assert.equal(liblz4.symbols.LZ4F_isError(rc), 0);
  const ctx = Deno.UnsafePointer.create(ctxOut[0]);
  try {
    const out = new Uint8Array(capacity);
    const dstSize = new BigUint64Array([BigInt(capacity)]);
    const srcSize = new BigUint64Array([BigInt(src.length)]);
    const left = liblz4.symbols.LZ4F_decompress(
      ctx,
      out,
      new Uint8Array(dstSize.buffer),
      src,
      new Uint8Array(srcSize.buffer),
      null,
    );
    assert.equal(
      liblz4.symbols.LZ4F_isError(left),
      0,
      "LZ4F_decompress failed",
    );
    assert.equal(left, 0n, "LZ4F_decompress wants more input");
    assert.equal(srcSize[0], BigInt(src.length), "LZ4F_decompress left input");
    return out.slice(0, Number(dstSize[0]));
  } finally {
    liblz4.symbols.LZ4F_freeDecompressionContext(ctx);
  }
}

/** A seeded xorshift32 generator of numbers in [0, 1). */
function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function randomBytes(length: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = random() * 256;
  return bytes;
}

function text(length: number, seed: number): Uint8Array {
  const words =
    "the of and to in is was that for on with as by at from SELECT INSERT page btree cell overflow freelist journal wal litestream replica"
      .split(" ");
  const random = seededRandom(seed);
  let s = "";
  while (s.length < length) {
    s += words[Math.floor(random() * words.length)];
    s += random() < 0.1 ? ".\n" : " ";
  }
  return new TextEncoder().encode(s.slice(0, length));
}

/** A table leaf page of a real SQLite database, and its mostly empty page 1. */
function sqlitePages(): Uint8Array[] {
  const dir = Deno.makeTempDirSync();
  try {
    const db = new DatabaseSync(`${dir}/test.db`);
    db.exec(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, n INTEGER, r REAL)",
    );
    const insert = db.prepare("INSERT INTO t(name, n, r) VALUES (?, ?, ?)");
    for (let i = 0; i < 300; i++) insert.run(`row ${i} name`, i * 977, i / 3);
    db.close();
    const file = Deno.readFileSync(`${dir}/test.db`);
    return [file.slice(0, 4096), file.slice(4096, 8192)];
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

function repeating(length: number, pattern: number[]): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = pattern[i % pattern.length];
  return bytes;
}

const SAMPLES: Record<string, Uint8Array> = {
  "0 bytes": new Uint8Array(0),
  "1 byte": new Uint8Array([42]),
  "12 bytes": text(12, 1),
  "13 bytes": text(13, 2),
  "13 zero bytes": new Uint8Array(13),
  "14 bytes": repeating(14, [1, 2]),
  "4 KiB text": text(4096, 3),
  "4 KiB zeros": new Uint8Array(4096),
  "4 KiB random": randomBytes(4096, 4),
  "SQLite page 1": sqlitePages()[0],
  "SQLite leaf page": sqlitePages()[1],
  "64 KiB random": randomBytes(65536, 5),
  "64 KiB text": text(65536, 6),
  "period 3, 64 KiB + 1": repeating(65537, [7, 8, 9]),
  "period 70, 100 KiB": repeating(102400, [...text(70, 7)]),
  "1 MiB zeros": new Uint8Array(1 << 20),
  "200 KiB text": text(204800, 8),
};

/** Asserts that `fn` throws an Lz4Error whose message matches `message`. */
function assertLz4Error(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Lz4Error, `expected Lz4Error, got ${e}`);
    assert.match(e.message, message);
    return true;
  });
}

function decodeBlock(block: Uint8Array, capacity: number): Uint8Array {
  const out = new Uint8Array(capacity);
  return out.subarray(0, decompressBlock(block, out));
}

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const size = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// ---- blocks: round trips and cross-checks ----

Deno.test("compressBlock() round-trips through decompressBlock()", () => {
  for (const [name, sample] of Object.entries(SAMPLES)) {
    const block = compressBlock(sample);
    assert.ok(
      block.length <= sample.length + sample.length / 255 + 16,
      `${name}: bigger than the bound`,
    );
    assert.deepEqual(decodeBlock(block, sample.length), sample, name);
  }
});

Deno.test("compressBlock() compresses what is compressible", () => {
  assert.deepEqual([...compressBlock(new Uint8Array(0))], [0]);
  assert.ok(compressBlock(new Uint8Array(4096)).length < 32);
  assert.ok(compressBlock(SAMPLES["1 MiB zeros"]).length < 4200);
  assert.ok(compressBlock(SAMPLES["SQLite leaf page"]).length < 3000);
  assert.ok(compressBlock(SAMPLES["period 70, 100 KiB"]).length < 600);
});

Deno.test("compressBlock() output decodes with liblz4", () => {
  for (const [name, sample] of Object.entries(SAMPLES)) {
    const block = compressBlock(sample);
    assert.deepEqual(libDecompress(block, sample.length), sample, name);
  }
});

Deno.test("decompressBlock() decodes liblz4 output, fast and HC", () => {
  for (const [name, sample] of Object.entries(SAMPLES)) {
    for (const level of [0, 9]) {
      const block = libCompress(sample, level);
      assert.deepEqual(decodeBlock(block, sample.length), sample, name);
    }
  }
});

Deno.test("decompressBlock() decodes overlapping and long matches", () => {
  // `offset` literals, a match of each length back to the first of them,
  // then 12 literals (liblz4 wants 12 bytes after the last match start).
  for (const offset of [1, 2, 3, 4, 5]) {
    for (const length of [4, 5, 18, 19, 31, 32, 63, 64, 65, 300, 5000]) {
      const literals = [...text(offset, offset)];
      const ext: number[] = [];
      let rest = length - 4;
      const nibble = Math.min(rest, 15);
      if (rest >= 15) {
        rest -= 15;
        while (rest >= 255) {
          ext.push(255);
          rest -= 255;
        }
        ext.push(rest);
      }
      const block = concat(
        [(offset << 4) | nibble],
        literals,
        [offset, 0],
        ext,
        [0xc0],
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
      );
      const want = libDecompress(block, offset + length + 12);
      assert.ok(want, `liblz4 refused offset ${offset} length ${length}`);
      assert.deepEqual(
        decodeBlock(block, offset + length + 12),
        want,
        `offset ${offset}, length ${length}`,
      );
    }
  }
});

Deno.test("decompressBlock() returns the length when dst has room to spare", () => {
  const sample = SAMPLES["4 KiB text"];
  const out = new Uint8Array(5000);
  assert.equal(decompressBlock(compressBlock(sample), out), 4096);
  assert.deepEqual(out.subarray(0, 4096), sample);
});

Deno.test("decompressBlock() decodes into a view of a larger buffer", () => {
  const sample = SAMPLES["SQLite leaf page"];
  const buffer = new Uint8Array(4096 + 64).fill(0xee);
  const view = buffer.subarray(32, 32 + 4096);
  assert.equal(decompressBlock(libCompress(sample), view), 4096);
  assert.deepEqual(view, sample);
  assert.ok(buffer.subarray(0, 32).every((b) => b === 0xee));
  assert.ok(buffer.subarray(32 + 4096).every((b) => b === 0xee));
});

// ---- blocks: malformed input ----

Deno.test("decompressBlock() rejects an empty block", () => {
  assertLz4Error(() => decodeBlock(new Uint8Array(0), 10), /^Block is empty$/);
});

Deno.test("decompressBlock() rejects offset 0", () => {
  const block = new Uint8Array([0x14, 97, 0, 0, 0x00]);
  assertLz4Error(() => decodeBlock(block, 100), /byte 2 has offset 0$/);
});

Deno.test("decompressBlock() rejects an offset before the output start", () => {
  // Two literals, then a match 3 back.
  const block = new Uint8Array([0x20, 97, 98, 3, 0, 0x00]);
  assertLz4Error(
    () => decodeBlock(block, 100),
    /offset 3, before the start of the output/,
  );
  // No literals at all: any offset is too far.
  assertLz4Error(
    () => decodeBlock(new Uint8Array([0x00, 1, 0, 0x00]), 100),
    /offset 1, before the start/,
  );
});

Deno.test("decompressBlock() rejects a literal run past the end of the block", () => {
  assertLz4Error(
    () => decodeBlock(new Uint8Array([0x50, 1, 2, 3]), 100),
    /Literal run of 5 bytes at byte 1 runs past the end of the block/,
  );
  // Length from extension bytes.
  assertLz4Error(
    () => decodeBlock(concat([0xf0, 255, 10], new Uint8Array(200)), 1000),
    /Literal run of 280 bytes/,
  );
});

Deno.test("decompressBlock() rejects a literal run past the end of the output", () => {
  assertLz4Error(
    () => decodeBlock(new Uint8Array([0x50, 1, 2, 3, 4, 5]), 4),
    /Literal run of 5 bytes at byte 1 overflows the output: 4 bytes left/,
  );
});

Deno.test("decompressBlock() rejects a match past the end of the output", () => {
  const block = new Uint8Array([0x1f, 97, 1, 0, 200, 0x00]);
  assertLz4Error(
    () => decodeBlock(block, 100),
    /Match of 219 bytes at byte 5 overflows the output: 99 bytes left/,
  );
  // Exactly full is fine.
  assert.equal(decodeBlock(block, 220).length, 220);
});

Deno.test("decompressBlock() rejects a truncated literal length", () => {
  assertLz4Error(
    () => decodeBlock(new Uint8Array([0xf0, 255, 255]), 2000),
    /ends inside a literal length at byte 3/,
  );
});

Deno.test("decompressBlock() rejects a truncated match offset", () => {
  assertLz4Error(
    () => decodeBlock(new Uint8Array([0x14, 97, 1]), 100),
    /ends inside a match offset at byte 2/,
  );
});

Deno.test("decompressBlock() rejects a truncated match length", () => {
  assertLz4Error(
    () => decodeBlock(new Uint8Array([0x1f, 97, 1, 0, 255]), 1000),
    /ends inside a match length at byte 5/,
  );
});

Deno.test("decompressBlock() rejects a block that ends with a match", () => {
  assertLz4Error(
    () => decodeBlock(new Uint8Array([0x10, 97, 1, 0]), 100),
    /ends after the match ending at byte 4: the last sequence must be literals only/,
  );
});

Deno.test("decompressBlock() rejects trailing garbage", () => {
  const sample = SAMPLES["4 KiB text"];
  const block = compressBlock(sample);
  for (const tail of [[0], [0, 0], [1, 0], [0x10, 0x61], [0xff, 0xff, 0xff]]) {
    assert.throws(
      () => decodeBlock(concat(block, tail), sample.length),
      Lz4Error,
      `tail ${tail}`,
    );
  }
});

Deno.test("decompressBlock() rejects a truncated block or decodes it short", () => {
  // A block cut right after a literal run is itself a valid block: only
  // the output length tells, which is why callers check it.
  const sample = SAMPLES["SQLite leaf page"];
  const block = libCompress(sample);
  let refused = 0;
  for (let n = 0; n < block.length; n++) {
    try {
      const out = decodeBlock(block.subarray(0, n), sample.length);
      assert.ok(out.length < sample.length, `${n} bytes`);
    } catch (e) {
      assert.ok(e instanceof Lz4Error, `${n} bytes: ${e}`);
      refused++;
    }
  }
  assert.ok(refused > block.length / 2);
});

Deno.test("decompressBlock() survives random mutations", () => {
  const random = seededRandom(0x1234);
  const blocks = [
    "13 bytes",
    "4 KiB text",
    "4 KiB zeros",
    "SQLite leaf page",
    "SQLite page 1",
    "period 3, 64 KiB + 1",
  ].flatMap((name) => {
    const sample = SAMPLES[name];
    return [compressBlock(sample), libCompress(sample, 9)].map((block) => ({
      sample,
      block,
    }));
  });
  let decoded = 0;
  let refused = 0;
  for (let round = 0; round < 4000; round++) {
    const { sample, block } = blocks[round % blocks.length];
    const mutated = mutate(block, random);
    // Decode into the middle of a guarded buffer.
    const capacity = sample.length + Math.floor(random() * 3) - 1;
    if (capacity < 0) continue;
    const guarded = new Uint8Array(capacity + 64).fill(0xa5);
    const dst = guarded.subarray(32, 32 + capacity);
    let n: number;
    try {
      n = decompressBlock(mutated, dst);
    } catch (e) {
      assert.ok(e instanceof Lz4Error, `round ${round}: ${e}`);
      refused++;
      continue;
    }
    decoded++;
    assert.ok(n >= 0 && n <= capacity, `round ${round}: ${n} bytes`);
    assert.ok(guarded.subarray(0, 32).every((b) => b === 0xa5));
    assert.ok(guarded.subarray(32 + capacity).every((b) => b === 0xa5));
    // Whatever liblz4 also accepts must decode the same.
    const theirs = libDecompress(mutated, capacity);
    if (theirs) {
      assert.deepEqual(dst.subarray(0, n), theirs, `round ${round}`);
    }
  }
  assert.ok(
    decoded > 0 && refused > 0,
    `${decoded} decoded, ${refused} refused`,
  );
});

/** Returns a copy of `bytes` with a few random changes. */
function mutate(bytes: Uint8Array, random: () => number): Uint8Array {
  let out: Uint8Array = bytes.slice();
  const changes = 1 + Math.floor(random() * 3);
  for (let c = 0; c < changes; c++) {
    const at = Math.floor(random() * out.length);
    switch (Math.floor(random() * 5)) {
      case 0:
        out[at] ^= 1 << Math.floor(random() * 8);
        break;
      case 1:
        out[at] = random() * 256;
        break;
      case 2:
        out[at] = random() < 0.5 ? 0 : 255;
        break;
      case 3:
        out = out.slice(0, at);
        break;
      default:
        out = concat(out, randomBytes(1 + random() * 8, at + 1));
    }
    if (out.length === 0) break;
  }
  return out;
}

// ---- frames ----

const FRAME_SAMPLES = [
  "0 bytes",
  "1 byte",
  "13 bytes",
  "4 KiB text",
  "4 KiB random",
  "SQLite leaf page",
  "64 KiB random",
  "period 3, 64 KiB + 1",
  "200 KiB text",
  "1 MiB zeros",
];

Deno.test("compressFrame() round-trips through decompressFrame()", () => {
  for (const name of FRAME_SAMPLES) {
    const sample = SAMPLES[name];
    assert.deepEqual(
      decompressFrame(compressFrame(sample), sample.length),
      sample,
      name,
    );
  }
});

Deno.test("compressFrame() writes the header pierrec/lz4 writes for ltx", () => {
  // Magic, FLG (version 1, independent blocks, content checksum), BD (64
  // KiB), header checksum; no block, end mark, xxHash32 of nothing.
  assert.deepEqual(
    [...compressFrame(new Uint8Array(0))],
    [
      0x04,
      0x22,
      0x4d,
      0x18,
      0x64,
      0x40,
      0xa7,
      0,
      0,
      0,
      0,
      0x05,
      0x5d,
      0xcc,
      0x02,
    ],
  );
});

Deno.test("compressFrame() splits input in 64 KiB blocks", () => {
  const sample = SAMPLES["200 KiB text"];
  const frame = compressFrame(sample);
  const view = new DataView(frame.buffer, frame.byteOffset);
  let p = 7;
  let blocks = 0;
  for (let word = view.getUint32(p, true); word !== 0; blocks++) {
    p += 4 + (word & 0x7fffffff);
    word = view.getUint32(p, true);
  }
  assert.equal(blocks, Math.ceil(sample.length / 65536));
  assert.equal(p + 8, frame.length);
});

Deno.test("compressFrame() stores incompressible blocks uncompressed", () => {
  const sample = SAMPLES["4 KiB random"];
  const frame = compressFrame(sample);
  const word = new DataView(frame.buffer).getUint32(7, true);
  assert.equal(word, (0x80000000 | 4096) >>> 0);
  assert.deepEqual(frame.subarray(11, 11 + 4096), sample);
  // A compressible block is not.
  const text = compressFrame(SAMPLES["4 KiB text"]);
  assert.equal(new DataView(text.buffer).getUint32(7, true) >>> 31, 0);
});

Deno.test("compressFrame() output decodes with liblz4 and lz4js", () => {
  for (const name of FRAME_SAMPLES) {
    const sample = SAMPLES[name];
    const frame = compressFrame(sample);
    assert.deepEqual(libDecompressFrame(frame, sample.length), sample, name);
    assert.deepEqual(
      new Uint8Array(lz4js.decompress(frame, sample.length)),
      sample,
      name,
    );
  }
});

Deno.test("decompressFrame() decodes lz4js frames", () => {
  for (const name of FRAME_SAMPLES) {
    const sample = SAMPLES[name];
    const frame = new Uint8Array(lz4js.compress(sample));
    assert.deepEqual(decompressFrame(frame, sample.length), sample, name);
  }
});

Deno.test("decompressFrame() decodes liblz4 frames with every option", () => {
  const samples = ["0 bytes", "4 KiB text", "200 KiB text", "64 KiB random"];
  for (const name of samples) {
    const sample = SAMPLES[name];
    for (let options = 0; options < 64; options++) {
      const prefs: FramePrefs = {
        blockSizeId: 4 + (options & 3),
        independent: (options & 4) !== 0,
        contentChecksum: (options & 8) !== 0,
        contentSize: (options & 16) !== 0,
        blockChecksum: (options & 32) !== 0,
      };
      const frame = libCompressFrame(sample, prefs);
      assert.deepEqual(
        decompressFrame(frame, sample.length),
        sample,
        `${name}, ${JSON.stringify(prefs)}`,
      );
    }
  }
});

Deno.test("decompressFrame() follows matches across linked blocks", () => {
  // 64 KiB linked blocks of a 70-byte period: later blocks copy from
  // earlier ones.
  const sample = SAMPLES["period 70, 100 KiB"];
  const prefs = {
    blockSizeId: 4,
    independent: false,
    contentChecksum: true,
    contentSize: false,
    blockChecksum: false,
  };
  const frame = libCompressFrame(sample, prefs);
  assert.ok(frame.length < 1000, "no cross-block match was made");
  assert.deepEqual(decompressFrame(frame, sample.length), sample);
  // The same second block, read as independent, points before its start.
  const independent = frame.slice();
  independent[4] |= 0x20;
  independent[6] = headerChecksum(independent.subarray(4, 6));
  assertLz4Error(
    () => decompressFrame(independent, sample.length),
    /before the start of the output/,
  );
});

/** The frame header checksum byte, from lz4js's xxHash32. */
function headerChecksum(descriptor: Uint8Array): number {
  return (lz4jsXxh32.hash(0, descriptor, 0, descriptor.length) >>> 8) & 0xff;
}

/** xxHash32 of `bytes` as four little-endian bytes, from lz4js. */
function xxh32Bytes(bytes: Uint8Array): number[] {
  const h = lz4jsXxh32.hash(0, bytes, 0, bytes.length) >>> 0;
  return [h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff, h >>> 24];
}

/**
 * Builds a frame by hand: FLG, BD, optional content size, blocks as
 * `[sizeWord, data]` pairs, then the end mark and any trailer bytes.
 */
function frame(
  flg: number,
  bd: number,
  blocks: [number, number[] | Uint8Array][],
  trailer: number[] = [],
  contentSize?: number,
): Uint8Array {
  const descriptor = [flg, bd];
  if (contentSize !== undefined) {
    const size = new Uint8Array(8);
    new DataView(size.buffer).setBigUint64(0, BigInt(contentSize), true);
    descriptor.push(...size);
  }
  const hc = headerChecksum(new Uint8Array(descriptor));
  const parts: (number[] | Uint8Array)[] = [
    [0x04, 0x22, 0x4d, 0x18, ...descriptor, hc],
  ];
  for (const [word, data] of blocks) {
    parts.push(
      [word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, word >>> 24],
      data,
    );
  }
  parts.push([0, 0, 0, 0], trailer);
  return concat(...parts);
}

const HELLO = new TextEncoder().encode("hello, world");
/** "hello, world" as one LZ4 block (literals only). */
const HELLO_BLOCK = [0xc0, ...HELLO];

Deno.test("decompressFrame() decodes a hand-made frame", () => {
  assert.deepEqual(
    decompressFrame(frame(0x60, 0x40, [[13, HELLO_BLOCK]]), 100),
    HELLO,
  );
  // Uncompressed block, content size, content checksum.
  assert.deepEqual(
    decompressFrame(
      frame(
        0x6c,
        0x70,
        [[(0x80000000 | 12) >>> 0, HELLO]],
        xxh32Bytes(HELLO),
        12,
      ),
      12,
    ),
    HELLO,
  );
});

Deno.test("decompressFrame() rejects a bad magic number", () => {
  const bad = compressFrame(HELLO);
  bad[0] = 0x05;
  assertLz4Error(
    () => decompressFrame(bad, 100),
    /magic number 0x184d2205: expected 0x184d2204/,
  );
  const skippable = concat([0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0]);
  assertLz4Error(() => decompressFrame(skippable, 100), /magic number/);
});

Deno.test("decompressFrame() rejects a truncated header", () => {
  const good = compressFrame(HELLO);
  for (let n = 0; n < 7; n++) {
    assertLz4Error(
      () => decompressFrame(good.subarray(0, n), 100),
      /too short/,
    );
  }
  const sized = frame(0x68, 0x40, [[13, HELLO_BLOCK]], [], 12);
  assertLz4Error(
    () => decompressFrame(sized.subarray(0, 12), 100),
    /too short/,
  );
});

Deno.test("decompressFrame() rejects a wrong version", () => {
  assertLz4Error(
    () => decompressFrame(frame(0xa0, 0x40, [[13, HELLO_BLOCK]]), 100),
    /version 2: expected 1/,
  );
});

Deno.test("decompressFrame() rejects reserved descriptor bits", () => {
  for (const [flg, bd] of [[0x62, 0x40], [0x60, 0xc0], [0x60, 0x41]]) {
    assertLz4Error(
      () => decompressFrame(frame(flg, bd, [[13, HELLO_BLOCK]]), 100),
      /reserved bits/,
    );
  }
});

Deno.test("decompressFrame() rejects a frame that needs a dictionary", () => {
  assertLz4Error(
    () => decompressFrame(frame(0x61, 0x40, [[13, HELLO_BLOCK]]), 100),
    /dictionary/,
  );
});

Deno.test("decompressFrame() rejects a bad block maximum size", () => {
  for (const bd of [0x00, 0x10, 0x30]) {
    assertLz4Error(
      () => decompressFrame(frame(0x60, bd, [[13, HELLO_BLOCK]]), 100),
      /block maximum size \d: expected 4-7/,
    );
  }
});

Deno.test("decompressFrame() rejects a wrong header checksum", () => {
  const bad = frame(0x60, 0x40, [[13, HELLO_BLOCK]]);
  bad[6] ^= 1;
  assertLz4Error(() => decompressFrame(bad, 100), /header checksum/);
});

Deno.test("decompressFrame() rejects a frame without an end mark", () => {
  const good = frame(0x60, 0x40, [[13, HELLO_BLOCK]]);
  for (let n = good.length - 4; n < good.length; n++) {
    assertLz4Error(
      () => decompressFrame(good.subarray(0, n), 100),
      /before its end mark|runs past the end of the frame/,
    );
  }
  assertLz4Error(
    () => decompressFrame(good.subarray(0, 7), 100),
    /Frame ends at byte 7 before its end mark/,
  );
});

Deno.test("decompressFrame() rejects a block running past the frame", () => {
  const bad = frame(0x60, 0x40, [[14, HELLO_BLOCK]]);
  assertLz4Error(
    () => decompressFrame(bad.subarray(0, bad.length - 4), 100),
    /Block at byte 7 of the frame runs past the end of the frame/,
  );
});

Deno.test("decompressFrame() rejects a block bigger than the maximum", () => {
  const big = new Uint8Array(65537);
  const bad = frame(0x60, 0x40, [[(0x80000000 | big.length) >>> 0, big]]);
  assertLz4Error(
    () => decompressFrame(bad, 1 << 20),
    /is 65537 bytes: more than the frame's maximum of 65536/,
  );
});

Deno.test("decompressFrame() rejects a compressed block decoding past the maximum", () => {
  // 65,537 zeros from one 64 KiB-maximum block.
  const block = compressBlock(new Uint8Array(65537));
  const bad = frame(0x60, 0x40, [[block.length, block]]);
  assertLz4Error(
    () => decompressFrame(bad, 1 << 20),
    /Block at byte 7 of the frame: .*overflows the output/,
  );
});

Deno.test("decompressFrame() rejects a corrupt block", () => {
  const bad = frame(0x60, 0x40, [[6, [0x10, 97, 0, 0, 0x00, 0]]]);
  assertLz4Error(
    () => decompressFrame(bad, 100),
    /Block at byte 7 of the frame: Match at byte 2 has offset 0/,
  );
});

Deno.test("decompressFrame() checks block checksums", () => {
  const sum = xxh32Bytes(new Uint8Array(HELLO_BLOCK));
  const good = frame(0x70, 0x40, [[13, [...HELLO_BLOCK, ...sum]]]);
  assert.deepEqual(decompressFrame(good, 100), HELLO);
  const bad = good.slice();
  bad[11 + 13] ^= 0x80;
  assertLz4Error(
    () => decompressFrame(bad, 100),
    /has checksum 0x.*: computed 0x/,
  );
  assertLz4Error(
    () => decompressFrame(good.subarray(0, 11 + 13 + 2), 100),
    /runs past the end of the frame/,
  );
});

Deno.test("decompressFrame() checks the content checksum", () => {
  const good = compressFrame(SAMPLES["4 KiB text"]);
  const bad = good.slice();
  bad[bad.length - 1] ^= 1;
  assertLz4Error(
    () => decompressFrame(bad, 4096),
    /content checksum is 0x.*: computed 0x/,
  );
  assertLz4Error(
    () => decompressFrame(good.subarray(0, good.length - 2), 4096),
    /ends before its content checksum/,
  );
});

Deno.test("decompressFrame() rejects data after the frame", () => {
  const good = compressFrame(HELLO);
  assertLz4Error(
    () => decompressFrame(concat(good, [0]), 100),
    /followed by 1 bytes of other data/,
  );
  assertLz4Error(
    () => decompressFrame(concat(good, good), 100),
    /followed by/,
  );
});

Deno.test("decompressFrame() checks the content size", () => {
  assertLz4Error(
    () => decompressFrame(frame(0x68, 0x40, [[13, HELLO_BLOCK]], [], 11), 100),
    /overflows the output: 11 bytes left \(11 bytes expected in all\)/,
  );
  assertLz4Error(
    () => decompressFrame(frame(0x68, 0x40, [[13, HELLO_BLOCK]], [], 13), 100),
    /decodes to 12 bytes: its header says 13/,
  );
});

Deno.test("decompressFrame() refuses more output than maxSize", () => {
  const sample = SAMPLES["200 KiB text"];
  const good = compressFrame(sample);
  assert.equal(decompressFrame(good, sample.length).length, sample.length);
  assertLz4Error(
    () => decompressFrame(good, sample.length - 1),
    /expected in all/,
  );
  // Uncompressed blocks and declared content sizes too.
  const random = compressFrame(SAMPLES["4 KiB random"]);
  assertLz4Error(() => decompressFrame(random, 4095), /4095 bytes expected/);
  assertLz4Error(
    () => decompressFrame(frame(0x68, 0x40, [[13, HELLO_BLOCK]], [], 12), 11),
    /content size is 12 bytes: more than the 11 allowed/,
  );
  assertLz4Error(
    () =>
      decompressFrame(
        frame(0x68, 0x40, [[13, HELLO_BLOCK]], [], Number.MAX_SAFE_INTEGER),
        1 << 30,
      ),
    /more than the 1073741824 allowed/,
  );
});

Deno.test("decompressFrame() rejects a bad maxSize", () => {
  for (const maxSize of [-1, 1.5, NaN, Infinity]) {
    assert.throws(
      () => decompressFrame(compressFrame(HELLO), maxSize),
      RangeError,
    );
  }
});

Deno.test("decompressFrame() survives random mutations", () => {
  const random = seededRandom(0x5678);
  const cases = ["13 bytes", "4 KiB text", "SQLite leaf page", "4 KiB random"]
    .flatMap((name) => {
      const sample = SAMPLES[name];
      return [
        compressFrame(sample),
        libCompressFrame(sample, {
          blockSizeId: 4,
          independent: false,
          contentChecksum: true,
          contentSize: true,
          blockChecksum: true,
        }),
      ].map((frame) => ({ sample, frame }));
    });
  let decoded = 0;
  let refused = 0;
  for (let round = 0; round < 4000; round++) {
    const { sample, frame } = cases[round % cases.length];
    const mutated = mutate(frame, random);
    let out: Uint8Array;
    try {
      out = decompressFrame(mutated, sample.length);
    } catch (e) {
      assert.ok(e instanceof Lz4Error, `round ${round}: ${e}`);
      refused++;
      continue;
    }
    // Checksums cover the content: what decodes is the original.
    decoded++;
    assert.deepEqual(out, sample, `round ${round}`);
  }
  assert.ok(refused > 3000, `${decoded} decoded, ${refused} refused`);
});
