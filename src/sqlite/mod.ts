/**
 * SQLite for Deno through `Deno.dlopen` of libsqlite3 (needs `--allow-ffi`).
 *
 * {@linkcode Database} opens a connection, {@linkcode Statement} runs
 * prepared SQL with positional or named parameters, {@linkcode SqliteError}
 * carries SQLite's result codes and message, and the `SQLITE_*` constants
 * keep their C names. {@linkcode sqliteLibrary} hands out the raw C functions
 * for code that drives SQLite directly (the VFS bridge).
 *
 * The library is, in order: the `library` option, the environment variable
 * `LSVFS_SQLITE_LIB`, the system libsqlite3.
 *
 * @example Query a database
 * ```ts
 * import { Database } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * using db = new Database(":memory:");
 * db.exec("CREATE TABLE t (n INTEGER, s TEXT)");
 * db.exec("INSERT INTO t VALUES (?, ?), (?, ?)", 1, "one", 2n ** 60n, "big");
 * using stmt = db.prepare<{ n: number | bigint; s: string }>(
 *   "SELECT n, s FROM t ORDER BY n",
 * );
 * assert.deepEqual(stmt.all(), [
 *   { n: 1, s: "one" },
 *   { n: 2n ** 60n, s: "big" },
 * ]);
 * ```
 *
 * @module
 */

export * from "./constants.ts";
export {
  Database,
  type DatabaseOptions,
  SQLITE_LIB_ENV,
  SQLITE_SYMBOLS,
  type SqliteLibrary,
  sqliteLibrary,
  type SqliteSymbols,
} from "./database.ts";
export { type ErrorSource, SqliteError, unwrap } from "./error.ts";
export {
  type BindParams,
  type BindValue,
  type NamedParams,
  Statement,
} from "./statement.ts";
