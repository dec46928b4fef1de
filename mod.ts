/**
 * lsvfs: query a Litestream replica in place, with SQL, without restoring it.
 *
 * {@linkcode open} opens the latest state of a replica as an SQLite database,
 * read-only unless write mode is asked for (see below): pages are read on
 * demand from the replica's LTX files, cached in the C shim, and kept
 * current by polling between read transactions. Replicas may be on any of
 * Litestream's backends (`file://`, `s3://`, `gs://`, `abs://`, `oss://`,
 * `sftp://`, `nats://`, `webdav://`; see the README for their settings).
 * {@linkcode register} registers the VFS "litestream" for connections you
 * open yourself with `file:NAME?vfs=litestream&replica_url=...`.
 *
 * Time travel, as in Litestream's VFS: every connection that uses the VFS
 * has the SQL functions `litestream_txid()`, `litestream_time()`,
 * `litestream_lag()` and `litestream_set_time(time)`, and the PRAGMAs
 * `litestream_txid`, `litestream_lag` and `litestream_time` (get and set);
 * {@linkcode Database.setTime} and {@linkcode Database.replicaState} wrap
 * them. A time is RFC 3339 or relative (`5 minutes ago`, `yesterday`,
 * `last week`), evaluated in UTC; `LATEST` returns to the live view. The
 * view moves to the newest state whose LTX header time is at or before the
 * target (a file stamped exactly at it counts: setting the time that
 * `litestream_time()` reported gives the same view) and stops polling until
 * `LATEST`. Set inside a read transaction, it moves when that transaction
 * ends; errors (an unreadable time, one before the oldest state, which the
 * message names) come at once and leave the view as it was. Where this
 * differs from Litestream's VFS: `litestream_time()` is the commit time of
 * the state shown, in time travel too (Litestream's returns the target);
 * `litestream_lag()` counts from the listing at open (Litestream's reads -1
 * until its first poll); PRAGMA errors carry their message (Litestream's
 * read "SQL logic error").
 *
 * Settings: each URI parameter (or `open()` option) over its environment
 * variable over the default: `replica_url` / `LITESTREAM_REPLICA_URL`,
 * `poll_interval` / `LITESTREAM_POLL_INTERVAL`, `cache_size`, `log_level` /
 * `LITESTREAM_LOG_LEVEL` (DEBUG, INFO, WARN, ERROR; INFO by default),
 * `log_file` / `LITESTREAM_LOG_FILE` (standard error by default), and the
 * write-mode settings `write_enabled` / `LITESTREAM_WRITE_ENABLED`,
 * `sync_interval` / `LITESTREAM_SYNC_INTERVAL`, `buffer_path` /
 * `LITESTREAM_BUFFER_PATH` (see "Write mode" below). A malformed value fails
 * the open with a message naming the parameter or variable.
 *
 * Integrity (`{ verify }`, `verify`, `LSVFS_VERIFY`): LTX files are checked
 * against their file checksum in a worker thread (`background`, the default
 * for `file://` replicas and with hydration), before their pages are served
 * (`strict`), or not at all (`off`, the default for remote replicas, where a
 * check downloads the whole file). A bad file's pages fail with
 * `SQLITE_CORRUPT` from then on. {@linkcode Database.status}
 * (`PRAGMA litestream_status`) reports the view's TXID, lag, whether polls
 * work (a failing one leaves the last good state in place, and says so),
 * the files verified and bad, cache hits and misses, and bytes fetched.
 *
 * Write mode (`{ write: true }`, `write_enabled`): SQLite writes as usual;
 * each COMMIT returns once its pages are fsync'd in the write buffer
 * (`buffer_path`), and at the sync interval (`sync_interval`, 1 s) the
 * committed transactions are uploaded as one level-0 LTX file, or at once
 * with {@linkcode Database.sync}. Every upload is create-only on top of
 * the TXID the transactions were built on: if another writer moved the
 * replica first, nothing is uploaded, writes fail with `SQLITE_BUSY` and a
 * message naming the buffer, which keeps the transactions. One connection
 * of a process writes at a time (`SQLITE_BUSY` for another); others read
 * meanwhile, and see each commit. Time travel is read-only. A buffer left
 * by a killed process is uploaded at the next open if the replica has not
 * moved, else reported as a conflict.
 *
 * Permissions: `--allow-ffi` (libsqlite3 and the shim), `--allow-read` on
 * the replica directory and the shim, `--allow-env` for the variables above
 * and `LSVFS_SQLITE_LIB` (optional: unreadable variables count as unset),
 * `--allow-write` on a log file, and the first time only, `--allow-write`
 * and `--allow-run=cc` to build the shim into `dist/`.
 *
 * @example Query a replica
 * ```ts ignore
 * import { open } from "./mod.ts";
 *
 * using db = open("file:///var/backups/app");
 * for (const row of db.query("SELECT id, name FROM users LIMIT 5")) {
 *   console.log(row);
 * }
 * ```
 *
 * @module
 */

import {
  BusyError,
  ConfigError,
  ConflictError,
  CorruptFileError,
  Engine,
  PageNotFoundError,
  parseCount,
  parseDuration,
  parseLogLevel,
  parseStatus,
  parseVerification,
  ReplicaNotFoundError,
  type ReplicaStatus,
  TimeTravelError,
  TxidGapError,
  type Verification,
} from "./src/engine/mod.ts";
import type { LogLevel } from "./src/log/mod.ts";
import { LtxError } from "./src/ltx/mod.ts";
import {
  type BindParams,
  Database as SqliteDatabase,
  type DatabaseOptions,
  SQLITE_READONLY,
  SqliteError,
  Statement,
} from "./src/sqlite/mod.ts";
import { redactUrl, ReplicaUrlError, StorageError } from "./src/storage/mod.ts";
import {
  type CacheStats,
  registerVfs,
  takeLastEngineError,
  type VfsRegistration,
} from "./src/vfs/mod.ts";

export {
  type BindParams,
  BusyError,
  type CacheStats,
  ConfigError,
  ConflictError,
  CorruptFileError,
  type LogLevel,
  LtxError,
  PageNotFoundError,
  ReplicaNotFoundError,
  type ReplicaStatus,
  ReplicaUrlError,
  SqliteError,
  Statement,
  StorageError,
  TimeTravelError,
  TxidGapError,
  type Verification,
  type VfsRegistration,
};

/** Options of {@linkcode register}. */
export interface RegisterOptions {
  /** The libsqlite3 to use (path or file name); `LSVFS_SQLITE_LIB` or the system library by default. */
  library?: string;
}

/** Options of {@linkcode open}. */
export interface OpenOptions extends RegisterOptions {
  /**
   * How often to look for new transactions: milliseconds, or a Go duration
   * such as `"500ms"` or `"5s"` (Litestream's `poll_interval`). Default 1 s.
   */
  pollInterval?: number | string;
  /** Bytes of decoded pages the shim keeps (Litestream's `cache_size`). Default 10 MiB. */
  cacheSize?: number;
  /**
   * Range reads a remote replica runs at once (`max_in_flight`); default 64.
   * The first database to open a replica sets it for the process.
   */
  maxInFlight?: number;
  /** The database name SQLite sees (in messages); `"replica.db"` by default. */
  name?: string;
  /**
   * DEBUG, INFO, WARN or ERROR (Litestream's `LITESTREAM_LOG_LEVEL`, which
   * applies when this is not given); INFO by default. DEBUG logs every page
   * fetched from the replica (cache hits stay in the shim and are counted,
   * logged when the database closes).
   */
  logLevel?: LogLevel;
  /** A file to append the log to (`LITESTREAM_LOG_FILE`); standard error by default. */
  logFile?: string;
  /**
   * Restore the database to a local file in the background and keep it
   * current (Litestream's `hydration_enabled`); once it holds the view's
   * TXID, reads are served from it with no call into the engine. `true`
   * uses a temporary file removed at close; a path keeps the file, and the
   * next process that names it catches up from its TXID instead of starting
   * over (Litestream's `hydration_path`). Off by default, unless
   * `LITESTREAM_HYDRATION_ENABLED` says otherwise.
   */
  hydration?: boolean | string;
  /**
   * The fast path (`fast_path`, `LSVFS_FAST_PATH`): the shim reads and
   * decodes frames that lie in local files (a `file://` replica's own) in C,
   * with no call into the engine. On by default; `false` sends every page
   * read to the engine, for comparison and diagnosis.
   */
  fastPath?: boolean;
  /**
   * A directory for whole copies of a remote replica's LTX files
   * (`disk_cache`, `LSVFS_DISK_CACHE`): a file whose pages are read is
   * copied there in the background, is never fetched again, and is served
   * by the fast path. None by default. The first database to open a
   * replica sets it for the process.
   */
  diskCache?: string;
  /** Bound of the disk cache per replica, in bytes (`disk_cache_size`); 1 GiB by default. */
  diskCacheSize?: number;
  /**
   * How LTX files are checked against their file checksum (`verify`,
   * `LSVFS_VERIFY`): `"off"`; `"background"`, every file of the view once,
   * in a worker thread, after open and as new files arrive, a bad file's
   * pages then failing with `SQLITE_CORRUPT` (a {@linkcode CorruptFileError}
   * cause) and the file logged at ERROR; `"strict"`, each file checked
   * whole before any of its pages is served. `"background"` by default for
   * `file://` replicas and with hydration, else `"off"`: checking a remote
   * file downloads all of it. Files that checked out are remembered for
   * the life of the process, and in the disk cache when there is one.
   */
  verify?: Verification;
  /**
   * Write mode (Litestream's `write_enabled`, `LITESTREAM_WRITE_ENABLED`):
   * committed transactions are made durable in a local buffer file at
   * COMMIT, and uploaded to the replica as level-0 LTX files at the sync
   * interval. An empty replica opens as a new database. Off by default.
   */
  write?: boolean;
  /**
   * Time from a commit to its upload in write mode: milliseconds or a Go
   * duration (`sync_interval`, `LITESTREAM_SYNC_INTERVAL`); 1 s by default.
   */
  syncInterval?: number | string;
  /**
   * The write buffer file (`buffer_path`, `LITESTREAM_BUFFER_PATH`); by
   * default one per replica URL in the temporary directory, where the next
   * process finds what a killed one left.
   */
  bufferPath?: string;
}

/** Where a connection's view of its replica stands. */
export interface ReplicaState {
  /** The view's TXID: 16 hex digits (`litestream_txid()`). */
  txid: string;
  /**
   * When the view's state was committed, RFC 3339 in UTC
   * (`litestream_time()`), live or in time travel.
   */
  time: string;
  /** Whole seconds since the replica was last polled, -1 if never (`litestream_lag()`). */
  lag: number;
}

let engine: Engine | undefined;
let registration: VfsRegistration | undefined;

/**
 * Registers the VFS "litestream" in libsqlite3, once per process. Databases
 * opened with `vfs=litestream` then read the replica their `replica_url`
 * URI parameter names, or `LITESTREAM_REPLICA_URL`.
 *
 * @param options Which libsqlite3 to register in.
 * @returns The registration (cache counters, open files).
 *
 * @example Open a connection yourself
 * ```ts ignore
 * import { Database, register } from "./mod.ts";
 *
 * register();
 * using db = new Database(
 *   "file:app.db?vfs=litestream&replica_url=file:///var/backups/app",
 *   { readonly: true },
 * );
 * console.log(db.get("SELECT count(*) AS n FROM users"));
 * ```
 */
export function register(options: RegisterOptions = {}): VfsRegistration {
  if (registration === undefined) {
    const owner = engine ??= new Engine();
    registration = registerVfs({
      opener: (name, params) => owner.openFile(name, params),
      library: options.library,
    });
  }
  return registration;
}

/**
 * A SQLite connection with lsvfs's error reporting: when the VFS fails, the
 * error says why (no LTX files, a TXID gap, a corrupt file) instead of only
 * SQLite's result code, and a refused write points at write mode.
 */
export class Database extends SqliteDatabase {
  /**
   * Opens a connection, as {@linkcode SqliteDatabase} does, and registers
   * the litestream SQL functions on it when its main database uses the VFS.
   *
   * @param path A file name or `file:` URI (`file:app.db?vfs=litestream&...`).
   * @param options How to open it.
   */
  constructor(path: string, options?: DatabaseOptions) {
    super(path, options);
    registration?.registerFunctions(this.unsafeHandle);
  }

  /**
   * Travels in time (`litestream_set_time()`): the connection sees the
   * newest state of the replica at or before `time` and stops polling,
   * until the time is set again or to `"LATEST"`. Inside a read transaction
   * the view moves when it ends.
   *
   * @param time A `Date`, RFC 3339 text, a relative time such as
   * `"5 minutes ago"` or `"yesterday"` (UTC), or `"LATEST"`.
   * @throws {SqliteError} When the time cannot be read, or is before the
   * oldest state the replica holds (the message names that time); the
   * connection stays as it was.
   */
  setTime(time: Date | string): void {
    const text = time instanceof Date ? time.toISOString() : time;
    this.get("SELECT litestream_set_time(?)", text);
  }

  /**
   * Uploads this process's committed transactions now (write mode), rather
   * than at the sync interval (`PRAGMA litestream_sync`).
   *
   * @returns The TXID the replica is at afterwards, 16 hex digits.
   * @throws {SqliteError} `SQLITE_BUSY` when a write transaction is under
   * way or other connections read, or when another writer moved the
   * replica on first (the message names the buffer that keeps the
   * transactions, see {@linkcode ConflictError}); an I/O error when the
   * upload failed (the transactions stay in the buffer, and are tried
   * again at the sync interval).
   */
  sync(): string {
    return String(this.values("PRAGMA litestream_sync")[0][0]);
  }

  /**
   * Where this connection's view stands: TXID, commit time, lag.
   *
   * @returns The state.
   * @throws {SqliteError} When the database does not use the VFS.
   */
  replicaState(): ReplicaState {
    return this.get<ReplicaState>(
      "SELECT litestream_txid() AS txid, litestream_time() AS time, litestream_lag() AS lag",
    )!;
  }

  /**
   * The health of this connection's view (`PRAGMA litestream_status`): its
   * TXID, time and lag, whether polls work (and why not), its files and
   * their verification, the page cache's hits and misses, and the bytes
   * read from the replica.
   *
   * @returns The status.
   * @throws {SqliteError} When the database does not use the VFS.
   */
  status(): ReplicaStatus {
    return parseStatus(String(this.values("PRAGMA litestream_status")[0][0]));
  }

  /**
   * Runs a query and returns its rows as objects.
   *
   * @param sql One SQL statement.
   * @param params Positional values, or one object of named values.
   * @returns Every row.
   */
  query<T = Record<string, unknown>>(sql: string, ...params: BindParams): T[] {
    using statement = this.prepare<T>(sql);
    return statement.all(...params);
  }

  /**
   * Runs a query and returns its first row.
   *
   * @param sql One SQL statement.
   * @param params Positional values, or one object of named values.
   * @returns The first row, or undefined when there is none.
   */
  get<T = Record<string, unknown>>(
    sql: string,
    ...params: BindParams
  ): T | undefined {
    using statement = this.prepare<T>(sql);
    return statement.get(...params);
  }

  /**
   * Runs a query and returns its rows as arrays of values.
   *
   * @param sql One SQL statement.
   * @param params Positional values, or one object of named values.
   * @returns Every row, as an array in column order.
   */
  values(sql: string, ...params: BindParams): unknown[][] {
    using statement = this.prepare(sql);
    return statement.values(...params);
  }

  /**
   * Iterates over a query's rows without holding them all; the read
   * transaction lasts until the iteration ends.
   *
   * @param sql One SQL statement.
   * @param params Positional values, or one object of named values.
   * @returns An iterator of rows.
   */
  *iterate<T = Record<string, unknown>>(
    sql: string,
    ...params: BindParams
  ): Generator<T> {
    using statement = this.prepare<T>(sql);
    yield* statement.iter(...params);
  }

  /**
   * Adds the engine's reason to SQLite's error. Called by the binding for
   * every failed call on this connection.
   *
   * @param error SQLite's error.
   * @returns The error to throw.
   */
  explainError(error: SqliteError): SqliteError {
    const cause = takeLastEngineError();
    if (cause !== undefined) {
      // A PRAGMA or SQL function carries the engine's message already.
      const message = error.message.includes(cause.message)
        ? error.message
        : `${error.message}: ${cause.message}`;
      return new SqliteError(error.extendedCode, message, { cause });
    }
    if (error.code === SQLITE_READONLY) {
      return new SqliteError(
        error.extendedCode,
        `${error.message}: the replica is open read-only; open it with { write: true } to write`,
        { cause: error },
      );
    }
    return error;
  }
}

/**
 * Opens the latest state of a Litestream replica: read-only, or in write
 * mode with `{ write: true }`.
 * Several replicas may be open at once, each with its own URL and options.
 *
 * @param replicaUrl The replica: `file:///path/to/replica` or a directory path.
 * @param options Polling, cache size, database name, libsqlite3.
 * @returns The connection; close it (or `using`) when done.
 * @throws {SqliteError} When the replica cannot be opened; the message says
 * why, for example `No LTX files at "file:///..."`.
 *
 * @example Open and query
 * ```ts ignore
 * import { open } from "./mod.ts";
 *
 * using db = open("file:///var/backups/app", { pollInterval: "5s" });
 * console.log(db.get("SELECT count(*) AS n FROM users"));
 * ```
 */
export function open(replicaUrl: string, options: OpenOptions = {}): Database {
  register(options);
  const params = new URLSearchParams({ vfs: "litestream" });
  params.set("replica_url", replicaUrl);
  const setDuration = (
    param: string,
    name: string,
    value: number | string | undefined,
  ) => {
    if (value === undefined) return;
    const ms = typeof value === "number" ? value : parseDuration(value, name);
    params.set(param, `${ms}ms`);
  };
  setDuration("poll_interval", "pollInterval", options.pollInterval);
  if (options.write !== undefined) {
    params.set("write_enabled", String(options.write));
  }
  setDuration("sync_interval", "syncInterval", options.syncInterval);
  if (options.bufferPath !== undefined) {
    params.set("buffer_path", options.bufferPath);
  }
  if (options.logLevel !== undefined) {
    params.set("log_level", parseLogLevel(options.logLevel, "logLevel"));
  }
  if (options.logFile !== undefined) params.set("log_file", options.logFile);
  if (options.cacheSize !== undefined) {
    if (!Number.isSafeInteger(options.cacheSize) || options.cacheSize < 0) {
      throw new ConfigError(
        `Invalid cacheSize ${options.cacheSize}: use a whole number of bytes`,
      );
    }
    params.set("cache_size", String(options.cacheSize));
  }
  if (options.maxInFlight !== undefined) {
    params.set(
      "max_in_flight",
      String(parseCount(String(options.maxInFlight), "maxInFlight")),
    );
  }
  if (options.hydration !== undefined) {
    params.set("hydration_enabled", String(options.hydration !== false));
    if (typeof options.hydration === "string") {
      params.set("hydration_path", options.hydration);
    }
  }
  if (options.fastPath !== undefined) {
    params.set("fast_path", String(options.fastPath));
  }
  if (options.diskCache !== undefined) {
    params.set("disk_cache", options.diskCache);
  }
  if (options.diskCacheSize !== undefined) {
    params.set("disk_cache_size", String(options.diskCacheSize));
  }
  if (options.verify !== undefined) {
    params.set("verify", parseVerification(options.verify, "verify"));
  }
  const uri = `file:${
    encodeURIComponent(options.name ?? "replica.db")
  }?${params}`;
  try {
    return new Database(uri, {
      readonly: options.write !== true,
      library: options.library,
    });
  } catch (error) {
    if (!(error instanceof SqliteError)) throw error;
    // SQLite's message quotes the whole URI, replica URL and all: name the
    // replica without credentials instead, and give the engine's reason.
    const reason = error.cause instanceof Error
      ? error.cause.message
      : error.message.replace(`Cannot open database "${uri}": `, "");
    throw new SqliteError(
      error.extendedCode,
      `Cannot open replica "${redactUrl(replicaUrl)}": ${reason}`,
      { cause: error.cause ?? error },
    );
  }
}

/**
 * Page-cache counters of the shim for every database opened through this
 * registration (closed ones included): hits, misses, evictions and bytes
 * held.
 *
 * @returns The counters, or undefined before anything was opened.
 */
export function cacheStats(): CacheStats | undefined {
  return registration?.cacheStats();
}
