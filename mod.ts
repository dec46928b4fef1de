/**
 * lsvfs: query a Litestream replica in place, with SQL, without restoring it.
 *
 * {@linkcode open} opens the latest state of a replica as a read-only SQLite
 * database: pages are read on demand from the replica's LTX files, cached in
 * the C shim, and kept current by polling between read transactions.
 * {@linkcode register} registers the VFS "litestream" for connections you
 * open yourself with `file:NAME?vfs=litestream&replica_url=...`.
 *
 * Permissions: `--allow-ffi` (libsqlite3 and the shim), `--allow-read` on
 * the replica directory and the shim, `--allow-env=LITESTREAM_REPLICA_URL,LITESTREAM_POLL_INTERVAL,LSVFS_SQLITE_LIB`
 * (optional: unreadable variables count as unset), and the first time only,
 * `--allow-write` and `--allow-run=cc` to build the shim into `dist/`.
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
  ConfigError,
  Engine,
  PageNotFoundError,
  parseDuration,
  ReplicaNotFoundError,
  TxidGapError,
} from "./src/engine/mod.ts";
import { LtxError } from "./src/ltx/mod.ts";
import {
  type BindParams,
  Database as SqliteDatabase,
  SQLITE_READONLY,
  SqliteError,
  Statement,
} from "./src/sqlite/mod.ts";
import { ReplicaUrlError, StorageError } from "./src/storage/mod.ts";
import {
  type CacheStats,
  registerVfs,
  takeLastEngineError,
  type VfsRegistration,
} from "./src/vfs/mod.ts";

export {
  type BindParams,
  type CacheStats,
  ConfigError,
  LtxError,
  PageNotFoundError,
  ReplicaNotFoundError,
  ReplicaUrlError,
  SqliteError,
  Statement,
  StorageError,
  TxidGapError,
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
  /** The database name SQLite sees (in messages); `"replica.db"` by default. */
  name?: string;
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
      return new SqliteError(
        error.extendedCode,
        `${error.message}: ${cause.message}`,
        { cause },
      );
    }
    if (error.code === SQLITE_READONLY) {
      return new SqliteError(
        error.extendedCode,
        `${error.message}: replicas open read-only; write mode is not available in this version`,
        { cause: error },
      );
    }
    return error;
  }
}

/**
 * Opens the latest state of a Litestream replica as a read-only database.
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
  if (options.pollInterval !== undefined) {
    const ms = typeof options.pollInterval === "number"
      ? options.pollInterval
      : parseDuration(options.pollInterval, "pollInterval");
    params.set("poll_interval", `${ms}ms`);
  }
  if (options.cacheSize !== undefined) {
    if (!Number.isSafeInteger(options.cacheSize) || options.cacheSize < 0) {
      throw new ConfigError(
        `Invalid cacheSize ${options.cacheSize}: use a whole number of bytes`,
      );
    }
    params.set("cache_size", String(options.cacheSize));
  }
  const name = encodeURIComponent(options.name ?? "replica.db");
  return new Database(`file:${name}?${params}`, {
    readonly: true,
    library: options.library,
  });
}

/**
 * Page-cache counters of the shim for the whole process: hits, misses,
 * evictions and bytes held.
 *
 * @returns The counters, or undefined before anything was opened.
 */
export function cacheStats(): CacheStats | undefined {
  return registration?.cacheStats();
}
