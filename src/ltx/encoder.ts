/**
 * Encoding LTX v3 files as superfly/ltx's encoder writes them: the header,
 * page frames (page header with flag 0x0001, 4-byte compressed size, LZ4
 * block), a zero page header, the page index and the trailer with the file
 * checksum. {@linkcode Encoder} is the state machine (header, pages, closed)
 * that emits the file piece by piece; {@linkcode encodeFile} builds a whole
 * file in memory.
 *
 * @module
 */

import { CHECKSUM_FLAG, Crc64, lockPgno, pageChecksum } from "./checksum.ts";
import {
  PAGE_HEADER_FLAG_SIZE,
  PAGE_HEADER_SIZE,
  TRAILER_CHECKSUM_OFFSET,
  TRAILER_SIZE,
} from "./constants.ts";
import {
  ChecksumMismatchError,
  InvalidFrameError,
  InvalidTrailerError,
} from "./errors.ts";
import {
  encodeHeader,
  hasNoChecksum,
  type Header,
  isSnapshot,
  validateHeader,
} from "./header.ts";
import { encodePageHeader } from "./page_header.ts";
import { encodePageIndex, type PageIndexEntry } from "./page_index.ts";
import { encodeTrailer, type Trailer, validateTrailer } from "./trailer.ts";
import { formatFileName } from "./txid.ts";
import { compressBlock, compressFrame } from "./lz4.ts";

/** Options of {@linkcode Encoder} and {@linkcode encodeFile}. */
export interface EncoderOptions {
  /**
   * The file name, for error messages. Defaults to the name the header's
   * TXID range gives (`<min>-<max>.ltx`).
   */
  file?: string;
  /**
   * Write pages as Litestream up to v0.5.15 did: page header flags 0 and an
   * LZ4 frame without a size prefix. For tests of the decoder; default false.
   */
  legacyFrames?: boolean;
}

/**
 * An LTX encoder: a state machine that takes the header, then pages in
 * ascending order, then the post-apply checksum, and returns the bytes of
 * the file as it goes. The file checksum is computed as the bytes pass.
 *
 * It refuses, with an {@linkcode LtxError}, what ltx's encoder refuses: an
 * invalid header; the lock page; a page beyond the commit size; pages out of
 * order or, in a snapshot, not consecutive from page 1; a post-apply checksum
 * breaking the trailer rules, or other than the empty checksum for an empty
 * database. It also refuses a snapshot that stops before its commit size, and
 * a snapshot whose post-apply checksum is not the checksum of its pages.
 * Calls out of order throw a plain `Error`.
 *
 * @example Usage
 * ```ts
 * import { decodeFile, Encoder, type Header } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const header: Header = {
 *   flags: 0x2, pageSize: 512, commit: 3, minTxid: 5n, maxTxid: 5n,
 *   timestamp: Date.now(), preApplyChecksum: 0n, walOffset: 0n, walSize: 0n,
 *   walSalt1: 0, walSalt2: 0, nodeId: 0n,
 * };
 * const encoder = new Encoder();
 * const chunks = [
 *   encoder.encodeHeader(header),
 *   encoder.encodePage(3, new Uint8Array(512).fill(3)),
 *   encoder.close(0n),
 * ];
 * const bytes = new Uint8Array(encoder.bytesWritten);
 * let pos = 0;
 * for (const chunk of chunks) {
 *   bytes.set(chunk, pos);
 *   pos += chunk.length;
 * }
 * const file = decodeFile(bytes, { file: "a.ltx" });
 * assert.deepEqual(file.pages.map((p) => p.pgno), [3]);
 * ```
 */
export class Encoder {
  #options: EncoderOptions;
  #file = "";
  #state: "header" | "page" | "closed" = "header";
  #hash = new Crc64();
  #offset = 0;
  #header: Header | undefined = undefined;
  #lockPgno = 0;
  #prevPgno = 0;
  #databaseChecksum = CHECKSUM_FLAG;
  #index: PageIndexEntry[] = [];
  #trailer: Trailer | undefined = undefined;

  /**
   * @param options The file name for errors, and the frame encoding.
   */
  constructor(options: EncoderOptions = {}) {
    this.#options = options;
  }

  /** Bytes returned so far. */
  get bytesWritten(): number {
    return this.#offset;
  }

  /** The page index so far: one entry per page encoded. */
  get index(): readonly PageIndexEntry[] {
    return this.#index;
  }

  /** The trailer, with the file checksum, once closed; `undefined` before. */
  get trailer(): Trailer | undefined {
    return this.#trailer;
  }

  /**
   * Validates and encodes the header. Must come first.
   *
   * @param header The header.
   * @returns The header's 100 bytes.
   * @throws {InvalidHeaderError} If the header breaks a header rule.
   * @throws {Error} If the header was already encoded.
   */
  encodeHeader(header: Header): Uint8Array {
    if (this.#state !== "header") {
      throw new Error(
        `Cannot encode LTX header: the ${
          this.#state === "closed"
            ? "encoder is closed"
            : "header is already encoded"
        }`,
      );
    }
    this.#file = this.#options.file ?? defaultName(header);
    validateHeader(header, this.#file);
    const bytes = encodeHeader(header);
    this.#header = { ...header };
    this.#lockPgno = lockPgno(header.pageSize);
    this.#hash.update(bytes);
    this.#offset += bytes.length;
    this.#state = "page";
    return bytes;
  }

  /**
   * Compresses and encodes one page.
   *
   * @param pgno The page number; above the previous one (in a snapshot, the
   * next one, skipping the lock page) and at most the commit size.
   * @param data The page, exactly `pageSize` bytes.
   * @returns The page frame.
   * @throws {InvalidFrameError} If the page breaks a page rule.
   * @throws {RangeError} If `data` is not one page long.
   * @throws {Error} Before the header or after close.
   */
  encodePage(pgno: number, data: Uint8Array): Uint8Array {
    this.#checkState("encode page");
    const header = this.#header!;
    const file = this.#file;
    if (data.length !== header.pageSize) {
      throw new RangeError(
        `Cannot encode page ${pgno} of LTX file "${file}": it has ${data.length} bytes, expected ${header.pageSize}`,
      );
    }
    if (!Number.isInteger(pgno) || pgno < 1 || pgno > 0xffffffff) {
      throw new InvalidFrameError(
        file,
        `page number ${pgno} is not an integer from 1 to 4294967295`,
      );
    }
    if (pgno > header.commit) {
      throw new InvalidFrameError(
        file,
        `page ${pgno} is beyond the commit size of ${header.commit} pages`,
      );
    }
    if (pgno === this.#lockPgno) {
      throw new InvalidFrameError(
        file,
        `page ${pgno} is the lock page, which is never stored`,
      );
    }
    const prev = this.#prevPgno;
    if (isSnapshot(header)) {
      const expected = this.#nextSnapshotPgno();
      if (pgno !== expected) {
        throw new InvalidFrameError(
          file,
          `page ${pgno} follows page ${prev} in a snapshot; expected page ${expected}`,
        );
      }
    } else if (pgno <= prev) {
      throw new InvalidFrameError(
        file,
        `page ${pgno} follows page ${prev}; pages must be in ascending order`,
      );
    }

    const legacy = this.#options.legacyFrames === true;
    const payload = legacy ? compressFrame(data) : compressBlock(data);
    const head = encodePageHeader(
      { pgno, flags: legacy ? 0 : PAGE_HEADER_FLAG_SIZE },
      payload.length,
    );
    const frame = new Uint8Array(head.length + payload.length);
    frame.set(head);
    frame.set(payload, head.length);
    // The file checksum covers the page header and size prefix as stored,
    // then the page itself instead of the payload.
    this.#hash.update(head).update(data);
    this.#index.push({ pgno, offset: this.#offset, size: frame.length });
    this.#offset += frame.length;
    this.#prevPgno = pgno;
    if (isSnapshot(header) && !hasNoChecksum(header)) {
      this.#databaseChecksum = CHECKSUM_FLAG |
        (this.#databaseChecksum ^ pageChecksum(pgno, data));
    }
    return frame;
  }

  /**
   * Ends the page block and encodes the page index and trailer. Closing
   * again returns no bytes.
   *
   * @param postApplyChecksum The database checksum after applying the file;
   * zero when the header turns checksums off.
   * @returns The zero page header, the page index and the trailer.
   * @throws {InvalidFrameError} If a snapshot stops before its commit size.
   * @throws {InvalidTrailerError} If the checksum breaks a trailer rule.
   * @throws {ChecksumMismatchError} If a snapshot's checksum is not the
   * database checksum of its pages.
   * @throws {Error} Before the header.
   */
  close(postApplyChecksum: bigint): Uint8Array {
    if (this.#state === "closed") return new Uint8Array(0);
    this.#checkState("close");
    const header = this.#header!;
    const file = this.#file;
    if (isSnapshot(header) && this.#nextSnapshotPgno() <= header.commit) {
      throw new InvalidFrameError(
        file,
        `snapshot ends after page ${this.#prevPgno}; its commit size is ${header.commit} pages`,
      );
    }
    if (!hasNoChecksum(header)) {
      if (header.commit === 0 && postApplyChecksum !== CHECKSUM_FLAG) {
        throw new InvalidTrailerError(
          file,
          "post-apply checksum of an empty database must be the flag bit alone",
        );
      }
      if (isSnapshot(header) && postApplyChecksum !== this.#databaseChecksum) {
        throw new ChecksumMismatchError(file, {
          kind: "post-apply",
          expected: postApplyChecksum,
          actual: this.#databaseChecksum,
        });
      }
    }
    const zero = new Uint8Array(PAGE_HEADER_SIZE);
    const index = encodePageIndex(this.#index);
    const partial = encodeTrailer({ postApplyChecksum, fileChecksum: 0n });
    this.#hash.update(zero).update(index).update(
      partial.subarray(0, TRAILER_CHECKSUM_OFFSET),
    );
    const trailer = {
      postApplyChecksum,
      fileChecksum: this.#hash.digest() | CHECKSUM_FLAG,
    };
    validateTrailer(trailer, { file, header });
    const tail = new Uint8Array(zero.length + index.length + TRAILER_SIZE);
    tail.set(index, zero.length);
    tail.set(encodeTrailer(trailer), zero.length + index.length);
    this.#trailer = trailer;
    this.#offset += tail.length;
    this.#state = "closed";
    return tail;
  }

  #checkState(action: string): void {
    if (this.#state === "header") {
      throw new Error(`Cannot ${action}: the LTX header must be encoded first`);
    }
    if (this.#state === "closed") {
      throw new Error(
        `Cannot ${action}: the encoder of LTX file "${this.#file}" is closed`,
      );
    }
  }

  #nextSnapshotPgno(): number {
    const next = this.#prevPgno + 1;
    return next === this.#lockPgno ? next + 1 : next;
  }
}

function defaultName(header: Header): string {
  try {
    return formatFileName(header.minTxid, header.maxTxid);
  } catch {
    return "(new LTX file)";
  }
}

/** What {@linkcode encodeFile} writes. */
export interface FileContent {
  /** The header. */
  header: Header;
  /** The pages, in the order the encoder requires. */
  pages: Iterable<{ pgno: number; data: Uint8Array }>;
  /** Database checksum after applying the file; zero if not tracked. */
  postApplyChecksum: bigint;
}

/**
 * Encodes a whole LTX file in memory (see {@linkcode Encoder} for the rules
 * enforced).
 *
 * @param content The header, pages and post-apply checksum.
 * @param options The file name for errors, and the frame encoding.
 * @returns The file's bytes.
 * @throws {LtxError} A subclass naming the first rule broken.
 *
 * @example Usage
 * ```ts
 * import { databaseChecksum, decodeFile, encodeFile, type Header } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const header: Header = {
 *   flags: 0, pageSize: 4096, commit: 2, minTxid: 1n, maxTxid: 1n,
 *   timestamp: Date.now(), preApplyChecksum: 0n, walOffset: 0n, walSize: 0n,
 *   walSalt1: 0, walSalt2: 0, nodeId: 0n,
 * };
 * const pages = [1, 2].map((pgno) => ({ pgno, data: new Uint8Array(4096).fill(pgno) }));
 * const postApplyChecksum = databaseChecksum(pages.map((p) => [p.pgno, p.data] as const), 4096);
 *
 * const bytes = encodeFile({ header, pages, postApplyChecksum });
 * assert.equal(decodeFile(bytes, { file: "a.ltx" }).postApplyChecksum, postApplyChecksum);
 * ```
 */
export function encodeFile(
  content: FileContent,
  options?: EncoderOptions,
): Uint8Array {
  const encoder = new Encoder(options);
  const chunks = [encoder.encodeHeader(content.header)];
  for (const { pgno, data } of content.pages) {
    chunks.push(encoder.encodePage(pgno, data));
  }
  chunks.push(encoder.close(content.postApplyChecksum));
  const out = new Uint8Array(encoder.bytesWritten);
  let pos = 0;
  for (const chunk of chunks) {
    out.set(chunk, pos);
    pos += chunk.length;
  }
  return out;
}
