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
  validateHeader,
} from "../ltx/mod.ts";
import type {
  LtxFileInfo,
  RangeRequest,
  RetryOptions,
  SyncReplicaClient,
} from "../storage/mod.ts";
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
  /** The database checksum after the file; 0 when untracked. */
  readonly postApplyChecksum: bigint;
  /** The file checksum its trailer states (checked only by verification). */
  readonly fileChecksum: bigint;
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
  #bytesFetched = 0;

  /** @param client The storage client; the replica closes it. */
  constructor(client: SyncReplicaClient) {
    this.client = client;
  }

  /** The replica URL, credentials removed. */
  get url(): string {
    return this.client.url;
  }

  /** Bytes read from the replica's files so far through this object. */
  get bytesFetched(): number {
    return this.#bytesFetched;
  }

  /**
   * Reads a range of a file, counted in {@linkcode Replica.bytesFetched}.
   *
   * @param file The LTX file.
   * @param offset The first byte.
   * @param length How many bytes.
   * @param out Where to put them, at least `length` long; a new array if omitted.
   * @returns The bytes (a view of `out` when given).
   */
  readRange(
    file: LtxFileInfo,
    offset: number,
    length: number,
    out?: Uint8Array,
  ): Uint8Array {
    const bytes = this.client.readRangeSync(file, offset, length, out);
    this.#bytesFetched += length;
    return bytes;
  }

  /**
   * Reads many ranges in one batch (in parallel against remote storage),
   * counted in {@linkcode Replica.bytesFetched}.
   *
   * @param requests The ranges.
   * @returns Their bytes, in request order.
   */
  readRanges(requests: readonly RangeRequest[]): Uint8Array[] {
    const reads = this.client.readRangesSync(requests);
    for (const r of requests) this.#bytesFetched += r.length;
    return reads;
  }

  /**
   * Lists the LTX files of every level.
   *
   * @param options A shorter retry budget, for work tried again later.
   * @returns All files, levels 0 through 9.
   */
  listAll(options?: RetryOptions): LtxFileInfo[] {
    return this.client.listAllSync(options);
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
      this.prefetchMeta([file]);
      meta = this.#meta.get(key)!;
    }
    return meta;
  }

  /**
   * Reads the headers and page indexes of many files at once: one batch of
   * range reads (a small file whole, a larger one's header and tail), and a
   * second batch only for indexes longer than the tail guessed. Against
   * remote storage the batch runs in parallel, so opening costs about two
   * round trips whatever the number of files.
   *
   * @param files The files whose metadata {@linkcode Replica.meta} will be
   * asked for.
   * @throws {LtxError} When a file is malformed.
   */
  prefetchMeta(files: readonly LtxFileInfo[]): void {
    const missing = files.filter((f) => !this.#meta.has(this.describe(f)));
    if (missing.length === 0) return;
    const requests: RangeRequest[] = [];
    for (const file of missing) {
      if (file.size <= SMALL_FILE_SIZE) {
        requests.push({ file, offset: 0, length: file.size });
      } else {
        requests.push({ file, offset: 0, length: HEADER_SIZE });
        requests.push(tailRequest(file, Math.min(file.size, TAIL_GUESS)));
      }
    }
    const reads = this.readRanges(requests);
    const heads: Uint8Array[] = [];
    const tails: Uint8Array[] = [];
    let next = 0;
    for (const file of missing) {
      if (file.size <= SMALL_FILE_SIZE) {
        const whole = reads[next++];
        heads.push(whole.subarray(0, HEADER_SIZE));
        tails.push(whole);
      } else {
        heads.push(reads[next++]);
        tails.push(reads[next++]);
      }
    }
    // Indexes longer than the guess: one more batch for all of them.
    const short: number[] = [];
    missing.forEach((file, i) => {
      const needed = indexTailLength(tails[i], file.size, this.describe(file));
      if (needed > tails[i].length) short.push(i);
    });
    if (short.length > 0) {
      const longer = this.readRanges(
        short.map((i) =>
          tailRequest(
            missing[i],
            indexTailLength(
              tails[i],
              missing[i].size,
              this.describe(missing[i]),
            ),
          )
        ),
      );
      short.forEach((i, j) => tails[i] = longer[j]);
    }
    missing.forEach((file, i) => {
      const name = this.describe(file);
      this.#meta.set(name, parseMeta(heads[i], tails[i], file.size, name));
    });
  }

  /**
   * Takes the metadata of a file this process wrote from its bytes, so that
   * reading it costs no request.
   *
   * @param file The file as stored.
   * @param bytes Its whole content.
   * @throws {LtxError} When the bytes are not a valid LTX file.
   */
  learn(file: LtxFileInfo, bytes: Uint8Array): void {
    const name = this.describe(file);
    this.#meta.set(
      name,
      parseMeta(bytes.subarray(0, HEADER_SIZE), bytes, bytes.length, name),
    );
  }

  /**
   * Reads the headers of many files at once (one batch), for time travel,
   * which needs every file's timestamp but only the chosen files' indexes.
   *
   * @param files The files whose {@linkcode Replica.timestamp} will be asked for.
   * @throws {LtxError} When a header is malformed.
   */
  prefetchHeaders(files: readonly LtxFileInfo[]): void {
    const missing = files.filter((f) => {
      const key = this.describe(f);
      return !this.#meta.has(key) && !this.#headers.has(key);
    });
    if (missing.length === 0) return;
    const heads = this.readRanges(
      missing.map((file) => ({ file, offset: 0, length: HEADER_SIZE })),
    );
    missing.forEach((file, i) => {
      const name = this.describe(file);
      const header = decodeHeader(heads[i], name);
      validateHeader(header, name);
      this.#headers.set(name, header);
    });
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
    if (!this.#headers.has(key)) this.prefetchHeaders([file]);
    return this.#headers.get(key)!.timestamp;
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
}

function tailRequest(file: LtxFileInfo, length: number): RangeRequest {
  return { file, offset: file.size - length, length };
}

function parseMeta(
  head: Uint8Array,
  tail: Uint8Array,
  size: number,
  name: string,
): FileMeta {
  const header = decodeHeader(head, name);
  validateHeader(header, name);
  const { index, postApplyChecksum, fileChecksum } = decodeTail(tail, size, {
    file: name,
  });
  const pgnos = new Uint32Array(index.length);
  const offsets = new Float64Array(index.length);
  const sizes = new Uint32Array(index.length);
  index.forEach((entry, i) => {
    pgnos[i] = entry.pgno;
    offsets[i] = entry.offset;
    sizes[i] = entry.size;
  });
  return {
    header,
    index: { pgnos, offsets, sizes },
    postApplyChecksum,
    fileChecksum,
  };
}
