/**
 * The synchronous contract between the VFS bridge (`src/vfs`) and the engine:
 * one {@linkcode DatabaseFile} per main-database file SQLite opens with the
 * "litestream" VFS.
 *
 * SQLite calls VFS methods synchronously on the thread that runs it, so every
 * method here returns its answer directly; the engine blocks on storage when
 * it must (see ARCHITECTURE.md, "The engine is synchronous").
 *
 * @module
 */

/**
 * The shim's page-cache counters for one file, handed to
 * {@linkcode DatabaseFile.close} so the engine can log them: cache hits never
 * reach the engine otherwise.
 */
export interface CacheCounters {
  /** Page lookups answered by the cache. */
  hits: number;
  /** Page lookups that went to the engine. */
  misses: number;
  /** Pages evicted to stay within the byte bound. */
  evictions: number;
  /** Times the cache was emptied because the view version changed. */
  drops: number;
  /** Bytes of page content held now. */
  bytes: number;
  /** Pages held now. */
  pages: number;
  /** The byte bound (`cache_size`); for the process, the sum over open files. */
  maxBytes: number;
  /** Reads the shim served from local files (hydration file, frame map), with no engine call. */
  localReads: number;
  /** Page reads that went to the engine (`readPages` calls). */
  engineReads: number;
}

/** The pages one {@linkcode DatabaseFile.readPages} call wrote. */
export interface PageRun {
  /** The first page number of the run. */
  readonly first: number;
  /** How many consecutive pages, from `first`. */
  readonly count: number;
}

/** The lock levels a writer moves between (SQLite's `SQLITE_LOCK_*`). */
export type WriteLockLevel = "shared" | "reserved" | "exclusive";

/** One main-database file opened through the VFS, as the engine serves it. */
export interface DatabaseFile {
  /**
   * Database page size in bytes; fixed for the life of the file, except
   * that the first write to a new, empty database may set it.
   */
  readonly pageSize: number;

  /** Whether the file is open for writing (write mode). */
  readonly writable: boolean;

  /**
   * Starts a read transaction (SQLite's SHARED lock). Applies whatever the
   * poller found since the last one, then pins the view until
   * {@linkcode DatabaseFile.endRead}.
   *
   * @returns The view's version: equal across calls exactly when the
   * database content is unchanged, so the shim keeps its page cache while it
   * is equal and drops it when it is not.
   */
  beginRead(): bigint;

  /** Ends the read transaction (lock back to NONE). */
  endRead(): void;

  /**
   * Which pages of the current read the shim may read from local disk
   * itself, with no call into the engine: a generation number that changes
   * whenever that changes (the shim then asks {@linkcode DatabaseFile.localMap}),
   * or 0 for none. The engine keeps what the map names unchanged until
   * {@linkcode DatabaseFile.endRead}.
   *
   * @returns The local map's generation, 0 when nothing is local.
   */
  localGeneration(): number;

  /**
   * The local map of the current read, encoded for the shim (see
   * `local_map.ts`): the hydration file, or where each page's frame lies in
   * local LTX files. Page 1 is never in it: it comes from
   * {@linkcode DatabaseFile.readPages}, patched.
   *
   * @returns The encoded map; empty when {@linkcode DatabaseFile.localGeneration} is 0.
   */
  localMap(): Uint8Array;

  /** Size of the database in bytes, in the current view. */
  size(): number;

  /**
   * Reads page `pgno` (1-based) of the current view and, when the engine
   * judges it worth it (read-ahead), its neighbours: a run of consecutive
   * pages that holds `pgno`, written one page after another from the start
   * of `out`. Page 1 comes back patched as ARCHITECTURE.md describes
   * (rollback journal mode, change counter derived from the view's TXID).
   *
   * @param pgno The page asked for.
   * @param out Room for one or more whole pages: its length is a multiple
   * of {@linkcode DatabaseFile.pageSize}, the most pages the caller takes.
   * @returns The run written: at least 1 page, at most what `out` holds,
   * from page `first`, with `first <= pgno < first + count`.
   * @throws {Error} An engine or storage error; the bridge maps it to a
   * SQLite result code with `sqliteCodeOf()`.
   */
  readPages(pgno: number, out: Uint8Array): PageRun;

  /**
   * Answers a `PRAGMA litestream_*` (SQLITE_FCNTL_PRAGMA) or one of the SQL
   * functions, which the shim turns into the same call:
   *
   * | call | name | value |
   * | --- | --- | --- |
   * | `PRAGMA litestream_txid`, `litestream_txid()` | `litestream_txid` | null |
   * | `PRAGMA litestream_time`, `litestream_time()` | `litestream_time` | null |
   * | `PRAGMA litestream_time = 'x'`, `litestream_set_time('x')` | `litestream_time` | `x` |
   * | `PRAGMA litestream_lag`, `litestream_lag()` | `litestream_lag` | null |
   * | `PRAGMA litestream_write_enabled [= x]` | `litestream_write_enabled` | null or `x` |
   * | `PRAGMA litestream_hydration_file` | `litestream_hydration_file` | null |
   * | `PRAGMA litestream_hydration_progress` | `litestream_hydration_progress` | null |
   * | `PRAGMA litestream_hydration` | `litestream_hydration` | null |
   *
   * Plain strings in and out, so any port (host or pipe) carries it. A set
   * may come inside a read transaction (a function in a `SELECT ... FROM`,
   * or between the statements of `BEGIN ... COMMIT`): it is checked at once,
   * and so errors at once, but the view moves only when the read ends.
   *
   * @param name The pragma's name as written (any case).
   * @param value Its value for a set, null for a get.
   * @returns The result text (one row); null when done without a result
   * (a set); undefined when the pragma is not the engine's, so that SQLite
   * handles it as usual.
   * @throws {Error} A message for the user, e.g. an unparsable time or one
   * before the oldest state: the shim returns it as the SQL error.
   */
  pragma(name: string, value: string | null): string | null | undefined;

  /**
   * Moves the file's write lock: up from SHARED to RESERVED (a write
   * transaction starts) or EXCLUSIVE (it is about to write pages), or back
   * down to SHARED, which ends the write transaction and drops the pages
   * staged since the last {@linkcode DatabaseFile.commit}.
   *
   * @param level The level asked for.
   * @throws {BusyError} When another connection holds the writer's lock,
   * readers hold the database for EXCLUSIVE, or the writer is in conflict.
   * @throws {ReadOnlyError} When the file is not writable now (write mode
   * off, or time travel).
   */
  lockWrite(level: WriteLockLevel): void;

  /**
   * Stages bytes of the write transaction under way: whole pages at a page
   * boundary. The first write of a new, empty database sets its page size.
   *
   * @param offset Where in the database.
   * @param data The pages.
   */
  write(offset: number, data: Uint8Array): void;

  /**
   * Stages the database size.
   *
   * @param size The size in bytes, a whole number of pages.
   */
  truncate(size: number): void;

  /**
   * Makes the staged pages durable (SQLite's commit, phase two): they are
   * in the write buffer, fsync'd, when this returns, and sync to the
   * replica at the sync interval.
   *
   * @returns The view version the commit makes, for the shim to keep its
   * cache (which holds the pages) under.
   */
  commit(): bigint;

  /**
   * Releases the file; idempotent.
   *
   * @param cache The shim's counters for the file's page cache, to log.
   */
  close(cache?: CacheCounters): void;
}

/**
 * Opens a main-database file for the VFS.
 *
 * @param name The database name SQLite passed to `xOpen`.
 * @param params The URI parameters of the database name (`replica_url`,
 * `poll_interval`, `cache_size`, ...), as Litestream's VFS names them.
 */
export type DatabaseFileOpener = (
  name: string,
  params: ReadonlyMap<string, string>,
) => DatabaseFile;
