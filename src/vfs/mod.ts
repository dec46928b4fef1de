/**
 * The bridge between SQLite and the engine: {@linkcode registerVfs} loads
 * the C shim (`ffi/litestream_vfs.c`) into the process's libsqlite3 and
 * serves the VFS "litestream" with an engine opener through
 * `Deno.UnsafeCallback`s (the host port); {@linkcode sqliteCodeOf} is the
 * one mapping from engine errors to SQLite result codes, and
 * {@linkcode takeLastEngineError} hands the error behind a failed SQLite
 * call to whoever reports it.
 *
 * @example Serve a database through the VFS
 * ```ts ignore
 * import { registerVfs, takeLastEngineError } from "./mod.ts";
 * import { Database } from "../sqlite/mod.ts";
 * import { openDatabaseFile } from "../engine/mod.ts";
 *
 * const vfs = registerVfs({ opener: openDatabaseFile });
 * using db = new Database(
 *   "file:app.db?vfs=litestream&replica_url=file:///backups/app",
 *   { readonly: true },
 * );
 * console.log(db.prepare("SELECT count(*) AS n FROM t").get());
 * console.log(vfs.cacheStats());
 * ```
 *
 * @module
 */

export type {
  DatabaseFile,
  DatabaseFileOpener,
} from "../engine/database_file.ts";
export { sqliteCodeOf } from "./error_code.ts";
export { takeLastEngineError } from "./last_engine_error.ts";
export {
  type CacheStats,
  registerVfs,
  type RegisterVfsOptions,
  type VfsFileInfo,
  type VfsRegistration,
} from "./register_vfs.ts";
