/**
 * The page index that follows the page block: for each page, in page number
 * order, three Go Uvarints (page number, absolute offset of its frame, frame
 * size), then a zero page number, then an 8-byte big-endian field holding the
 * byte length of the entries including that zero.
 *
 * @module
 */

import { INDEX_SIZE_FIELD_SIZE } from "./constants.ts";
import { InvalidIndexError } from "./errors.ts";
import { readUvarint, uvarintLength, writeUvarint } from "./_uvarint.ts";

/** Where one page's frame lies in an LTX file. */
export interface PageIndexEntry {
  /** One-based database page number. */
  pgno: number;
  /** Offset of the frame from the start of the file, in bytes. */
  offset: number;
  /** Size of the frame (page header, size prefix, payload), in bytes. */
  size: number;
}

/**
 * Encodes a page index: the entries as given, the zero terminator and the
 * size field.
 *
 * @param entries The entries, in ascending page number order.
 * @returns The encoded index.
 * @throws {RangeError} If a value is not a safe non-negative integer or a
 * page number is zero.
 *
 * @example Usage
 * ```ts
 * import { decodePageIndex, encodePageIndex } from "./page_index.ts";
 * import assert from "node:assert/strict";
 *
 * const entries = [{ pgno: 1, offset: 100, size: 300 }];
 * const bytes = encodePageIndex(entries);
 * assert.deepEqual(decodePageIndex(bytes, "a.ltx"), entries);
 * ```
 */
export function encodePageIndex(
  entries: readonly PageIndexEntry[],
): Uint8Array {
  let length = 1;
  for (const { pgno, offset, size } of entries) {
    if (pgno === 0) {
      throw new RangeError("Cannot encode page index: page number zero");
    }
    length += uvarintLength(pgno) + uvarintLength(offset) + uvarintLength(size);
  }
  const out = new Uint8Array(length + INDEX_SIZE_FIELD_SIZE);
  let pos = 0;
  for (const { pgno, offset, size } of entries) {
    pos = writeUvarint(out, pos, pgno);
    pos = writeUvarint(out, pos, offset);
    pos = writeUvarint(out, pos, size);
  }
  pos = writeUvarint(out, pos, 0);
  new DataView(out.buffer).setBigUint64(pos, BigInt(length));
  return out;
}

/**
 * Decodes a page index occupying exactly `bytes` (entries, zero terminator,
 * size field). Checks that every varint is complete and in range, page
 * numbers are 32-bit and strictly ascending, the terminator is followed by
 * exactly the size field, and the size field matches. It does not check
 * offsets against a file; the decoder does.
 *
 * @param bytes The encoded index.
 * @param file The file name, for error messages.
 * @returns The entries.
 * @throws {InvalidIndexError} If the index is malformed.
 *
 * @example Usage
 * ```ts
 * import { decodePageIndex, InvalidIndexError } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => decodePageIndex(new Uint8Array([1, 2]), "a.ltx"), InvalidIndexError);
 * ```
 */
export function decodePageIndex(
  bytes: Uint8Array,
  file: string,
): PageIndexEntry[] {
  const end = bytes.length - INDEX_SIZE_FIELD_SIZE;
  if (end < 1) {
    throw new InvalidIndexError(
      file,
      `index of ${bytes.length} bytes is too short for a terminator and size field`,
    );
  }
  const entries: PageIndexEntry[] = [];
  let pos = 0;
  const read = (what: string): number => {
    const { value, length } = readUvarint(bytes, pos, end);
    if (length === 0) {
      throw new InvalidIndexError(
        file,
        `index ends inside the ${what} of entry ${entries.length}`,
      );
    }
    if (length < 0 || value > Number.MAX_SAFE_INTEGER) {
      throw new InvalidIndexError(
        file,
        `${what} of entry ${entries.length} at index byte ${pos} is out of range`,
      );
    }
    pos += length;
    return value;
  };
  let prev = 0;
  for (;;) {
    const pgno = read("page number");
    if (pgno === 0) break;
    if (pgno > 0xffffffff) {
      throw new InvalidIndexError(
        file,
        `entry ${entries.length} has page number ${pgno}, beyond 32 bits`,
      );
    }
    if (pgno <= prev) {
      throw new InvalidIndexError(
        file,
        `entry ${entries.length} has page number ${pgno} after ${prev}; entries must ascend`,
      );
    }
    const offset = read("offset");
    const size = read("size");
    entries.push({ pgno, offset, size });
    prev = pgno;
  }
  if (pos !== end) {
    throw new InvalidIndexError(
      file,
      `${end - pos} bytes follow the index terminator before the size field`,
    );
  }
  const sizeField = new DataView(bytes.buffer, bytes.byteOffset + end, 8)
    .getBigUint64(0);
  if (sizeField !== BigInt(end)) {
    throw new InvalidIndexError(
      file,
      `size field says ${sizeField} bytes, entries take ${end}`,
    );
  }
  return entries;
}
