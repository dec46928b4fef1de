/**
 * The last error the engine threw inside a VFS call, for the caller that
 * sees only SQLite's result code.
 *
 * @module
 */

import { takeLastFailure } from "./port_files.ts";

/**
 * Returns the last error an engine call threw inside the VFS (opening a
 * file, a read, ...) and forgets it. SQLite reports such failures by result
 * code only (`SQLITE_CANTOPEN`, `SQLITE_IOERR_READ`, ...); a `Database` that
 * gets a `SqliteError` after a VFS call can attach this error as its
 * `cause`. Take it right after the failed call: a later failure replaces it.
 *
 * @returns The error, or undefined when none happened since the last take.
 *
 * @example Attach the engine's error to SQLite's
 * ```ts ignore
 * import { takeLastEngineError } from "./last_engine_error.ts";
 * import { Database, SqliteError } from "../sqlite/mod.ts";
 *
 * try {
 *   new Database("file:x.db?vfs=litestream&replica_url=s3://b/missing");
 * } catch (error) {
 *   if (!(error instanceof SqliteError)) throw error;
 *   throw new SqliteError(error.extendedCode, error.message, {
 *     cause: takeLastEngineError(),
 *   });
 * }
 * ```
 */
export function takeLastEngineError(): Error | undefined {
  const error = takeLastFailure();
  if (error === undefined || error instanceof Error) return error;
  return new Error(String(error), { cause: error });
}
