/**
 * The 16-byte trailer that ends an LTX file: the database checksum after
 * applying the file, then the file checksum.
 *
 * @module
 */

import { CHECKSUM_FLAG, formatChecksum } from "./checksum.ts";
import { TRAILER_CHECKSUM_OFFSET, TRAILER_SIZE } from "./constants.ts";
import { InvalidTrailerError, TruncatedFileError } from "./errors.ts";
import { hasNoChecksum, type Header } from "./header.ts";

/** The fields of an LTX trailer. */
export interface Trailer {
  /** Database checksum after applying the file; zero if not tracked. */
  postApplyChecksum: bigint;
  /** CRC-64/ISO of the file's logical content, flag bit set. */
  fileChecksum: bigint;
}

/**
 * Encodes a trailer into its 16 bytes.
 *
 * @param trailer The trailer.
 * @returns The encoded trailer.
 * @throws {RangeError} If a checksum is not an unsigned 64-bit integer.
 *
 * @example Usage
 * ```ts
 * import { decodeTrailer, encodeTrailer } from "./trailer.ts";
 * import assert from "node:assert/strict";
 *
 * const trailer = { postApplyChecksum: 0n, fileChecksum: 1n << 63n };
 * assert.deepEqual(decodeTrailer(encodeTrailer(trailer), "a.ltx"), trailer);
 * ```
 */
export function encodeTrailer(trailer: Trailer): Uint8Array {
  const out = new Uint8Array(TRAILER_SIZE);
  const view = new DataView(out.buffer);
  for (
    const [offset, value] of [
      [0, trailer.postApplyChecksum],
      [TRAILER_CHECKSUM_OFFSET, trailer.fileChecksum],
    ] as const
  ) {
    if (
      typeof value !== "bigint" || value < 0n || value > 0xffffffffffffffffn
    ) {
      throw new RangeError(
        `Cannot encode LTX trailer: checksum ${value} is not an unsigned 64-bit integer`,
      );
    }
    view.setBigUint64(offset, value);
  }
  return out;
}

/**
 * Decodes the trailer at the start of `bytes`. Checks the length only; call
 * {@linkcode validateTrailer} for the rules.
 *
 * @param bytes At least 16 bytes.
 * @param file The file name, for error messages.
 * @returns The trailer.
 * @throws {TruncatedFileError} If `bytes` is shorter than 16 bytes.
 *
 * @example Usage
 * ```ts
 * import { decodeTrailer, TruncatedFileError } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => decodeTrailer(new Uint8Array(8), "a.ltx"), TruncatedFileError);
 * ```
 */
export function decodeTrailer(bytes: Uint8Array, file: string): Trailer {
  if (bytes.length < TRAILER_SIZE) {
    throw new TruncatedFileError(
      file,
      `expected ${TRAILER_SIZE} trailer bytes, found ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, TRAILER_SIZE);
  return {
    postApplyChecksum: view.getBigUint64(0),
    fileChecksum: view.getBigUint64(TRAILER_CHECKSUM_OFFSET),
  };
}

/** Options of {@linkcode validateTrailer}. */
export interface ValidateTrailerOptions {
  /** The file name, for error messages. */
  file: string;
  /**
   * The file's header. Without it only the file checksum is checked, as when
   * a reader has fetched the tail of a file but not its header.
   */
  header?: Pick<Header, "flags">;
}

/**
 * Checks a trailer against the rules of ltx.go `Trailer.Validate`: the file
 * checksum is non-zero with its flag bit set; the post-apply checksum is zero
 * when the header says checksums are not tracked, else non-zero with its flag
 * bit set.
 *
 * @param trailer The trailer.
 * @param options The file name, and the header if known.
 * @throws {InvalidTrailerError} Naming the first rule the trailer breaks.
 *
 * @example Usage
 * ```ts
 * import { InvalidTrailerError, validateTrailer } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => validateTrailer({ postApplyChecksum: 0n, fileChecksum: 0n }, { file: "a.ltx" }),
 *   InvalidTrailerError,
 * );
 * ```
 */
export function validateTrailer(
  trailer: Trailer,
  options: ValidateTrailerOptions,
): void {
  const { file, header } = options;
  const post = trailer.postApplyChecksum;
  if (header !== undefined) {
    if (hasNoChecksum(header)) {
      if (post !== 0n) {
        throw new InvalidTrailerError(
          file,
          `post-apply checksum is "${
            formatChecksum(post)
          }"; it must be zero when checksums are not tracked`,
        );
      }
    } else if (post === 0n) {
      throw new InvalidTrailerError(
        file,
        "post-apply checksum is zero; it is required when checksums are tracked",
      );
    } else if ((post & CHECKSUM_FLAG) === 0n) {
      throw new InvalidTrailerError(
        file,
        `post-apply checksum "${
          formatChecksum(post)
        }" lacks its flag bit (bit 63)`,
      );
    }
  }
  if (trailer.fileChecksum === 0n) {
    throw new InvalidTrailerError(
      file,
      "file checksum is zero; it is required",
    );
  }
  if ((trailer.fileChecksum & CHECKSUM_FLAG) === 0n) {
    throw new InvalidTrailerError(
      file,
      `file checksum "${
        formatChecksum(trailer.fileChecksum)
      }" lacks its flag bit (bit 63)`,
    );
  }
}
