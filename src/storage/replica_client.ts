/**
 * The storage contract: what the engine needs from a replica, whatever holds
 * it.
 *
 * Two shapes exist because SQLite is synchronous and storage SDKs are not
 * (ARCHITECTURE.md): backends implement the asynchronous
 * {@linkcode ReplicaClient}, which runs in the storage worker; the engine
 * reads through a {@linkcode SyncReplicaClient}, which the `file://` backend
 * implements directly and the worker bridge implements for the others.
 *
 * @module
 */

/** One LTX file of a replica, as a listing describes it. */
export interface LtxFileInfo {
  /** Compaction level: 0..8, or 9 for snapshots. */
  readonly level: number;
  /** First TXID the file covers. */
  readonly minTxid: bigint;
  /** Last TXID the file covers. */
  readonly maxTxid: bigint;
  /** Size of the file in bytes. */
  readonly size: number;
  /** When the file was written, in ms since the epoch (storage's clock). */
  readonly createdAt: number;
}

/**
 * How long one call may spend retrying: a remote backend retries transient
 * failures within a budget (10 s by default); background work that is
 * tried again later anyway gives a shorter one, so that an outage never
 * holds it long. Local clients ignore it.
 */
export interface RetryOptions {
  /** Bound on the time the call spends retrying, in ms. */
  retryBudgetMs?: number;
}

/** Asynchronous access to a replica's LTX files (runs in the storage worker). */
export interface ReplicaClient {
  /** The replica URL with any credentials removed, for messages and logs. */
  readonly url: string;
  /** Lists the LTX files of one level, ordered by `minTxid`; `[]` when none. */
  listFiles(level: number, options?: RetryOptions): Promise<LtxFileInfo[]>;
  /** Reads `length` bytes of `file` from `offset`. */
  readRange(
    file: LtxFileInfo,
    offset: number,
    length: number,
  ): Promise<Uint8Array>;
  /**
   * Writes a new LTX file, only if no file of that name exists, atomically:
   * of two writers racing for one name, exactly one succeeds.
   *
   * @throws {FileExistsError} When the file exists (with other bytes).
   */
  createFile?(
    file: LtxFileName,
    bytes: Uint8Array,
    options?: RetryOptions,
  ): Promise<void>;
}

/** What names an LTX file in a replica. */
export type LtxFileName = Pick<LtxFileInfo, "level" | "minTxid" | "maxTxid">;

/** One range read of a batch. */
export interface RangeRequest {
  /** The LTX file to read. */
  readonly file: LtxFileInfo;
  /** First byte to read. */
  readonly offset: number;
  /** Number of bytes to read. */
  readonly length: number;
}

/** A listing of every level, as {@linkcode SyncReplicaClient.pollSync} gives it. */
export interface Listing {
  /** Every LTX file of levels 0 through 9, by level, then by `minTxid`. */
  readonly files: LtxFileInfo[];
  /** How long ago the listing was taken, in ms; 0 when just now. */
  readonly ageMs: number;
}

/** Synchronous access to a replica's LTX files, as the engine uses it. */
export interface SyncReplicaClient {
  /** The replica URL with any credentials removed, for messages and logs. */
  readonly url: string;
  /** Lists the LTX files of one level, ordered by `minTxid`; `[]` when none. */
  listFilesSync(level: number): LtxFileInfo[];
  /**
   * Lists every level, 0 through 9, in one blocking call; remote backends
   * list the levels in parallel.
   */
  listAllSync(options?: RetryOptions): LtxFileInfo[];
  /**
   * The newest listing of every level that the client can give without
   * waiting for storage, kept about `intervalMs` fresh. A local client lists
   * there and then; the storage worker polls on its own timer from the
   * first call on (which waits for a first listing) and answers with what
   * it found last, so a read transaction never waits for a LIST.
   *
   * @param intervalMs How often to poll; the shortest asked for wins.
   * @throws {StorageError} When the latest poll failed.
   */
  pollSync(intervalMs: number): Listing;
  /** Reads `length` bytes of `file` from `offset` into `out` (at least `length` long). */
  readRangeSync(
    file: LtxFileInfo,
    offset: number,
    length: number,
    out?: Uint8Array,
  ): Uint8Array;
  /**
   * Reads many ranges in one blocking call; remote backends run them in
   * parallel (a bounded number at once). Results are in request order.
   */
  readRangesSync(requests: readonly RangeRequest[]): Uint8Array[];
  /**
   * Where a file lies on local disk, whole, if it does (a `file://`
   * replica's own files), so that the shim may read its frames itself.
   *
   * @returns The path, or undefined when the file is not local.
   */
  localPath?(file: LtxFileInfo): string | undefined;
  /**
   * Asks for a whole copy of a file on local disk (the disk cache of a
   * remote replica), made in the background: later reads of the file, and
   * the shim, then find it there. Returns at once; a no-op where there is
   * no disk cache or the copy exists.
   */
  keepLocal?(file: LtxFileInfo): void;
  /**
   * {@linkcode ReplicaClient.createFile}, blocking until the storage
   * confirmed the write.
   *
   * @throws {FileExistsError} When the file exists (with other bytes).
   */
  createFileSync?(
    file: LtxFileName,
    bytes: Uint8Array,
    options?: RetryOptions,
  ): void;
  /** Releases open handles; idempotent. */
  close(): void;
}
