/**
 * The 6-byte page header that starts every page frame (big-endian page
 * number, then flags), and the optional 4-byte compressed-size prefix that
 * follows it when {@linkcode PAGE_HEADER_FLAG_SIZE} is set. A header of all
 * zeros ends the page block.
 *
 * @module
 */

import {
  PAGE_HEADER_FLAG_MASK,
  PAGE_HEADER_FLAG_SIZE,
  PAGE_HEADER_SIZE,
  SIZE_PREFIX_SIZE,
} from "./constants.ts";
import { InvalidFrameError, TruncatedFileError } from "./errors.ts";

/** The fields of a page header. */
export interface PageHeader {
  /** One-based database page number; zero only in the block terminator. */
  pgno: number;
  /** Page header flags; only {@linkcode PAGE_HEADER_FLAG_SIZE} is valid. */
  flags: number;
}

/**
 * Encodes a page header, followed by the compressed-size prefix when the
 * header carries {@linkcode PAGE_HEADER_FLAG_SIZE}.
 *
 * @param header The page header.
 * @param payloadSize The size of the compressed payload; required with
 * {@linkcode PAGE_HEADER_FLAG_SIZE}, ignored without it.
 * @returns 6 bytes, or 10 with the size prefix.
 * @throws {RangeError} If a value does not fit its field, or the size is
 * missing.
 *
 * @example Usage
 * ```ts
 * import { encodePageHeader } from "./page_header.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   encodePageHeader({ pgno: 2, flags: 1 }, 300),
 *   new Uint8Array([0, 0, 0, 2, 0, 1, 0, 0, 1, 44]),
 * );
 * ```
 */
export function encodePageHeader(
  header: PageHeader,
  payloadSize?: number,
): Uint8Array {
  const { pgno, flags } = header;
  if (!Number.isInteger(pgno) || pgno < 0 || pgno > 0xffffffff) {
    throw new RangeError(
      `Cannot encode page header: page number ${pgno} is not an unsigned 32-bit integer`,
    );
  }
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xffff) {
    throw new RangeError(
      `Cannot encode page header: flags ${flags} are not an unsigned 16-bit integer`,
    );
  }
  const length = pageHeaderLength(flags);
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  view.setUint32(0, pgno);
  view.setUint16(4, flags);
  if (length > PAGE_HEADER_SIZE) {
    if (
      payloadSize === undefined || !Number.isInteger(payloadSize) ||
      payloadSize < 0 || payloadSize > 0xffffffff
    ) {
      throw new RangeError(
        `Cannot encode page header: payload size ${payloadSize} is not an unsigned 32-bit integer`,
      );
    }
    view.setUint32(PAGE_HEADER_SIZE, payloadSize);
  }
  return out;
}

/**
 * Returns how many bytes a page header with these flags occupies, its size
 * prefix included.
 *
 * @param flags The page header flags.
 * @returns 10 with {@linkcode PAGE_HEADER_FLAG_SIZE}, else 6.
 *
 * @example Usage
 * ```ts
 * import { pageHeaderLength } from "./page_header.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(pageHeaderLength(1), 10);
 * assert.equal(pageHeaderLength(0), 6);
 * ```
 */
export function pageHeaderLength(flags: number): number {
  return (flags & PAGE_HEADER_FLAG_SIZE) !== 0
    ? PAGE_HEADER_SIZE + SIZE_PREFIX_SIZE
    : PAGE_HEADER_SIZE;
}

/**
 * Decodes the page header at the start of `bytes`. Checks the length only;
 * call {@linkcode validatePageHeader} for the rules.
 *
 * @param bytes At least 6 bytes.
 * @param file The file name, for error messages.
 * @returns The page header.
 * @throws {TruncatedFileError} If `bytes` is shorter than 6 bytes.
 *
 * @example Usage
 * ```ts
 * import { decodePageHeader } from "./page_header.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   decodePageHeader(new Uint8Array([0, 0, 0, 7, 0, 1]), "a.ltx"),
 *   { pgno: 7, flags: 1 },
 * );
 * ```
 */
export function decodePageHeader(bytes: Uint8Array, file: string): PageHeader {
  if (bytes.length < PAGE_HEADER_SIZE) {
    throw new TruncatedFileError(
      file,
      `expected ${PAGE_HEADER_SIZE} page header bytes, found ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, PAGE_HEADER_SIZE);
  return { pgno: view.getUint32(0), flags: view.getUint16(4) };
}

/**
 * Checks a page header that is not the block terminator: the page number is
 * non-zero and no unknown flag is set (ltx.go `PageHeader.Validate`).
 *
 * @param header The page header.
 * @param file The file name, for error messages.
 * @throws {InvalidFrameError} If the page number is zero or a flag is unknown.
 *
 * @example Usage
 * ```ts
 * import { InvalidFrameError, validatePageHeader } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => validatePageHeader({ pgno: 3, flags: 4 }, "a.ltx"),
 *   InvalidFrameError,
 * );
 * ```
 */
export function validatePageHeader(header: PageHeader, file: string): void {
  if (header.pgno === 0) {
    throw new InvalidFrameError(
      file,
      `page header has flags ${hex16(header.flags)} but page number zero`,
    );
  }
  if ((header.flags & ~PAGE_HEADER_FLAG_MASK) !== 0) {
    throw new InvalidFrameError(
      file,
      `page ${header.pgno} has page header flags ${
        hex16(header.flags)
      }; only 0x0001 is valid`,
    );
  }
}

function hex16(v: number): string {
  return `0x${v.toString(16).padStart(4, "0")}`;
}
