/**
 * A replica as the engine sees it: its storage client, and what has been read
 * of its LTX files (header and page index), shared by every view of it in the
 * process. LTX files are immutable, so what was read once stays true.
 *
 * @module
 */

import {
  decodeHeader,
  decodeTail,
  type Header,
  HEADER_SIZE,
  indexTailLength,
  ltxPath,
  SNAPSHOT_LEVEL,
  validateHeader,
} from "../ltx/mod.ts";
import type { LtxFileInfo, SyncReplicaClient } from "../storage/mod.ts";
import type { FileIndex } from "./page_index.ts";

/** Files up to this size are read whole to get their header and index. */
const SMALL_FILE_SIZE = 64 * 1024;
/** Bytes read from the end of a larger file on the first try for its index. */
const TAIL_GUESS = 16 * 1024;

/** What the engine keeps of one LTX file. */
export interface FileMeta {
  /** The file's header. */
  readonly header: Header;
  /** The file's page index, in columns. */
  readonly index: FileIndex;
}

/** A replica and the metadata read from it so far. */
export class Replica {
  /** The storage client. */
  readonly client: SyncReplicaClient;
  #meta = new Map<string, FileMeta>();
  /** Headers read on their own (time travel), by name. */
  #headers = new Map<string, Header>();
  /** Names by file: reads name their file in errors, and this is the hot path. */
  #names = new WeakMap<LtxFileInfo, string>();

  /** @param client The storage client; the replica closes it. */
  constructor(client: SyncReplicaClient) {
    this.client = client;
  }

  /** The replica URL, credentials removed. */
  get url(): string {
    return this.client.url;
  }

  /**
   * Lists the LTX files of every level.
   *
   * @returns All files, levels 0 through 9.
   */
  listAll(): LtxFileInfo[] {
    const files: LtxFileInfo[] = [];
    for (let level = 0; level <= SNAPSHOT_LEVEL; level++) {
      files.push(...this.client.listFilesSync(level));
    }
    return files;
  }

  /**
   * A file's name for messages: the replica URL and its path in the replica.
   *
   * @param file The LTX file.
   * @returns For example `file:///r/ltx/0/0000000000000001-0000000000000001.ltx`.
   */
  describe(file: LtxFileInfo): string {
    let name = this.#names.get(file);
    if (name === undefined) {
      name = `${this.url}/${ltxPath(file.level, file.minTxid, file.maxTxid)}`;
      this.#names.set(file, name);
    }
    return name;
  }

  /**
   * The header and page index of a file, read once and remembered.
   *
   * @param file The LTX file.
   * @returns Its header (validated) and page index.
   * @throws {LtxError} When the file is malformed.
   */
  meta(file: LtxFileInfo): FileMeta {
    const key = this.describe(file);
    let meta = this.#meta.get(key);
    if (meta === undefined) {
      meta = this.#readMeta(file, key);
      this.#meta.set(key, meta);
    }
    return meta;
  }

  /**
   * The header timestamp of a file (ms since the epoch): when the last
   * transaction in it was committed. Read once (the header alone when the
   * page index is not needed) and remembered.
   *
   * @param file The LTX file.
   * @returns Its timestamp.
   * @throws {LtxError} When the header is malformed.
   */
  timestamp(file: LtxFileInfo): number {
    const key = this.describe(file);
    const meta = this.#meta.get(key);
    if (meta !== undefined) return meta.header.timestamp;
    let header = this.#headers.get(key);
    if (header === undefined) {
      header = decodeHeader(
        this.client.readRangeSync(file, 0, HEADER_SIZE),
        key,
      );
      validateHeader(header, key);
      this.#headers.set(key, header);
    }
    return header.timestamp;
  }

  /**
   * Forgets the headers of files no longer listed.
   *
   * @param listed Every file the replica holds now.
   */
  forgetUnlisted(listed: Iterable<LtxFileInfo>): void {
    const keep = new Set<string>();
    for (const file of listed) keep.add(this.describe(file));
    for (const key of this.#headers.keys()) {
      if (!keep.has(key)) this.#headers.delete(key);
    }
  }

  /**
   * Forgets the metadata of files no longer listed, so a long-lived replica
   * does not keep every file it ever saw.
   *
   * @param live The files still in use.
   */
  retain(live: Iterable<LtxFileInfo>): void {
    const keep = new Set<string>();
    for (const file of live) keep.add(this.describe(file));
    for (const key of this.#meta.keys()) {
      if (!keep.has(key)) this.#meta.delete(key);
    }
  }

  /** Closes the storage client. */
  close(): void {
    this.#meta.clear();
    this.#headers.clear();
    this.client.close();
  }

  #readMeta(file: LtxFileInfo, name: string): FileMeta {
    const { size } = file;
    let head: Uint8Array;
    let tail: Uint8Array;
    if (size <= SMALL_FILE_SIZE) {
      const whole = this.client.readRangeSync(file, 0, size);
      head = whole.subarray(0, HEADER_SIZE);
      tail = whole;
    } else {
      head = this.client.readRangeSync(file, 0, HEADER_SIZE);
      tail = this.#readTail(file, Math.min(size, TAIL_GUESS));
      const needed = indexTailLength(tail, size, name);
      if (needed > tail.length) tail = this.#readTail(file, needed);
    }
    const header = decodeHeader(head, name);
    validateHeader(header, name);
    const { index } = decodeTail(tail, size, { file: name });
    const pgnos = new Uint32Array(index.length);
    const offsets = new Float64Array(index.length);
    const sizes = new Uint32Array(index.length);
    index.forEach((entry, i) => {
      pgnos[i] = entry.pgno;
      offsets[i] = entry.offset;
      sizes[i] = entry.size;
    });
    return { header, index: { pgnos, offsets, sizes } };
  }

  #readTail(file: LtxFileInfo, length: number): Uint8Array {
    return this.client.readRangeSync(file, file.size - length, length);
  }
}
