/**
 * The write buffer of write mode: committed transactions kept in a local
 * file until they are uploaded as an LTX file, so that a commit is durable
 * the moment it returns, whatever happens to the process or the network
 * after (ARCHITECTURE.md, "Writes").
 *
 * Layout, big-endian like LTX:
 *
 * ```
 * header   "LSVFSWB1", u32 page size, u64 base TXID, u64 base checksum
 * then, per committed transaction:
 *   n x    u32 pgno, page (page size bytes)
 *   commit u32 0xffffffff, u32 page count after it, u32 n,
 *          u64 CRC-64 of the transaction's page records
 * ```
 *
 * The base is the replica state the transactions apply to. Each commit is
 * appended and fsync'd before {@linkcode WriteBuffer.commit} returns. On
 * open, a buffer left by an earlier process is read back: every whole
 * transaction whose checksum matches is kept; a torn or damaged tail (a
 * crash in the middle of a commit) is cut off, since that commit never
 * returned. The buffer is emptied only by {@linkcode WriteBuffer.reset},
 * once what it held is safely uploaded.
 *
 * @module
 */

import { Crc64 } from "../ltx/mod.ts";
import { readAt, writeAt } from "./_file_io.ts";

/** The buffer's first bytes. */
const MAGIC = "LSVFSWB1";
const HEADER_SIZE = 8 + 4 + 8 + 8;
/** A record's page number that marks a commit. */
const COMMIT = 0xffffffff;
const COMMIT_SIZE = 4 + 4 + 4 + 8;

/** The replica state a buffer's transactions apply to. */
export interface WriteBase {
  /** Its TXID (0 for a new database). */
  readonly txid: bigint;
  /** Its database checksum, 0 when untracked. */
  readonly checksum: bigint;
}

/** Thrown when a buffer file is not one, or is for another page size. */
export class WriteBufferError extends Error {
  override name = "WriteBufferError";
}

/** One open write buffer. */
export class WriteBuffer {
  /** The buffer file. */
  readonly path: string;
  /** The page size of its pages. */
  readonly pageSize: number;
  #file: Deno.FsFile;
  #base: WriteBase;
  /** Offset in the file of each page's latest committed copy. */
  #committed = new Map<number, number>();
  /** Page count after the last commit; undefined before any. */
  #pageCount: number | undefined;
  /** Transactions committed since the base. */
  #transactions = 0;
  /** Where the next commit goes. */
  #end: number;
  /** Pages of the transaction under way. */
  #pending = new Map<number, Uint8Array>();

  private constructor(
    path: string,
    pageSize: number,
    file: Deno.FsFile,
    base: WriteBase,
  ) {
    this.path = path;
    this.pageSize = pageSize;
    this.#file = file;
    this.#base = base;
    this.#end = HEADER_SIZE;
  }

  /**
   * Opens the buffer at `path`: takes up what an earlier process left (see
   * the module documentation), or creates an empty one on `base`.
   *
   * @param path The buffer file.
   * @param pageSize The database page size.
   * @param base The state new transactions apply to, when the file is new.
   * @returns The buffer; {@linkcode WriteBuffer.base} says what it applies to.
   * @throws {WriteBufferError} When the file is not a write buffer, holds
   * pages of another size, or another writer has it open.
   */
  static open(path: string, pageSize: number, base: WriteBase): WriteBuffer {
    const file = Deno.openSync(path, { read: true, write: true, create: true });
    try {
      if (!file.tryLockSync(true)) {
        throw new WriteBufferError(
          `The write buffer "${path}" is in use by another writer (another process, or another engine in this one): give each writer its own buffer_path (LITESTREAM_BUFFER_PATH)`,
        );
      }
      const size = file.statSync().size;
      if (size === 0) {
        const buffer = new WriteBuffer(path, pageSize, file, base);
        buffer.#writeHeader();
        return buffer;
      }
      const bytes = new Uint8Array(size);
      readAt(file, 0, bytes);
      return WriteBuffer.#recover(path, pageSize, file, bytes);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /**
   * The page size a buffer file holds pages of, without opening it for
   * writing.
   *
   * @param path The buffer file.
   * @returns Its page size, or undefined when there is no such buffer
   * (missing, empty, or not a write buffer).
   */
  static storedPageSize(path: string): number | undefined {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    try {
      const header = new Uint8Array(HEADER_SIZE);
      if (file.statSync().size < HEADER_SIZE) return undefined;
      readAt(file, 0, header);
      if (new TextDecoder().decode(header.subarray(0, 8)) !== MAGIC) {
        return undefined;
      }
      return new DataView(header.buffer).getUint32(8);
    } finally {
      file.close();
    }
  }

  static #recover(
    path: string,
    pageSize: number,
    file: Deno.FsFile,
    bytes: Uint8Array,
  ): WriteBuffer {
    const view = new DataView(bytes.buffer);
    const magic = new TextDecoder().decode(bytes.subarray(0, 8));
    if (bytes.length < HEADER_SIZE || magic !== MAGIC) {
      throw new WriteBufferError(
        `"${path}" is not a write buffer of lsvfs; move it away or point buffer_path elsewhere`,
      );
    }
    const storedPageSize = view.getUint32(8);
    if (storedPageSize !== pageSize) {
      throw new WriteBufferError(
        `The write buffer "${path}" holds pages of ${storedPageSize} bytes, the database ${pageSize}`,
      );
    }
    const buffer = new WriteBuffer(path, pageSize, file, {
      txid: view.getBigUint64(12),
      checksum: view.getBigUint64(20),
    });
    // Whole transactions whose checksum matches; stop at the first that is not.
    let at = HEADER_SIZE;
    for (;;) {
      const start = at;
      const pages = new Map<number, number>();
      const crc = new Crc64();
      let done = false;
      while (at + 4 <= bytes.length) {
        const pgno = view.getUint32(at);
        if (pgno === COMMIT) {
          if (at + COMMIT_SIZE > bytes.length) break;
          const n = view.getUint32(at + 8);
          const sum = view.getBigUint64(at + 12);
          if (n === pages.size && sum === crc.digest()) {
            buffer.#pageCount = view.getUint32(at + 4);
            at += COMMIT_SIZE;
            done = true;
          }
          break;
        }
        if (at + 4 + pageSize > bytes.length || pgno === 0) break;
        crc.update(bytes.subarray(at, at + 4 + pageSize));
        pages.set(pgno, at + 4);
        at += 4 + pageSize;
      }
      if (!done) {
        at = start;
        break;
      }
      for (const [pgno, offset] of pages) buffer.#committed.set(pgno, offset);
      buffer.#transactions++;
    }
    buffer.#end = at;
    if (at < bytes.length) {
      // A commit that never returned: cut it off.
      file.truncateSync(at);
      file.syncSync();
    }
    return buffer;
  }

  /** The replica state the buffer's transactions apply to. */
  get base(): WriteBase {
    return this.#base;
  }

  /** Committed transactions held. */
  get transactions(): number {
    return this.#transactions;
  }

  /** Whether nothing committed is held. */
  get isEmpty(): boolean {
    return this.#transactions === 0;
  }

  /** The database size in pages after the last commit, if any. */
  get pageCount(): number | undefined {
    return this.#pageCount;
  }

  /**
   * Stages a page of the transaction under way; nothing is durable before
   * {@linkcode WriteBuffer.commit}.
   *
   * @param pgno The page number, from 1.
   * @param page The page: exactly `pageSize` bytes (copied).
   */
  write(pgno: number, page: Uint8Array): void {
    if (page.length !== this.pageSize || !(pgno >= 1 && pgno < COMMIT)) {
      throw new RangeError(
        `Cannot buffer page ${pgno} of ${page.length} bytes: pages are ${this.pageSize} bytes, numbered from 1`,
      );
    }
    this.#pending.set(pgno, page.slice());
  }

  /** Whether a transaction has staged pages. */
  get hasStaged(): boolean {
    return this.#pending.size > 0;
  }

  /**
   * Makes the staged pages durable: appends them and a commit record, and
   * fsyncs, before returning. Pages past the new end are dropped.
   *
   * @param pageCount The database size in pages after the transaction.
   */
  commit(pageCount: number): void {
    const pages = [...this.#pending].filter(([pgno]) => pgno <= pageCount)
      .sort(([a], [b]) => a - b);
    const record = new Uint8Array(
      pages.length * (4 + this.pageSize) + COMMIT_SIZE,
    );
    const view = new DataView(record.buffer);
    const crc = new Crc64();
    const offsets: [number, number][] = [];
    let at = 0;
    for (const [pgno, page] of pages) {
      view.setUint32(at, pgno);
      record.set(page, at + 4);
      crc.update(record.subarray(at, at + 4 + this.pageSize));
      offsets.push([pgno, this.#end + at + 4]);
      at += 4 + this.pageSize;
    }
    view.setUint32(at, COMMIT);
    view.setUint32(at + 4, pageCount);
    view.setUint32(at + 8, pages.length);
    view.setBigUint64(at + 12, crc.digest());
    writeAt(this.#file, this.#end, record);
    this.#file.syncSync();
    this.#end += record.length;
    for (const [pgno, offset] of offsets) this.#committed.set(pgno, offset);
    for (const pgno of this.#committed.keys()) {
      if (pgno > pageCount) this.#committed.delete(pgno);
    }
    this.#pageCount = pageCount;
    this.#transactions++;
    this.#pending.clear();
  }

  /** Drops the staged pages of the transaction under way. */
  rollback(): void {
    this.#pending.clear();
  }

  /**
   * Reads a page: as the writer sees it (staged, else committed), or as
   * everyone else does (committed).
   *
   * @param pgno The page number.
   * @param out Where the page goes (`pageSize` bytes).
   * @param staged Whether the transaction under way counts.
   * @returns Whether the buffer had the page.
   */
  read(pgno: number, out: Uint8Array, staged = true): boolean {
    const page = staged ? this.#pending.get(pgno) : undefined;
    if (page !== undefined) {
      out.set(page);
      return true;
    }
    const offset = this.#committed.get(pgno);
    if (offset === undefined) return false;
    readAt(this.#file, offset, out.subarray(0, this.pageSize));
    return true;
  }

  /**
   * The committed pages, latest copy of each, in page order, up to the last
   * commit's page count: what the next LTX file holds.
   *
   * @returns Page number and bytes, ascending.
   */
  *committedPages(): Generator<[number, Uint8Array]> {
    const limit = this.#pageCount ?? 0;
    const pgnos = [...this.#committed.keys()].filter((p) => p <= limit)
      .sort((a, b) => a - b);
    for (const pgno of pgnos) {
      const page = new Uint8Array(this.pageSize);
      readAt(this.#file, this.#committed.get(pgno)!, page);
      yield [pgno, page];
    }
  }

  /** Whether a page is in a committed transaction. */
  hasCommitted(pgno: number): boolean {
    return this.#committed.has(pgno);
  }

  /**
   * Empties the buffer onto a new base, once its transactions are uploaded:
   * the file is cut back to a header and fsync'd. Pages staged by a
   * transaction under way stay staged: they apply to the new base as well.
   *
   * @param base The state the upload produced.
   */
  reset(base: WriteBase): void {
    this.#base = base;
    this.#committed.clear();
    this.#pageCount = undefined;
    this.#transactions = 0;
    this.#file.truncateSync(0);
    this.#writeHeader();
  }

  /** Closes the file; what it holds stays for the next open. */
  close(): void {
    this.#file.close();
  }

  #writeHeader(): void {
    const header = new Uint8Array(HEADER_SIZE);
    const view = new DataView(header.buffer);
    header.set(new TextEncoder().encode(MAGIC));
    view.setUint32(8, this.pageSize);
    view.setBigUint64(12, this.#base.txid);
    view.setBigUint64(20, this.#base.checksum);
    writeAt(this.#file, 0, header);
    this.#file.syncSync();
    this.#end = HEADER_SIZE;
  }
}
