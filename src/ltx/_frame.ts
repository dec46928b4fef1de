/**
 * Page frame payloads, shared by the streaming decoder and `decodeFrame`:
 * size bounds, the length of a legacy LZ4 frame (which carries no size
 * prefix, so its end is found by walking its block headers), and decoding a
 * payload into exactly one page.
 *
 * @module
 */

import { PAGE_HEADER_FLAG_SIZE } from "./constants.ts";
import { InvalidFrameError } from "./errors.ts";
import { decompressBlock, decompressFrame, Lz4Error } from "./lz4.ts";

/** Largest LZ4 block that `size` input bytes may compress to (LZ4_COMPRESSBOUND). */
export function lz4BlockBound(size: number): number {
  return size + Math.floor(size / 255) + 16;
}

/**
 * Largest legacy LZ4 frame accepted for one page: a block bound plus room for
 * the frame header (at most 19 bytes), block sizes and checksums, the end
 * mark and the content checksum.
 */
export function legacyFrameLimit(pageSize: number): number {
  return lz4BlockBound(pageSize) + 64;
}

const LZ4_FRAME_MAGIC = [0x04, 0x22, 0x4d, 0x18];

/**
 * Result of {@linkcode measureLz4Frame}: the frame's length, a reason it is
 * malformed, or `undefined` if `bytes` ends before the frame does.
 */
export type FrameMeasure = { length: number } | { error: string } | undefined;

/**
 * Finds the length of the LZ4 frame at the start of `bytes` from its framing
 * alone (descriptor, block sizes, end mark); the payload is not decoded.
 *
 * @param bytes Bytes starting at the frame.
 * @param limit The longest frame accepted.
 */
export function measureLz4Frame(
  bytes: Uint8Array,
  limit: number,
): FrameMeasure {
  const n = bytes.length;
  if (n < 7) return prefixError(bytes);
  const magicError = prefixError(bytes);
  if (magicError !== undefined) return magicError;
  const flg = bytes[4];
  const bd = bytes[5];
  if (flg >> 6 !== 1) {
    return { error: `LZ4 frame version ${flg >> 6} is not 1` };
  }
  if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) {
    return { error: "LZ4 frame descriptor has reserved bits set" };
  }
  const blockMaxCode = (bd >> 4) & 0x7;
  if (blockMaxCode < 4) {
    return { error: `LZ4 frame block size code ${blockMaxCode} is invalid` };
  }
  const blockMax = 0x10000 * 4 ** (blockMaxCode - 4);
  const blockChecksums = (flg & 0x10) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  let pos = 6 + ((flg & 0x08) !== 0 ? 8 : 0) + ((flg & 0x01) !== 0 ? 4 : 0) + 1;
  for (;;) {
    if (pos + 4 > n) return pos + 4 > limit ? tooLong(limit) : undefined;
    const size = bytes[pos] + bytes[pos + 1] * 0x100 +
      bytes[pos + 2] * 0x10000 +
      bytes[pos + 3] * 0x1000000;
    pos += 4;
    if (size === 0) break;
    const dataSize = size >= 0x80000000 ? size - 0x80000000 : size;
    if (dataSize > blockMax) {
      return {
        error:
          `LZ4 block of ${dataSize} bytes exceeds the frame's ${blockMax}-byte maximum`,
      };
    }
    pos += dataSize + (blockChecksums ? 4 : 0);
    if (pos > limit) return tooLong(limit);
  }
  if (contentChecksum) pos += 4;
  if (pos > limit) return tooLong(limit);
  return pos <= n ? { length: pos } : undefined;
}

function prefixError(bytes: Uint8Array): { error: string } | undefined {
  for (let i = 0; i < Math.min(4, bytes.length); i++) {
    if (bytes[i] !== LZ4_FRAME_MAGIC[i]) {
      return {
        error: "payload does not start with the LZ4 frame magic number",
      };
    }
  }
  return undefined;
}

function tooLong(limit: number): { error: string } {
  return {
    error: `LZ4 frame is longer than the ${limit}-byte limit for a page`,
  };
}

/** Where a frame is, for error messages. */
export interface FrameLocation {
  file: string;
  pgno: number;
  /** Offset of the frame in the file, when known. */
  offset?: number;
}

/** Describes a frame for an error message: `page 3 (frame at offset 100)`. */
export function describeFrame(where: FrameLocation): string {
  return where.offset === undefined
    ? `page ${where.pgno}`
    : `page ${where.pgno} (frame at offset ${where.offset})`;
}

/**
 * Decodes a frame payload into `out`, which is exactly one page long: an LZ4
 * block if `flags` carries the size flag, else a legacy LZ4 frame. The payload
 * must decode to exactly `out.length` bytes.
 *
 * @throws {InvalidFrameError} If the payload is corrupt or has the wrong size.
 */
export function decodePayload(
  payload: Uint8Array,
  flags: number,
  out: Uint8Array,
  where: FrameLocation,
): void {
  const pageSize = out.length;
  const fail = (detail: string, cause?: unknown): never => {
    throw new InvalidFrameError(
      where.file,
      `${describeFrame(where)} ${detail}`,
      cause === undefined ? undefined : { cause },
    );
  };
  if ((flags & PAGE_HEADER_FLAG_SIZE) !== 0) {
    let n = 0;
    try {
      n = decompressBlock(payload, out);
    } catch (err) {
      if (!(err instanceof Lz4Error)) throw err;
      fail(`has a corrupt LZ4 block: ${err.message}`, err);
    }
    if (n !== pageSize) {
      fail(`decodes to ${n} bytes, expected ${pageSize}`);
    }
    return;
  }
  const measure = measureLz4Frame(payload, legacyFrameLimit(pageSize));
  if (measure === undefined) fail("has an LZ4 frame that is cut short");
  else if ("error" in measure) {
    fail(`has a corrupt LZ4 frame: ${measure.error}`);
  } else if (measure.length !== payload.length) {
    fail(
      `has an LZ4 frame of ${measure.length} bytes in a ${payload.length}-byte payload`,
    );
  }
  let data: Uint8Array = out;
  try {
    data = decompressFrame(payload, pageSize);
  } catch (err) {
    if (!(err instanceof Lz4Error)) throw err;
    fail(`has a corrupt LZ4 frame: ${err.message}`, err);
  }
  if (data.length !== pageSize) {
    fail(`decodes to ${data.length} bytes, expected ${pageSize}`);
  }
  out.set(data);
}
