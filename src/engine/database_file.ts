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

/** One main-database file opened through the VFS, as the engine serves it. */
export interface DatabaseFile {
  /** Database page size in bytes; fixed for the life of the file. */
  readonly pageSize: number;

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

  /** Size of the database in bytes, in the current view. */
  size(): number;

  /**
   * Fills `out` (exactly {@linkcode DatabaseFile.pageSize} bytes) with page
   * `pgno` (1-based) of the current view. Page 1 comes back patched as
   * ARCHITECTURE.md describes (rollback journal mode, change counter derived
   * from the view's TXID).
   *
   * @throws {Error} An engine or storage error; the bridge maps it to a
   * SQLite result code with `sqliteCodeOf()`.
   */
  readPage(pgno: number, out: Uint8Array): void;

  /** Releases the file; idempotent. */
  close(): void;
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
