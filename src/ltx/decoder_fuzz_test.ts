/**
 * Seeded, bounded fuzzing of the decoders: valid files are mutated (bits
 * flipped, truncated, ranges spliced in, cut out, duplicated or overwritten)
 * and every decoder must either refuse the result with an LtxError or, for a
 * whole-file decode, return exactly what the original decoded to.
 */

import assert from "node:assert/strict";
import {
  decodeFile,
  decodeFrame,
  Decoder,
  decodeTail,
  indexTailLength,
  type LtxFile,
} from "./decoder.ts";
import { encodeFile } from "./encoder.ts";
import { LtxError } from "./errors.ts";
import {
  concat,
  incrementalSpec,
  LITESTREAM_FILE,
  random,
  snapshotSpec,
} from "./_test_util.ts";

const FILE = "ltx/0/0000000000000007-0000000000000009.ltx";
const ITERATIONS = 4000;

interface Base {
  bytes: Uint8Array;
  decoded: LtxFile;
}

function bases(): Base[] {
  const files = [
    encodeFile(snapshotSpec({ pageSize: 512, commit: 4 })),
    encodeFile(snapshotSpec({ pageSize: 1024, commit: 3 }), {
      legacyFrames: true,
    }),
    encodeFile(
      incrementalSpec({ pageSize: 512, pgnos: [2, 5, 6], noChecksum: true }),
    ),
    encodeFile(
      incrementalSpec({ pageSize: 4096, pgnos: [1, 300], commit: 301 }),
    ),
    LITESTREAM_FILE.slice(),
  ];
  return files.map((bytes) => ({
    bytes,
    decoded: decodeFile(bytes, { file: FILE }),
  }));
}

type Rng = () => number;

function int(next: Rng, n: number): number {
  return Math.floor(next() * n);
}

/** Applies one random mutation; never returns the input array itself. */
function mutate(next: Rng, bytes: Uint8Array, others: Base[]): Uint8Array {
  const out = bytes.slice();
  const n = out.length;
  const at = int(next, n);
  const len = 1 + int(next, Math.min(64, n));
  switch (int(next, 7)) {
    case 0: { // Flip a few bits.
      const flips = 1 + int(next, 8);
      for (let i = 0; i < flips; i++) out[int(next, n)] ^= 1 << int(next, 8);
      return out;
    }
    case 1: // Truncate.
      return out.slice(0, int(next, n));
    case 2: // Overwrite a range with random bytes, zeros or ones.
    {
      const kind = int(next, 3);
      for (let i = at; i < Math.min(n, at + len); i++) {
        out[i] = kind === 0 ? int(next, 256) : kind === 1 ? 0 : 0xff;
      }
      return out;
    }
    case 3: // Cut a range out.
      return concat([out.subarray(0, at), out.subarray(at + len)]);
    case 4: // Duplicate a range.
      return concat([out.subarray(0, at + len), out.subarray(at)]);
    case 5: { // Splice in a range of another valid file.
      const other = others[int(next, others.length)].bytes;
      const from = int(next, other.length);
      const piece = other.subarray(from, from + len);
      return int(next, 2) === 0
        ? concat([out.subarray(0, at), piece, out.subarray(at)])
        : concat([out.subarray(0, at), piece, out.subarray(at + piece.length)]);
    }
    default: { // Set one byte to a boundary value.
      const values = [0, 1, 0x7f, 0x80, 0xfe, 0xff];
      out[at] = values[int(next, values.length)];
      return out;
    }
  }
}

function outcome(fn: () => unknown): { value?: unknown; error?: LtxError } {
  try {
    return { value: fn() };
  } catch (err) {
    if (!(err instanceof LtxError)) {
      throw new Error(`Expected an LtxError, got ${err}`, { cause: err });
    }
    assert.equal(err.file, FILE);
    assert.ok(err.message.includes(`"${FILE}"`), err.message);
    return { error: err };
  }
}

function decodeChunked(bytes: Uint8Array, next: Rng): LtxFile {
  const pages: LtxFile["pages"] = [];
  const decoder = new Decoder({
    file: FILE,
    onPage: (pgno, data) => pages.push({ pgno, data }),
  });
  for (let i = 0; i < bytes.length;) {
    const size = 1 + int(next, 600);
    decoder.write(bytes.subarray(i, i + size));
    i += size;
  }
  return { ...decoder.end(), pages };
}

Deno.test("decodeFile() and Decoder accept mutated files only if unchanged", () => {
  const next = random(0x1a7f);
  const all = bases();
  let accepted = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const base = all[int(next, all.length)];
    let bytes = mutate(next, base.bytes, all);
    if (int(next, 4) === 0) bytes = mutate(next, bytes, all);
    const whole = outcome(() => decodeFile(bytes, { file: FILE }));
    const streamed = outcome(() => decodeChunked(bytes, next));
    if (whole.error === undefined) {
      accepted++;
      assert.deepEqual(whole.value, base.decoded, `iteration ${i}`);
      assert.deepEqual(streamed.value, base.decoded, `iteration ${i}`);
    } else {
      assert.ok(streamed.error !== undefined, `iteration ${i}`);
      assert.equal(streamed.error.constructor, whole.error.constructor);
      assert.equal(streamed.error.message, whole.error.message);
    }
  }
  // Most mutations must be refused; a few (an identical overwrite) are not.
  assert.ok(accepted < ITERATIONS / 10, `accepted ${accepted}`);
});

Deno.test("decodeTail() and decodeFrame() throw only LtxErrors on mutated files", () => {
  const next = random(0x5eed);
  const all = bases();
  for (let i = 0; i < ITERATIONS; i++) {
    const base = all[int(next, all.length)];
    let bytes = mutate(next, base.bytes, all);
    if (int(next, 4) === 0) bytes = mutate(next, bytes, all);
    const size = bytes.length;
    outcome(() =>
      indexTailLength(bytes.subarray(Math.max(0, size - 24)), size, FILE)
    );
    const tailStart = int(next, size + 1);
    const tail = outcome(() =>
      decodeTail(bytes.subarray(tailStart), size, {
        file: FILE,
        header: int(next, 2) === 0 ? base.decoded.header : undefined,
      })
    );
    const { pageSize } = base.decoded.header;
    const out = new Uint8Array(pageSize);
    const entries = [
      ...base.decoded.index,
      ...((tail.value as { index?: typeof base.decoded.index })?.index ?? []),
    ];
    for (const { pgno, offset, size: frameSize } of entries) {
      const frame = bytes.subarray(offset, offset + frameSize);
      outcome(() =>
        decodeFrame(frame, { file: FILE, pgno, pageSize, offset }, out)
      );
      // The same frame misread by a page number or page size.
      outcome(() =>
        decodeFrame(frame, { file: FILE, pgno: pgno + 1, pageSize })
      );
      outcome(() =>
        decodeFrame(frame, { file: FILE, pgno, pageSize: pageSize * 2 })
      );
    }
  }
});
