/**
 * Errors the LTX codec throws for bad files. Every one carries the name of the
 * file it is about, and its message names the file and the problem. Callers
 * branch on the subclass; {@linkcode LtxError} catches them all.
 *
 * Mistakes of the caller (an `out` buffer of the wrong size, a negative file
 * size) are not file problems and throw built-in errors (`RangeError`).
 *
 * @module
 */

import { formatChecksum } from "./checksum.ts";

/** Base class of every error about the content of an LTX file. */
export class LtxError extends Error {
  /** The file the error is about, as the caller named it. */
  readonly file: string;

  /**
   * @param file The file the error is about.
   * @param message The whole message, naming the file and the problem.
   * @param options Standard error options.
   */
  constructor(file: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LtxError";
    this.file = file;
  }
}

/** The file ends before a section it must contain is complete. */
export class TruncatedFileError extends LtxError {
  /**
   * @param file The file the error is about.
   * @param detail What was expected and what was found.
   * @param options Standard error options.
   *
   * @example Usage
   * ```ts
   * import { TruncatedFileError } from "./errors.ts";
   * import assert from "node:assert/strict";
   *
   * const err = new TruncatedFileError("a.ltx", "expected 100 header bytes, found 40");
   * assert.equal(err.message, 'Truncated LTX file "a.ltx": expected 100 header bytes, found 40');
   * ```
   */
  constructor(file: string, detail: string, options?: ErrorOptions) {
    super(file, `Truncated LTX file "${file}": ${detail}`, options);
    this.name = "TruncatedFileError";
  }
}

/** The header has a wrong magic number or breaks a header rule. */
export class InvalidHeaderError extends LtxError {
  /**
   * @param file The file the error is about.
   * @param detail The field at fault and its value.
   * @param options Standard error options.
   */
  constructor(file: string, detail: string, options?: ErrorOptions) {
    super(file, `Invalid header in LTX file "${file}": ${detail}`, options);
    this.name = "InvalidHeaderError";
  }
}

/**
 * A page frame is bad: unknown page header flags, pages out of order or
 * repeated, the lock page present, a page beyond the commit size, a corrupt
 * LZ4 payload (the LZ4 error is the `cause`), a page that does not decode to
 * exactly one page, or a page number other than the one asked for.
 */
export class InvalidFrameError extends LtxError {
  /**
   * @param file The file the error is about.
   * @param detail The page, where its frame is, and what is wrong.
   * @param options Standard error options.
   */
  constructor(file: string, detail: string, options?: ErrorOptions) {
    super(file, `Invalid page frame in LTX file "${file}": ${detail}`, options);
    this.name = "InvalidFrameError";
  }
}

/**
 * The page index is bad: its size field points outside the file, an entry is
 * malformed or out of order, or an entry disagrees with the frames.
 */
export class InvalidIndexError extends LtxError {
  /**
   * @param file The file the error is about.
   * @param detail What is wrong, with the values at fault.
   * @param options Standard error options.
   */
  constructor(file: string, detail: string, options?: ErrorOptions) {
    super(file, `Invalid page index in LTX file "${file}": ${detail}`, options);
    this.name = "InvalidIndexError";
  }
}

/**
 * The trailer breaks a trailer rule (a post-apply checksum where the header
 * says none is tracked, a checksum without its flag bit), or bytes follow it.
 */
export class InvalidTrailerError extends LtxError {
  /**
   * @param file The file the error is about.
   * @param detail What is wrong, with the values at fault.
   * @param options Standard error options.
   */
  constructor(file: string, detail: string, options?: ErrorOptions) {
    super(file, `Invalid trailer in LTX file "${file}": ${detail}`, options);
    this.name = "InvalidTrailerError";
  }
}

/** Which checksum of a file disagreed with its content. */
export type ChecksumKind = "file" | "post-apply";

/** Options of {@linkcode ChecksumMismatchError}. */
export interface ChecksumMismatchOptions extends ErrorOptions {
  /** The file checksum, or a snapshot's post-apply database checksum. */
  kind: ChecksumKind;
  /** The checksum stored in the file. */
  expected: bigint;
  /** The checksum computed from the file's content. */
  actual: bigint;
}

/**
 * A checksum stored in the file disagrees with the one computed from its
 * content: the file checksum, or a snapshot's post-apply checksum.
 */
export class ChecksumMismatchError extends LtxError {
  /** Which checksum disagreed. */
  readonly kind: ChecksumKind;
  /** The checksum stored in the file. */
  readonly expected: bigint;
  /** The checksum computed from the file's content. */
  readonly actual: bigint;

  /**
   * @param file The file the error is about.
   * @param options Which checksum, the stored and the computed value.
   *
   * @example Usage
   * ```ts
   * import { ChecksumMismatchError } from "./errors.ts";
   * import assert from "node:assert/strict";
   *
   * const err = new ChecksumMismatchError("a.ltx", {
   *   kind: "file",
   *   expected: 0x8000000000000001n,
   *   actual: 0x8000000000000002n,
   * });
   * assert.equal(
   *   err.message,
   *   'Checksum mismatch in LTX file "a.ltx": file checksum is "8000000000000001", computed "8000000000000002"',
   * );
   * ```
   */
  constructor(file: string, options: ChecksumMismatchOptions) {
    const { kind, expected, actual, ...rest } = options;
    super(
      file,
      `Checksum mismatch in LTX file "${file}": ${kind} checksum is "${
        formatSafely(expected)
      }", computed "${formatSafely(actual)}"`,
      rest,
    );
    this.name = "ChecksumMismatchError";
    this.kind = kind;
    this.expected = expected;
    this.actual = actual;
  }
}

function formatSafely(c: bigint): string {
  return c >= 0n && c <= 0xffffffffffffffffn ? formatChecksum(c) : String(c);
}
