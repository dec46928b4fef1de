import { type SqliteLibrary, sqliteLibrary } from "./_ffi.ts";

/**
 * An error reported by SQLite, with its result codes.
 *
 * `code` is the primary result code (`extendedCode & 0xff`), e.g.
 * `SQLITE_CONSTRAINT`; `extendedCode` is the extended one, e.g.
 * `SQLITE_CONSTRAINT_UNIQUE`. The message is SQLite's own.
 *
 * @example Catch a constraint violation
 * ```ts
 * import { Database, SqliteError, SQLITE_CONSTRAINT } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * using db = new Database(":memory:");
 * db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
 * db.exec("INSERT INTO t VALUES (1)");
 * assert.throws(
 *   () => db.exec("INSERT INTO t VALUES (1)"),
 *   (e) => e instanceof SqliteError && e.code === SQLITE_CONSTRAINT,
 * );
 * ```
 */
export class SqliteError extends Error {
  /** The primary result code, e.g. `SQLITE_CONSTRAINT` (19). */
  readonly code: number;
  /** The extended result code, e.g. `SQLITE_CONSTRAINT_UNIQUE` (2067). */
  readonly extendedCode: number;

  /**
   * Creates an error for a result code.
   *
   * @param extendedCode The (extended) result code.
   * @param message SQLite's message.
   * @param options Standard error options (`cause`).
   */
  constructor(extendedCode: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SqliteError";
    this.code = extendedCode & 0xff;
    this.extendedCode = extendedCode;
  }
}

/**
 * What `unwrap` reads an error message from: a connection (its handle and the
 * library it came from), or just a library for `sqlite3_errstr`.
 */
export interface ErrorSource {
  /** The library the handle belongs to. */
  readonly library: SqliteLibrary;
  /** The `sqlite3 *` connection, if any. */
  readonly unsafeHandle?: Deno.PointerValue;
  /**
   * Lets the source add what it knows to an error before it is thrown: a
   * VFS whose engine failed knows why; SQLite only has a result code.
   */
  explainError?(error: SqliteError): SqliteError;
}

/**
 * Throws a {@linkcode SqliteError} unless `rc` is `SQLITE_OK`, `SQLITE_ROW`
 * or `SQLITE_DONE`.
 *
 * With an open connection the message is `sqlite3_errmsg()` and the code the
 * connection's extended code when it agrees with `rc`; otherwise the message
 * is `sqlite3_errstr(rc)`.
 *
 * @param rc The result code a SQLite function returned.
 * @param db The connection (or library) that produced it.
 * @throws {SqliteError} For any other result code.
 *
 * @example Turn a result code into an exception
 * ```ts
 * import { SQLITE_BUSY, SqliteError, unwrap } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * unwrap(0);
 * assert.throws(() => unwrap(SQLITE_BUSY), {
 *   name: "SqliteError",
 *   message: "database is locked",
 * });
 * ```
 */
export function unwrap(rc: number, db?: ErrorSource): void {
  if (rc === 0 || rc === 100 || rc === 101) return;
  const error = errorFor(rc, db);
  throw db?.explainError?.(error) ?? error;
}

function errorFor(rc: number, db?: ErrorSource): SqliteError {
  const lib = (db?.library ?? sqliteLibrary()).symbols;
  const handle = db?.unsafeHandle;
  if (handle) {
    // Extended codes are on for our connections; use the connection's code
    // and message when they describe the same failure as rc.
    const extended = lib.sqlite3_extended_errcode(handle);
    const msg = lib.sqlite3_errmsg(handle);
    if ((extended & 0xff) === (rc & 0xff) && msg !== null) {
      return new SqliteError(extended, Deno.UnsafePointerView.getCString(msg));
    }
  }
  const str = lib.sqlite3_errstr(rc);
  return new SqliteError(
    rc,
    str === null
      ? `SQLite error ${rc}`
      : Deno.UnsafePointerView.getCString(str),
  );
}
