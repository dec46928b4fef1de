/**
 * Decoding LTX v3 files, three ways:
 *
 * - whole files or streams, verifying everything: {@linkcode decodeFile} (bytes
 *   in memory), {@linkcode decodeStream} (a `ReadableStream`) and the
 *   {@linkcode Decoder} state machine under both, fed chunk by chunk, which
 *   holds at most one frame and one index entry at a time;
 * - the page index from the tail of a file, as a remote reader fetches it:
 *   {@linkcode indexTailLength}, then {@linkcode decodeTail};
 * - one page frame given its place from the index: {@linkcode decodeFrame}.
 *
 * @module
 */

import { CHECKSUM_FLAG, Crc64, lockPgno, pageChecksum } from "./checksum.ts";
import {
  HEADER_SIZE,
  INDEX_SIZE_FIELD_SIZE,
  PAGE_HEADER_FLAG_SIZE,
  PAGE_HEADER_SIZE,
  TRAILER_CHECKSUM_OFFSET,
  TRAILER_SIZE,
} from "./constants.ts";
import {
  ChecksumMismatchError,
  InvalidFrameError,
  InvalidIndexError,
  InvalidTrailerError,
  TruncatedFileError,
} from "./errors.ts";
import {
  decodeHeader,
  hasNoChecksum,
  type Header,
  isSnapshot,
  isValidPageSize,
  validateHeader,
} from "./header.ts";
import {
  decodePageHeader,
  type PageHeader,
  pageHeaderLength,
  validatePageHeader,
} from "./page_header.ts";
import { decodePageIndex, type PageIndexEntry } from "./page_index.ts";
import { decodeTrailer, validateTrailer } from "./trailer.ts";
import {
  decodePayload,
  describeFrame,
  legacyFrameLimit,
  lz4BlockBound,
  measureLz4Frame,
} from "./_frame.ts";
import { readUvarint } from "./_uvarint.ts";

/** What a verified LTX file says, apart from its pages. */
export interface LtxSummary {
  /** The validated header. */
  header: Header;
  /** The page index, which matched the frames. */
  index: PageIndexEntry[];
  /** Database checksum after applying the file; zero if not tracked. */
  postApplyChecksum: bigint;
  /** The file checksum, which matched the content. */
  fileChecksum: bigint;
}

/** One decoded page. */
export interface LtxPage {
  /** One-based page number. */
  pgno: number;
  /** The page, exactly `header.pageSize` bytes. */
  data: Uint8Array;
}

/** A verified LTX file with its pages, from {@linkcode decodeFile}. */
export interface LtxFile extends LtxSummary {
  /** The pages in ascending page number order. */
  pages: LtxPage[];
}

/** Options of {@linkcode Decoder}. */
export interface DecoderOptions {
  /** The file name, for error messages. */
  file: string;
  /**
   * Called with each page as soon as it is decoded. The pages are verified
   * only when {@linkcode Decoder.end} returns: discard them if it throws.
   * `data` is a fresh array that the decoder does not touch again.
   */
  onPage?: (pgno: number, data: Uint8Array) => void;
}

type State =
  | "header"
  | "page"
  | "index"
  | "indexSize"
  | "trailer"
  | "done"
  | "ended"
  | "failed";

const FIXED_TAIL_SIZE = INDEX_SIZE_FIELD_SIZE + TRAILER_SIZE;
/** Header, zero page header, one-byte index terminator, size field, trailer. */
const MIN_FILE_SIZE = HEADER_SIZE + PAGE_HEADER_SIZE + 1 + FIXED_TAIL_SIZE;

/**
 * A streaming LTX decoder: a state machine (header, pages, index, size field,
 * trailer) fed chunks of any size with {@linkcode Decoder.write}. It checks
 * each section as soon as it is complete and hands each page to `onPage`;
 * {@linkcode Decoder.end} then requires the file to be complete and returns
 * the summary. The file checksum is computed as the bytes pass, so the whole
 * file is never held. After the first error every call throws that error.
 *
 * Checks: a valid header; page header flags; pages in strictly ascending
 * order, none beyond the commit size, never the lock page, and, in a
 * snapshot, every page from 1 to the commit size; each payload decoding to
 * exactly one page; index entries equal to the frames (page number, offset,
 * size) in number and order; the index size field; the trailer rules; the
 * file checksum; and, in a snapshot with checksums tracked, the post-apply
 * checksum against the database checksum of its pages.
 *
 * @example Usage
 * ```ts
 * import { Decoder, encodeFile, type Header } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const header: Header = {
 *   flags: 0x2, pageSize: 512, commit: 1, minTxid: 1n, maxTxid: 1n,
 *   timestamp: 0, preApplyChecksum: 0n, walOffset: 0n, walSize: 0n,
 *   walSalt1: 0, walSalt2: 0, nodeId: 0n,
 * };
 * const bytes = encodeFile({
 *   header,
 *   pages: [{ pgno: 1, data: new Uint8Array(512).fill(7) }],
 *   postApplyChecksum: 0n,
 * });
 *
 * const seen: number[] = [];
 * const decoder = new Decoder({ file: "a.ltx", onPage: (pgno) => seen.push(pgno) });
 * for (let i = 0; i < bytes.length; i += 10) decoder.write(bytes.subarray(i, i + 10));
 * const summary = decoder.end();
 * assert.deepEqual(seen, [1]);
 * assert.equal(summary.header.commit, 1);
 * ```
 */
export class Decoder {
  #file: string;
  #onPage: ((pgno: number, data: Uint8Array) => void) | undefined;
  #state: State = "header";
  #error: unknown = undefined;
  #summary: LtxSummary | undefined = undefined;
  /** Why the input so far is incomplete, for the error `end()` throws. */
  #shortBy = `expected ${HEADER_SIZE} header bytes, found 0`;

  /** Bytes received but not consumed yet: `#buf[#start..#end]`. */
  #buf = new Uint8Array(0);
  #start = 0;
  #end = 0;
  /** Offset in the file of the next byte to consume. */
  #offset = 0;

  #hash = new Crc64();
  /** The page buffer reused when there is no `onPage`. */
  #page: Uint8Array | undefined = undefined;
  #header: Header | undefined = undefined;
  #lockPgno = 0;
  #trackChecksum = false;
  #databaseChecksum = CHECKSUM_FLAG;
  #prevPgno = 0;
  #frames: PageIndexEntry[] = [];
  #indexStart = 0;
  #indexEntries = 0;

  /**
   * @param options The file name, and where to send pages.
   */
  constructor(options: DecoderOptions) {
    this.#file = options.file;
    this.#onPage = options.onPage;
  }

  /** The header, once decoded and validated; `undefined` before. */
  get header(): Header | undefined {
    return this.#header;
  }

  /**
   * Feeds the next chunk of the file.
   *
   * @param chunk The bytes; not retained after the call.
   * @throws {LtxError} A subclass naming the first problem found.
   * @throws {Error} If the decoder has ended.
   */
  write(chunk: Uint8Array): void {
    this.#checkUsable("write");
    try {
      if (this.#start === this.#end) {
        const used = this.#parse(chunk);
        this.#start = this.#end = 0;
        this.#append(chunk.subarray(used));
      } else {
        this.#append(chunk);
        this.#start += this.#parse(this.#buf.subarray(this.#start, this.#end));
      }
    } catch (err) {
      this.#fail(err);
    }
  }

  /**
   * Ends the input: the file must be complete and verified. Calling it again
   * returns the same summary.
   *
   * @returns The verified summary.
   * @throws {TruncatedFileError} If the input stopped before the trailer.
   * @throws {LtxError} The error an earlier call threw.
   */
  end(): LtxSummary {
    if (this.#state === "ended") return this.#summary!;
    if (this.#state === "failed") throw this.#error;
    if (this.#state !== "done") {
      this.#fail(new TruncatedFileError(this.#file, this.#shortBy));
    }
    this.#state = "ended";
    this.#buf = new Uint8Array(0);
    return this.#summary!;
  }

  #checkUsable(method: string): void {
    if (this.#state === "failed") throw this.#error;
    if (this.#state === "ended") {
      throw new Error(
        `Cannot ${method} LTX file "${this.#file}": decoder has ended`,
      );
    }
  }

  #fail(err: unknown): never {
    this.#state = "failed";
    this.#error = err;
    this.#buf = new Uint8Array(0);
    this.#start = this.#end = 0;
    throw err;
  }

  #append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const pending = this.#end - this.#start;
    if (this.#end + bytes.length > this.#buf.length) {
      const needed = pending + bytes.length;
      if (needed > this.#buf.length) {
        const grown = new Uint8Array(
          Math.max(needed, 2 * this.#buf.length, 4096),
        );
        grown.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = grown;
      } else {
        this.#buf.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = pending;
    }
    this.#buf.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  /** Consumes what it can of `view`; returns the number of bytes consumed. */
  #parse(view: Uint8Array): number {
    let pos = 0;
    for (;;) {
      const avail = view.length - pos;
      let used = 0;
      switch (this.#state) {
        case "header":
          used = this.#parseHeader(view.subarray(pos));
          break;
        case "page":
          used = this.#parsePage(view.subarray(pos));
          break;
        case "index":
          used = this.#parseIndexEntry(view.subarray(pos));
          break;
        case "indexSize":
          used = this.#parseIndexSize(view.subarray(pos));
          break;
        case "trailer":
          used = this.#parseTrailer(view.subarray(pos));
          break;
        default:
          if (avail > 0) {
            throw new InvalidTrailerError(
              this.#file,
              `unexpected bytes follow the trailer at offset ${this.#offset}`,
            );
          }
          return pos;
      }
      if (used === 0) return pos;
      pos += used;
    }
  }

  /*
   * Each `#parse...` method looks at the bytes from the current offset on.
   * It either consumes a whole section, hashing what the file checksum covers
   * and advancing `#offset`, and returns its length; or it records in
   * `#shortBy` what it is waiting for and returns 0.
   */

  #short(detail: string): number {
    this.#shortBy = detail;
    return 0;
  }

  /** Hashes and consumes the first `length` bytes of `bytes`. */
  #consume(bytes: Uint8Array, length: number): number {
    this.#hash.update(bytes.subarray(0, length));
    this.#offset += length;
    return length;
  }

  #parseHeader(bytes: Uint8Array): number {
    if (bytes.length < HEADER_SIZE) {
      return this.#short(
        `expected ${HEADER_SIZE} header bytes, found ${bytes.length}`,
      );
    }
    const header = decodeHeader(bytes, this.#file);
    validateHeader(header, this.#file);
    this.#header = header;
    this.#lockPgno = lockPgno(header.pageSize);
    this.#trackChecksum = isSnapshot(header) && !hasNoChecksum(header);
    this.#state = "page";
    return this.#consume(bytes, HEADER_SIZE);
  }

  #parsePage(bytes: Uint8Array): number {
    const file = this.#file;
    const offset = this.#offset;
    const header = this.#header!;
    if (bytes.length < PAGE_HEADER_SIZE) {
      return this.#short(
        `expected ${PAGE_HEADER_SIZE} page header bytes at offset ${offset}, found ${bytes.length}`,
      );
    }
    const pageHeader = decodePageHeader(bytes, file);
    if (pageHeader.pgno === 0 && pageHeader.flags === 0) {
      this.#endPageBlock();
      return this.#consume(bytes, PAGE_HEADER_SIZE);
    }
    this.#checkPageHeader(pageHeader);
    const where = { file, pgno: pageHeader.pgno, offset };
    const headLength = pageHeaderLength(pageHeader.flags);
    if (bytes.length < headLength) {
      return this.#short(
        `${
          describeFrame(where)
        } needs a ${headLength}-byte page header, found ${bytes.length} bytes`,
      );
    }
    let payloadLength: number;
    if ((pageHeader.flags & PAGE_HEADER_FLAG_SIZE) !== 0) {
      payloadLength = new DataView(bytes.buffer, bytes.byteOffset)
        .getUint32(PAGE_HEADER_SIZE);
      const bound = lz4BlockBound(header.pageSize);
      if (payloadLength === 0 || payloadLength > bound) {
        throw new InvalidFrameError(
          file,
          `${
            describeFrame(where)
          } has a payload size of ${payloadLength} bytes; an LZ4 block of one page takes 1 to ${bound}`,
        );
      }
    } else {
      const measure = measureLz4Frame(
        bytes.subarray(headLength),
        legacyFrameLimit(header.pageSize),
      );
      if (measure === undefined) {
        return this.#short(`${describeFrame(where)} ends inside its LZ4 frame`);
      }
      if ("error" in measure) {
        throw new InvalidFrameError(
          file,
          `${describeFrame(where)} has a corrupt LZ4 frame: ${measure.error}`,
        );
      }
      payloadLength = measure.length;
    }
    const frameLength = headLength + payloadLength;
    if (bytes.length < frameLength) {
      return this.#short(
        `${
          describeFrame(where)
        } needs ${frameLength} bytes, found ${bytes.length}`,
      );
    }
    // Without onPage nobody keeps the page: one buffer serves them all.
    const data = this.#onPage === undefined
      ? (this.#page ??= new Uint8Array(header.pageSize))
      : new Uint8Array(header.pageSize);
    decodePayload(
      bytes.subarray(headLength, frameLength),
      pageHeader.flags,
      data,
      where,
    );
    // The file checksum covers the page header and size prefix as stored,
    // then the decoded page instead of the payload.
    this.#hash.update(bytes.subarray(0, headLength));
    this.#hash.update(data);
    this.#offset += frameLength;
    this.#frames.push({ pgno: pageHeader.pgno, offset, size: frameLength });
    this.#prevPgno = pageHeader.pgno;
    if (this.#trackChecksum) {
      this.#databaseChecksum = CHECKSUM_FLAG |
        (this.#databaseChecksum ^ pageChecksum(pageHeader.pgno, data));
    }
    this.#onPage?.(pageHeader.pgno, data);
    return frameLength;
  }

  #checkPageHeader(pageHeader: PageHeader): void {
    const file = this.#file;
    const header = this.#header!;
    validatePageHeader(pageHeader, file);
    const { pgno } = pageHeader;
    const where = describeFrame({ file, pgno, offset: this.#offset });
    const prev = this.#prevPgno;
    if (pgno === this.#lockPgno) {
      throw new InvalidFrameError(
        file,
        `${where} is the lock page, which is never stored`,
      );
    }
    if (pgno === prev) {
      throw new InvalidFrameError(file, `${where} repeats the previous page`);
    }
    if (pgno < prev) {
      throw new InvalidFrameError(
        file,
        `${where} follows page ${prev}; pages must be in ascending order`,
      );
    }
    if (pgno > header.commit) {
      throw new InvalidFrameError(
        file,
        `${where} is beyond the commit size of ${header.commit} pages`,
      );
    }
    if (isSnapshot(header)) {
      const expected = this.#nextSnapshotPgno();
      if (pgno !== expected) {
        throw new InvalidFrameError(
          file,
          `${where} follows page ${prev} in a snapshot; expected page ${expected}`,
        );
      }
    }
  }

  #nextSnapshotPgno(): number {
    const next = this.#prevPgno + 1;
    return next === this.#lockPgno ? next + 1 : next;
  }

  #endPageBlock(): void {
    const header = this.#header!;
    if (isSnapshot(header) && this.#nextSnapshotPgno() <= header.commit) {
      throw new InvalidFrameError(
        this.#file,
        `snapshot ends after page ${this.#prevPgno} at offset ${this.#offset}; its commit size is ${header.commit} pages`,
      );
    }
    this.#indexStart = this.#offset + PAGE_HEADER_SIZE;
    this.#state = "index";
  }

  #parseIndexEntry(bytes: Uint8Array): number {
    const file = this.#file;
    const i = this.#indexEntries;
    const values: number[] = [];
    let length = 0;
    for (const what of ["page number", "offset", "size"]) {
      const r = readUvarint(bytes, length);
      if (r.length === 0) {
        return this.#short(
          `page index ends inside entry ${i} at offset ${this.#offset}`,
        );
      }
      if (r.length < 0 || r.value > Number.MAX_SAFE_INTEGER) {
        throw new InvalidIndexError(
          file,
          `${what} of entry ${i} at offset ${
            this.#offset + length
          } is out of range`,
        );
      }
      values.push(r.value);
      length += r.length;
      if (values[0] === 0) break;
    }
    const [pgno, offset, size] = values;
    const frame = this.#frames[i];
    if (pgno === 0) {
      if (frame !== undefined) {
        throw new InvalidIndexError(
          file,
          `index has ${i} entries but the file has ${this.#frames.length} page frames`,
        );
      }
      this.#state = "indexSize";
      return this.#consume(bytes, length);
    }
    if (frame === undefined) {
      throw new InvalidIndexError(
        file,
        `index has more entries than the ${this.#frames.length} page frames`,
      );
    }
    if (frame.pgno !== pgno || frame.offset !== offset || frame.size !== size) {
      throw new InvalidIndexError(
        file,
        `entry ${i} (page ${pgno}, offset ${offset}, size ${size}) disagrees with frame ${i} (page ${frame.pgno}, offset ${frame.offset}, size ${frame.size})`,
      );
    }
    this.#indexEntries++;
    return this.#consume(bytes, length);
  }

  #parseIndexSize(bytes: Uint8Array): number {
    if (bytes.length < INDEX_SIZE_FIELD_SIZE) {
      return this.#short(
        `expected ${INDEX_SIZE_FIELD_SIZE} index size bytes at offset ${this.#offset}, found ${bytes.length}`,
      );
    }
    const size = new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0);
    const actual = this.#offset - this.#indexStart;
    if (size !== BigInt(actual)) {
      throw new InvalidIndexError(
        this.#file,
        `size field says ${size} bytes, entries take ${actual}`,
      );
    }
    this.#state = "trailer";
    return this.#consume(bytes, INDEX_SIZE_FIELD_SIZE);
  }

  #parseTrailer(bytes: Uint8Array): number {
    const file = this.#file;
    if (bytes.length < TRAILER_SIZE) {
      return this.#short(
        `expected ${TRAILER_SIZE} trailer bytes at offset ${this.#offset}, found ${bytes.length}`,
      );
    }
    const header = this.#header!;
    const trailer = decodeTrailer(bytes, file);
    this.#hash.update(bytes.subarray(0, TRAILER_CHECKSUM_OFFSET));
    const computed = this.#hash.digest() | CHECKSUM_FLAG;
    if (computed !== trailer.fileChecksum) {
      throw new ChecksumMismatchError(file, {
        kind: "file",
        expected: trailer.fileChecksum,
        actual: computed,
      });
    }
    validateTrailer(trailer, { file, header });
    if (
      this.#trackChecksum &&
      trailer.postApplyChecksum !== this.#databaseChecksum
    ) {
      throw new ChecksumMismatchError(file, {
        kind: "post-apply",
        expected: trailer.postApplyChecksum,
        actual: this.#databaseChecksum,
      });
    }
    this.#summary = {
      header,
      index: this.#frames,
      postApplyChecksum: trailer.postApplyChecksum,
      fileChecksum: trailer.fileChecksum,
    };
    this.#state = "done";
    this.#offset += TRAILER_SIZE;
    return TRAILER_SIZE;
  }
}

/** Options of {@linkcode decodeFile}. */
export interface DecodeFileOptions {
  /** The file name, for error messages. */
  file: string;
}

/**
 * Decodes and verifies a whole LTX file held in memory (see
 * {@linkcode Decoder} for every check made). Nothing is returned unless all
 * checks pass.
 *
 * @param bytes The whole file.
 * @param options The file name, for error messages.
 * @returns The header, pages, index and trailer checksums.
 * @throws {LtxError} A subclass naming the first problem found.
 *
 * @example Usage
 * ```ts
 * import { decodeFile, encodeFile, type Header } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const header: Header = {
 *   flags: 0x2, pageSize: 512, commit: 1, minTxid: 1n, maxTxid: 1n,
 *   timestamp: 0, preApplyChecksum: 0n, walOffset: 0n, walSize: 0n,
 *   walSalt1: 0, walSalt2: 0, nodeId: 0n,
 * };
 * const data = new Uint8Array(512).fill(7);
 * const bytes = encodeFile({ header, pages: [{ pgno: 1, data }], postApplyChecksum: 0n });
 *
 * const file = decodeFile(bytes, { file: "ltx/0/0000000000000001-0000000000000001.ltx" });
 * assert.deepEqual(file.header, header);
 * assert.deepEqual(file.pages, [{ pgno: 1, data }]);
 * ```
 */
export function decodeFile(
  bytes: Uint8Array,
  options: DecodeFileOptions,
): LtxFile {
  const pages: LtxPage[] = [];
  const decoder = new Decoder({
    file: options.file,
    onPage: (pgno, data) => pages.push({ pgno, data }),
  });
  decoder.write(bytes);
  return { ...decoder.end(), pages };
}

/**
 * Decodes and verifies an LTX file from a stream without holding it whole
 * (see {@linkcode Decoder} for every check made). Pages go to `onPage` as
 * they are decoded; they are verified only when the promise resolves. On
 * failure the stream is cancelled.
 *
 * @param stream The file's bytes.
 * @param options The file name, and where to send pages.
 * @returns The verified summary.
 * @throws {LtxError} A subclass naming the first problem found; errors of the
 * stream itself pass through.
 *
 * @example Usage
 * ```ts
 * import { decodeStream, encodeFile, type Header } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const header: Header = {
 *   flags: 0x2, pageSize: 512, commit: 1, minTxid: 1n, maxTxid: 1n,
 *   timestamp: 0, preApplyChecksum: 0n, walOffset: 0n, walSize: 0n,
 *   walSalt1: 0, walSalt2: 0, nodeId: 0n,
 * };
 * const bytes = encodeFile({
 *   header,
 *   pages: [{ pgno: 1, data: new Uint8Array(512) }],
 *   postApplyChecksum: 0n,
 * });
 *
 * let pages = 0;
 * const summary = await decodeStream(ReadableStream.from([bytes.subarray(0, 50), bytes.subarray(50)]), {
 *   file: "a.ltx",
 *   onPage: () => pages++,
 * });
 * assert.equal(pages, 1);
 * assert.equal(summary.index.length, 1);
 * ```
 */
export async function decodeStream(
  stream: ReadableStream<Uint8Array>,
  options: DecoderOptions,
): Promise<LtxSummary> {
  const decoder = new Decoder(options);
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      decoder.write(value);
    }
    return decoder.end();
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    throw err;
  } finally {
    reader.releaseLock();
  }
}

function checkFileSize(fileSize: number): void {
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) {
    throw new RangeError(
      `File size ${fileSize} is not a non-negative safe integer`,
    );
  }
}

/**
 * Reads the index size field from the end of a file and returns how many
 * bytes from the end cover the whole page index, its size field and the
 * trailer: the length of the tail to fetch for {@linkcode decodeTail}.
 *
 * @param last The last bytes of the file, at least 24 of them.
 * @param fileSize The size of the whole file, in bytes.
 * @param file The file name, for error messages.
 * @returns The length of the tail, in bytes.
 * @throws {TruncatedFileError} If the file is too small to be an LTX file, or
 * `last` holds fewer than 24 bytes.
 * @throws {InvalidIndexError} If the size field points outside the file.
 * @throws {RangeError} If `fileSize` is not a non-negative safe integer or is
 * less than `last.length`.
 *
 * @example Usage
 * ```ts
 * import { decodeTail, encodeFile, indexTailLength, type Header } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const header: Header = {
 *   flags: 0x2, pageSize: 512, commit: 1, minTxid: 1n, maxTxid: 1n,
 *   timestamp: 0, preApplyChecksum: 0n, walOffset: 0n, walSize: 0n,
 *   walSalt1: 0, walSalt2: 0, nodeId: 0n,
 * };
 * const bytes = encodeFile({
 *   header,
 *   pages: [{ pgno: 1, data: new Uint8Array(512) }],
 *   postApplyChecksum: 0n,
 * });
 *
 * // A remote reader fetches the last 24 bytes, then the whole tail.
 * const length = indexTailLength(bytes.subarray(bytes.length - 24), bytes.length, "a.ltx");
 * const tail = decodeTail(bytes.subarray(bytes.length - length), bytes.length, { file: "a.ltx" });
 * assert.deepEqual(tail.index.map((e) => e.pgno), [1]);
 * ```
 */
export function indexTailLength(
  last: Uint8Array,
  fileSize: number,
  file: string,
): number {
  checkFileSize(fileSize);
  if (last.length > fileSize) {
    throw new RangeError(
      `Cannot read the tail of LTX file "${file}": ${last.length} bytes given for a file of ${fileSize}`,
    );
  }
  if (fileSize < MIN_FILE_SIZE) {
    throw new TruncatedFileError(
      file,
      `expected at least ${MIN_FILE_SIZE} bytes, found ${fileSize}`,
    );
  }
  if (last.length < FIXED_TAIL_SIZE) {
    throw new TruncatedFileError(
      file,
      `expected the last ${FIXED_TAIL_SIZE} bytes, found ${last.length}`,
    );
  }
  const size = new DataView(last.buffer, last.byteOffset, last.length)
    .getBigUint64(last.length - FIXED_TAIL_SIZE);
  const room = fileSize - FIXED_TAIL_SIZE - HEADER_SIZE - PAGE_HEADER_SIZE;
  if (size < 1n || size > BigInt(room)) {
    throw new InvalidIndexError(
      file,
      `size field says ${size} bytes, which points outside the file of ${fileSize} bytes (1 to ${room} fit)`,
    );
  }
  return Number(size) + FIXED_TAIL_SIZE;
}

/** Options of {@linkcode decodeTail}. */
export interface DecodeTailOptions {
  /** The file name, for error messages. */
  file: string;
  /**
   * The file's header, if already fetched. With it the index is also checked
   * against the header (no lock page, no page beyond the commit size, every
   * page of a snapshot) and the post-apply checksum against the header flags.
   */
  header?: Header;
}

/** The page index and trailer checksums of a file, from {@linkcode decodeTail}. */
export interface LtxTail {
  /** The page index, in ascending page number order. */
  index: PageIndexEntry[];
  /** Database checksum after applying the file; zero if not tracked. */
  postApplyChecksum: bigint;
  /** The file checksum, unverified: it covers the whole file. */
  fileChecksum: bigint;
}

/**
 * Decodes the page index and trailer from the tail of a file, as a remote
 * reader fetches it (see {@linkcode indexTailLength}). Checks the index
 * structure, and that the frames it lists tile the page block exactly: the
 * first at offset 100, each starting where the previous ends, the last ending
 * at the page block terminator just before the index. The file checksum
 * cannot be verified without the whole file.
 *
 * @param tail The last bytes of the file; more than the index needs is fine.
 * @param fileSize The size of the whole file, in bytes.
 * @param options The file name, and the header if known.
 * @returns The index and the trailer checksums.
 * @throws {InvalidIndexError} If `tail` does not cover the index, or the
 * index is malformed or points outside the page block.
 * @throws {TruncatedFileError} If the file is too small to be an LTX file.
 * @throws {InvalidFrameError} If, given a header, the index lists the lock
 * page, a page beyond the commit size, or a snapshot misses a page.
 * @throws {InvalidTrailerError} If a trailer checksum breaks a trailer rule.
 *
 * @example Usage
 * ```ts
 * import { decodeTail, encodeFile, InvalidIndexError, type Header } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const header: Header = {
 *   flags: 0x2, pageSize: 512, commit: 2, minTxid: 1n, maxTxid: 1n,
 *   timestamp: 0, preApplyChecksum: 0n, walOffset: 0n, walSize: 0n,
 *   walSalt1: 0, walSalt2: 0, nodeId: 0n,
 * };
 * const bytes = encodeFile({
 *   header,
 *   pages: [{ pgno: 1, data: new Uint8Array(512) }, { pgno: 2, data: new Uint8Array(512) }],
 *   postApplyChecksum: 0n,
 * });
 *
 * const { index } = decodeTail(bytes.subarray(bytes.length - 64), bytes.length, { file: "a.ltx", header });
 * assert.deepEqual(index.map((e) => e.pgno), [1, 2]);
 * assert.throws(() => decodeTail(bytes.subarray(bytes.length - 24), bytes.length, { file: "a.ltx" }), InvalidIndexError);
 * ```
 */
export function decodeTail(
  tail: Uint8Array,
  fileSize: number,
  options: DecodeTailOptions,
): LtxTail {
  const { file, header } = options;
  const length = indexTailLength(tail, fileSize, file);
  if (tail.length < length) {
    throw new InvalidIndexError(
      file,
      `the last ${tail.length} bytes do not cover the index; ${length} are needed`,
    );
  }
  const index = decodePageIndex(
    tail.subarray(tail.length - length, tail.length - TRAILER_SIZE),
    file,
  );
  const blockEnd = fileSize - length - PAGE_HEADER_SIZE;
  let expected = HEADER_SIZE;
  for (const entry of index) {
    if (entry.offset !== expected) {
      throw new InvalidIndexError(
        file,
        `entry for page ${entry.pgno} has offset ${entry.offset}, expected ${expected}`,
      );
    }
    if (entry.size <= PAGE_HEADER_SIZE) {
      throw new InvalidIndexError(
        file,
        `entry for page ${entry.pgno} has size ${entry.size}, too small for a frame`,
      );
    }
    expected += entry.size;
    if (expected > blockEnd) {
      throw new InvalidIndexError(
        file,
        `entry for page ${entry.pgno} (offset ${entry.offset}, size ${entry.size}) runs past the page block, which ends at ${blockEnd}`,
      );
    }
  }
  if (expected !== blockEnd) {
    throw new InvalidIndexError(
      file,
      `frames end at offset ${expected} but the page block ends at ${blockEnd}`,
    );
  }
  if (header !== undefined) checkIndexAgainstHeader(index, header, file);
  const trailer = decodeTrailer(
    tail.subarray(tail.length - TRAILER_SIZE),
    file,
  );
  validateTrailer(trailer, { file, header });
  return {
    index,
    postApplyChecksum: trailer.postApplyChecksum,
    fileChecksum: trailer.fileChecksum,
  };
}

function checkIndexAgainstHeader(
  index: readonly PageIndexEntry[],
  header: Header,
  file: string,
): void {
  const lock = lockPgno(header.pageSize);
  let next = 1;
  for (const { pgno, offset } of index) {
    const where = describeFrame({ file, pgno, offset });
    if (pgno === lock) {
      throw new InvalidFrameError(
        file,
        `${where} is the lock page, which is never stored`,
      );
    }
    if (pgno > header.commit) {
      throw new InvalidFrameError(
        file,
        `${where} is beyond the commit size of ${header.commit} pages`,
      );
    }
    if (isSnapshot(header) && pgno !== next) {
      throw new InvalidFrameError(
        file,
        `${where} is listed in a snapshot where page ${next} is expected`,
      );
    }
    next = pgno + 1 === lock ? pgno + 2 : pgno + 1;
  }
  if (isSnapshot(header) && next <= header.commit) {
    throw new InvalidFrameError(
      file,
      `snapshot ends after page ${
        next - 1
      }; its commit size is ${header.commit} pages`,
    );
  }
}

/** Options of {@linkcode decodeFrame}. */
export interface DecodeFrameOptions {
  /** The file name, for error messages. */
  file: string;
  /** The page number the index gave for this frame. */
  pgno: number;
  /** The database page size from the file's header. */
  pageSize: number;
  /** The frame's offset in the file, for error messages. */
  offset?: number;
}

/**
 * Decodes one page frame, given its bytes as the page index locates them
 * (offset and size). Checks that the page header carries the page number asked
 * for and only known flags, that the page is not the lock page, that a size
 * prefix matches the payload, and that the payload decodes to exactly one
 * page: an LZ4 block when flag 0x0001 is set, else a legacy LZ4 frame.
 *
 * @param frame The frame: page header, size prefix if any, payload.
 * @param options The file name, expected page number and page size.
 * @param out Where to decode the page (exactly `pageSize` bytes); a new array
 * if omitted. An LZ4 block decodes straight into it; a legacy LZ4 frame
 * decodes into a temporary array first. On failure its content is
 * unspecified.
 * @returns The page: `out` if given.
 * @throws {InvalidFrameError} If the frame is malformed or corrupt.
 * @throws {RangeError} If `pageSize` is not a valid page size or `out` is not
 * `pageSize` bytes long.
 *
 * @example Usage
 * ```ts
 * import { decodeFrame, decodeTail, encodeFile, InvalidFrameError, type Header } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const header: Header = {
 *   flags: 0x2, pageSize: 512, commit: 1, minTxid: 1n, maxTxid: 1n,
 *   timestamp: 0, preApplyChecksum: 0n, walOffset: 0n, walSize: 0n,
 *   walSalt1: 0, walSalt2: 0, nodeId: 0n,
 * };
 * const data = new Uint8Array(512).fill(9);
 * const bytes = encodeFile({ header, pages: [{ pgno: 1, data }], postApplyChecksum: 0n });
 * const [entry] = decodeTail(bytes, bytes.length, { file: "a.ltx" }).index;
 * const frame = bytes.subarray(entry.offset, entry.offset + entry.size);
 *
 * const out = new Uint8Array(512);
 * decodeFrame(frame, { file: "a.ltx", pgno: 1, pageSize: 512 }, out);
 * assert.deepEqual(out, data);
 * assert.throws(() => decodeFrame(frame, { file: "a.ltx", pgno: 2, pageSize: 512 }), InvalidFrameError);
 * ```
 */
export function decodeFrame(
  frame: Uint8Array,
  options: DecodeFrameOptions,
  out?: Uint8Array,
): Uint8Array {
  const { file, pgno, pageSize, offset } = options;
  if (!isValidPageSize(pageSize)) {
    throw new RangeError(
      `Cannot decode page ${pgno} of LTX file "${file}": page size ${pageSize} is not valid`,
    );
  }
  if (out !== undefined && out.length !== pageSize) {
    throw new RangeError(
      `Cannot decode page ${pgno} of LTX file "${file}": output buffer has ${out.length} bytes, expected ${pageSize}`,
    );
  }
  const where = { file, pgno, offset };
  if (frame.length < PAGE_HEADER_SIZE) {
    throw new InvalidFrameError(
      file,
      `${
        describeFrame(where)
      } is ${frame.length} bytes, shorter than a page header`,
    );
  }
  const pageHeader = decodePageHeader(frame, file);
  if (pageHeader.pgno !== pgno) {
    throw new InvalidFrameError(
      file,
      `expected page ${pgno}, found page ${pageHeader.pgno}${
        offset === undefined ? "" : ` in the frame at offset ${offset}`
      }`,
    );
  }
  validatePageHeader(pageHeader, file);
  if (pgno === lockPgno(pageSize)) {
    throw new InvalidFrameError(
      file,
      `${describeFrame(where)} is the lock page, which is never stored`,
    );
  }
  const headLength = pageHeaderLength(pageHeader.flags);
  if (frame.length < headLength) {
    throw new InvalidFrameError(
      file,
      `${
        describeFrame(where)
      } is ${frame.length} bytes, shorter than its ${headLength}-byte page header`,
    );
  }
  if (headLength > PAGE_HEADER_SIZE) {
    const size = new DataView(frame.buffer, frame.byteOffset, frame.length)
      .getUint32(PAGE_HEADER_SIZE);
    if (size !== frame.length - headLength) {
      throw new InvalidFrameError(
        file,
        `${describeFrame(where)} has a size prefix of ${size} bytes but a ${
          frame.length - headLength
        }-byte payload`,
      );
    }
  }
  const page = out ?? new Uint8Array(pageSize);
  decodePayload(frame.subarray(headLength), pageHeader.flags, page, where);
  return page;
}
