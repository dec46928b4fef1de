/**
 * A write-mode session: the transactions of one writer, kept in its
 * {@linkcode WriteBuffer} and synced to the replica as one level-0 LTX file
 * at a time (ARCHITECTURE.md, "Writes"): the part that decides what is
 * uploaded, when it may be, and what happens to the buffer. `writer.ts`
 * drives it from the VFS.
 *
 * A sync uploads only on top of the state the buffer was built on: the
 * replica's latest TXID must still be the base's, and the upload itself is
 * create-only, so that of two writers racing for the next TXID exactly one
 * wins. The loser gets a {@linkcode ConflictError}; its transactions stay in
 * its buffer for inspection. The buffer is emptied only once the storage
 * confirmed the upload; any other failure leaves it as it was, to try again.
 *
 * @module
 */

import { decodeFile, formatTxid, lockPgno } from "../ltx/mod.ts";
import {
  FileExistsError,
  type LtxFileInfo,
  type RetryOptions,
  type SyncReplicaClient,
} from "../storage/mod.ts";
import { ConflictError } from "./errors.ts";
import { buildLevel0File, type ReadBasePages } from "./level0_file.ts";
import type { Replica } from "./replica.ts";
import { type WriteBase, WriteBuffer } from "./write_buffer.ts";

/** A client that can create files. */
type WritableClient =
  & SyncReplicaClient
  & Required<Pick<SyncReplicaClient, "createFileSync">>;

/** What a session starts from. */
export interface WriteSessionOptions {
  /** The replica written to; its client must support create-only writes. */
  replica: Replica;
  /** The write buffer's file. */
  bufferPath: string;
  /** The database page size. */
  pageSize: number;
  /** The replica state new transactions apply to, and its size in pages. */
  base: WriteBase & { pageCount: number };
  /**
   * Reads a page of the state the buffer currently applies to, for
   * database checksums (only called when that state tracks one). That
   * state moves with each sync: the caller reads through its view.
   */
  readBase: ReadBasePages;
  /** Clock in ms, for file timestamps. */
  now?: () => number;
}

/** What a sync uploaded. */
export interface Upload {
  /** The file as stored. */
  readonly file: LtxFileInfo;
  /** Its bytes. */
  readonly bytes: Uint8Array;
}

/** One writer's transactions and their syncs. */
export class WriteSession {
  /** The write buffer. */
  readonly buffer: WriteBuffer;
  #replica: Replica;
  #client: WritableClient;
  #basePageCount: number;
  #readBase: ReadBasePages;
  #now: () => number;

  /**
   * Opens the session and its buffer, taking up the transactions a crashed
   * process left in it (see {@linkcode WriteBuffer.open}): they sync on top
   * of the base they were made on, or conflict.
   *
   * @param options The replica, buffer, page size and base.
   * @throws {TypeError} When the replica cannot be written to.
   */
  constructor(options: WriteSessionOptions) {
    const client = options.replica.client;
    if (client.createFileSync === undefined) {
      throw new TypeError(
        `Replica "${options.replica.url}" cannot be written to in this version`,
      );
    }
    this.#client = client as WritableClient;
    this.#replica = options.replica;
    this.buffer = WriteBuffer.open(
      options.bufferPath,
      options.pageSize,
      options.base,
    );
    this.#basePageCount = options.base.pageCount;
    this.#readBase = options.readBase;
    this.#now = options.now ?? Date.now;
  }

  /** The database size in pages as the writer sees it. */
  get pageCount(): number {
    return this.buffer.pageCount ?? this.#basePageCount;
  }

  /**
   * Moves an empty buffer onto another base: the replica moved on while
   * this writer had nothing to sync, and its next transaction builds on
   * the new state.
   *
   * @param base The state, and its size in pages.
   * @throws {RangeError} When the buffer holds transactions.
   */
  rebase(base: WriteBase & { pageCount: number }): void {
    if (!this.buffer.isEmpty) {
      throw new RangeError(
        `Cannot move the write buffer "${this.buffer.path}" to another base: it holds ${this.buffer.transactions} transaction(s)`,
      );
    }
    this.#basePageCount = base.pageCount;
    this.buffer.reset(base);
  }

  /**
   * Uploads the committed transactions as the next level-0 file.
   *
   * @param options A shorter retry budget, for a sync tried again later.
   * @returns What was uploaded, or undefined when there was nothing to sync.
   * @throws {ConflictError} When the replica is no longer at the buffer's
   * base, or another writer created the same TXID first; the buffer keeps
   * the transactions.
   * @throws {StorageError} When the upload failed; the buffer keeps them,
   * and the next sync tries again.
   */
  sync(options?: RetryOptions): Upload | undefined {
    const buffer = this.buffer;
    if (buffer.isEmpty) return undefined;
    const { txid: baseTxid } = buffer.base;
    const listing = this.#replica.listAll(options);
    const latest = listing.reduce(
      (max, f) => f.maxTxid > max ? f.maxTxid : max,
      0n,
    );
    if (latest !== baseTxid) {
      const own = this.#uploadedAlready(listing);
      if (own !== undefined) return own;
      throw this.#conflict(latest);
    }
    const file = buildLevel0File(
      buffer,
      this.#basePageCount,
      this.#readBase,
      this.#now(),
    );
    const stored = { level: 0, minTxid: file.txid, maxTxid: file.txid };
    try {
      this.#client.createFileSync(stored, file.bytes, options);
    } catch (error) {
      if (error instanceof FileExistsError) {
        throw this.#conflict(file.txid, error);
      }
      throw error;
    }
    this.#basePageCount = buffer.pageCount!;
    buffer.reset({ txid: file.txid, checksum: file.checksum });
    return {
      file: { ...stored, size: file.bytes.length, createdAt: this.#now() },
      bytes: file.bytes,
    };
  }

  /**
   * Takes up the upload of an earlier sync that never emptied the buffer
   * (the process died, or the storage's answer was lost, after the file was
   * written): the replica is at the next TXID, in a level-0 file holding
   * exactly the buffer's pages. The buffer then moves onto it.
   *
   * @param listing The replica's files now.
   * @returns The file, when it is this buffer's; undefined otherwise.
   */
  #uploadedAlready(listing: readonly LtxFileInfo[]): Upload | undefined {
    const buffer = this.buffer;
    const txid = buffer.base.txid + 1n;
    const file = listing.find((f) =>
      f.level === 0 && f.minTxid === txid && f.maxTxid === txid
    );
    const latest = listing.every((f) => f.maxTxid <= txid);
    if (file === undefined || !latest) return undefined;
    const bytes = this.#client.readRangeSync(file, 0, file.size);
    const stored = decodeFile(bytes, { file: this.#replica.describe(file) });
    const lock = lockPgno(buffer.pageSize);
    const ours = [...buffer.committedPages()].filter(([pgno]) => pgno !== lock);
    const same = stored.header.commit === buffer.pageCount &&
      stored.header.preApplyChecksum ===
        (stored.header.flags === 0 ? buffer.base.checksum : 0n) &&
      stored.pages.length === ours.length &&
      stored.pages.every(({ pgno, data }, i) =>
        pgno === ours[i][0] && data.every((byte, j) => byte === ours[i][1][j])
      );
    if (!same) return undefined;
    this.#basePageCount = buffer.pageCount!;
    buffer.reset({ txid, checksum: stored.postApplyChecksum });
    return { file, bytes };
  }

  /** Closes the buffer; unsynced transactions stay in it for the next open. */
  close(): void {
    this.buffer.close();
  }

  #conflict(latest: bigint, cause?: unknown): ConflictError {
    const buffer = this.buffer;
    return new ConflictError(
      `Another writer moved "${this.#replica.url}" to TXID ${
        formatTxid(latest)
      } after this writer's base ${
        formatTxid(buffer.base.txid)
      }: nothing was uploaded, and this writer's ${buffer.transactions} transaction(s) stay in "${buffer.path}"`,
      buffer.path,
      { cause },
    );
  }
}
