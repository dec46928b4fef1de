import {
  type Connection,
  CONNECTION_REGISTRY,
  CONNECTIONS,
} from "./_connection.ts";
import { type SqliteLibrary, sqliteLibrary } from "./_ffi.ts";
import {
  SQLITE_DONE,
  SQLITE_OPEN_CREATE,
  SQLITE_OPEN_EXRESCODE,
  SQLITE_OPEN_READONLY,
  SQLITE_OPEN_READWRITE,
  SQLITE_OPEN_URI,
  SQLITE_ROW,
} from "./constants.ts";
import { type ErrorSource, SqliteError, unwrap } from "./error.ts";
import { type BindParams, Statement } from "./statement.ts";

export {
  SQLITE_LIB_ENV,
  type SqliteLibrary,
  sqliteLibrary,
  type SqliteSymbols,
  symbols as SQLITE_SYMBOLS,
} from "./_ffi.ts";

/** Options for opening a {@linkcode Database}. */
export interface DatabaseOptions {
  /** Open read-only (`SQLITE_OPEN_READONLY`). Default false. */
  readonly?: boolean;
  /**
   * Create the file if it does not exist (`SQLITE_OPEN_CREATE`). Default
   * true, unless `readonly`.
   */
  create?: boolean;
  /** Interpret `file:` names as URIs (`SQLITE_OPEN_URI`). Default true. */
  uri?: boolean;
  /** The name of a registered VFS to open with, e.g. "litestream". */
  vfs?: string;
  /**
   * The libsqlite3 to use: a file name or path. Default: the environment
   * variable `LSVFS_SQLITE_LIB`, else the system library.
   */
  library?: string;
}

const encoder = new TextEncoder();

function cString(s: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(s + "\0");
}

/**
 * A connection to a SQLite database, through libsqlite3 loaded with
 * `Deno.dlopen` (needs `--allow-ffi`).
 *
 * Extended result codes are on, so a {@linkcode SqliteError}'s
 * `extendedCode` is exact. `close()` finalizes the statements still open; a
 * connection that is garbage collected without `close()` is closed then.
 *
 * @example Open, write, read, close
 * ```ts
 * import { Database } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * using db = new Database(":memory:");
 * db.exec(`
 *   CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB);
 *   INSERT INTO kv VALUES ('a', x'0102');
 * `);
 * assert.equal(db.exec("INSERT INTO kv VALUES (?, ?)", "b", null), 1);
 * assert.deepEqual(db.prepare("SELECT v FROM kv WHERE k = ?").get("a"), {
 *   v: new Uint8Array([1, 2]),
 * });
 * assert.equal(db.lastInsertRowId, 2);
 * ```
 */
export class Database implements Disposable {
  /** The file name or URI the database was opened with. */
  readonly path: string;
  /** The libsqlite3 this connection runs on. */
  readonly library: SqliteLibrary;
  #conn: Connection;

  /**
   * Opens (by default creating) a database.
   *
   * @param path A file name, `:memory:`, `""` (a private temporary
   * database), or a `file:` URI such as `file:app.db?mode=ro`.
   * @param options How to open it; see {@linkcode DatabaseOptions}.
   * @throws {SqliteError} When SQLite cannot open it (code
   * `SQLITE_CANTOPEN` and friends).
   * @throws {Error} When libsqlite3 cannot be loaded.
   */
  constructor(path: string, options: DatabaseOptions = {}) {
    const library = sqliteLibrary(options.library);
    const lib = library.symbols;
    const readonly = options.readonly ?? false;
    let flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (options.create ?? !readonly) flags |= SQLITE_OPEN_CREATE;
    if (options.uri ?? true) flags |= SQLITE_OPEN_URI;
    flags |= SQLITE_OPEN_EXRESCODE;

    const out = new BigUint64Array(1);
    const rc = lib.sqlite3_open_v2(
      cString(path),
      out,
      flags,
      options.vfs === undefined ? null : cString(options.vfs),
    );
    const handle = Deno.UnsafePointer.create(out[0]);
    if (rc !== 0) {
      let code = rc;
      let message: string;
      if (handle !== null) {
        code = lib.sqlite3_extended_errcode(handle);
        message = Deno.UnsafePointerView.getCString(
          lib.sqlite3_errmsg(handle)!,
        );
        lib.sqlite3_close_v2(handle);
      } else {
        message = Deno.UnsafePointerView.getCString(lib.sqlite3_errstr(rc)!);
      }
      const error = new SqliteError(
        code,
        `Cannot open database "${path}": ${message}`,
      );
      // A subclass may know more (a VFS's engine does): see ErrorSource.
      throw (this as ErrorSource).explainError?.(error) ?? error;
    }
    lib.sqlite3_extended_result_codes(handle, 1);

    this.path = path;
    this.library = library;
    this.#conn = { library, lib, handle, statements: new Map() };
    CONNECTIONS.set(this, this.#conn);
    CONNECTION_REGISTRY.register(this, this.#conn, this);
  }

  /** The `sqlite3 *` handle, or null once closed. */
  get unsafeHandle(): Deno.PointerValue {
    return this.#conn.handle;
  }

  /** Whether the connection is open. */
  get isOpen(): boolean {
    return this.#conn.handle !== null;
  }

  /** Rows changed by the most recent INSERT, UPDATE or DELETE (`sqlite3_changes64`). */
  get changes(): number {
    return Number(this.#conn.lib.sqlite3_changes64(this.#live()));
  }

  /** Rows changed since the connection opened, triggers included (`sqlite3_total_changes64`). */
  get totalChanges(): number {
    return Number(this.#conn.lib.sqlite3_total_changes64(this.#live()));
  }

  /** The rowid of the most recent successful INSERT: a number when safe, else a bigint. */
  get lastInsertRowId(): number | bigint {
    const id = this.#conn.lib.sqlite3_last_insert_rowid(this.#live());
    return id >= -Number.MAX_SAFE_INTEGER && id <= Number.MAX_SAFE_INTEGER
      ? Number(id)
      : id;
  }

  /** Whether no transaction is open (`sqlite3_get_autocommit`). */
  get autocommit(): boolean {
    return this.#conn.lib.sqlite3_get_autocommit(this.#live()) !== 0;
  }

  /**
   * Compiles one SQL statement for repeated use.
   *
   * @typeParam T The row type the statement's `all`, `get`, `iter` return.
   * @param sql Exactly one SQL statement.
   * @returns The prepared statement; finalize it (or `using`) when done.
   * @throws {SqliteError} When SQLite cannot compile the SQL.
   * @throws {RangeError} When `sql` holds no statement or more than one.
   */
  prepare<T = Record<string, unknown>>(sql: string): Statement<T> {
    this.#live();
    return new Statement<T>(this, sql);
  }

  /**
   * Runs SQL without returning rows: one statement with parameters, or, with
   * no parameters, a script of any number of statements separated by `;`.
   *
   * @param sql The statement or script.
   * @param params Positional values, or one object of named values.
   * @returns The number of rows the statements inserted, updated or deleted
   * (triggers not counted).
   * @throws {SqliteError} When a statement fails; earlier statements of a
   * script stay done.
   * @throws {RangeError} When parameters are given with several statements.
   */
  exec(sql: string, ...params: BindParams): number {
    this.#live();
    if (params.length > 0) {
      const statement = new Statement(this, sql);
      try {
        return statement.run(...params);
      } finally {
        statement.finalize();
      }
    }
    return this.#script(sql);
  }

  /**
   * Turns SQL's `load_extension()` function and C-level extension loading on
   * or off (`sqlite3_enable_load_extension`). `loadExtension()` does not need
   * this.
   *
   * @param on Whether loading is allowed.
   * @throws {Error} When the library was built without extension loading.
   */
  enableLoadExtension(on: boolean): void {
    const fn = this.#conn.lib.sqlite3_enable_load_extension;
    if (fn === null) throw noExtensions(this.library);
    unwrap(fn(this.#live(), on ? 1 : 0), this);
    this.#extensionsEnabled = on;
  }

  #extensionsEnabled = false;

  /**
   * Loads a SQLite extension (`sqlite3_load_extension`). Extension loading
   * is enabled for this call only (unless `enableLoadExtension(true)`), so
   * SQL's `load_extension()` stays off.
   *
   * @param file Path of the shared library; SQLite also tries it with the
   * platform's suffix (`.so`, `.dylib`, `.dll`).
   * @param entryPoint The init function; by default SQLite derives it from
   * the file name (`sqlite3_<name>_init`).
   * @throws {SqliteError} When the library cannot be loaded or its init fails.
   * @throws {Error} When libsqlite3 was built without extension loading.
   */
  loadExtension(file: string, entryPoint?: string): void {
    const lib = this.#conn.lib;
    const load = lib.sqlite3_load_extension;
    const enable = lib.sqlite3_enable_load_extension;
    if (load === null || enable === null) throw noExtensions(this.library);
    const handle = this.#live();
    const wasEnabled = this.#extensionsEnabled;
    if (!wasEnabled) unwrap(enable(handle, 1), this);
    const errOut = new BigUint64Array(1);
    let rc: number;
    try {
      rc = load(
        handle,
        cString(file),
        entryPoint === undefined ? null : cString(entryPoint),
        errOut,
      );
    } finally {
      if (!wasEnabled) enable(handle, 0);
    }
    const err = Deno.UnsafePointer.create(errOut[0]);
    let message = "";
    if (err !== null) {
      message = Deno.UnsafePointerView.getCString(err);
      lib.sqlite3_free(err);
    }
    if (rc !== 0) {
      if (message === "") {
        message = Deno.UnsafePointerView.getCString(lib.sqlite3_errstr(rc)!);
      }
      throw new SqliteError(
        rc,
        `Cannot load extension "${file}": ${message}`,
      );
    }
  }

  /**
   * Finalizes the statements still open and closes the connection. Calling
   * it again does nothing; any later use of the database or its statements
   * throws.
   *
   * @throws {SqliteError} When SQLite refuses to close.
   */
  close(): void {
    const conn = this.#conn;
    const handle = conn.handle;
    if (handle === null) return;
    for (const [address, ref] of conn.statements) {
      const statement = ref.deref();
      if (statement !== undefined) statement.finalize();
      else {
        // Collected, but its finalization callback has not run yet.
        conn.statements.delete(address);
        conn.lib.sqlite3_finalize(Deno.UnsafePointer.create(address));
      }
    }
    conn.statements.clear();
    const rc = conn.lib.sqlite3_close_v2(handle);
    if (rc !== 0) unwrap(rc, this);
    conn.handle = null;
    CONNECTION_REGISTRY.unregister(this);
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #live(): Deno.PointerObject {
    const handle = this.#conn.handle;
    if (handle === null) throw new Error("Database is closed");
    return handle;
  }

  /** Runs each statement of a script in turn; returns the rows changed. */
  #script(sql: string): number {
    const lib = this.#conn.lib;
    const db = this.#conn.handle;
    const source = cString(sql);
    const base = Deno.UnsafePointer.value(Deno.UnsafePointer.of(source));
    const out = new BigUint64Array(1);
    const tail = new BigUint64Array(1);
    let offset = 0;
    let changes = 0;
    while (offset < source.byteLength - 1) {
      const rc = lib.sqlite3_prepare_v3(
        db,
        source.subarray(offset),
        source.byteLength - offset,
        0,
        out,
        tail,
      );
      if (rc !== 0) unwrap(rc, this);
      offset = Number(tail[0] - base);
      const stmt = Deno.UnsafePointer.create(out[0]);
      if (stmt === null) continue; // only whitespace or comments
      const before = lib.sqlite3_total_changes(db);
      let step;
      while ((step = lib.sqlite3_step(stmt)) === SQLITE_ROW);
      if (step !== SQLITE_DONE) {
        try {
          unwrap(step, this);
        } finally {
          lib.sqlite3_finalize(stmt);
        }
      }
      lib.sqlite3_finalize(stmt);
      if (lib.sqlite3_total_changes(db) !== before) {
        changes += Number(lib.sqlite3_changes64(db));
      }
    }
    return changes;
  }
}

function noExtensions(library: SqliteLibrary): Error {
  return new Error(
    `Cannot load extensions: SQLite library "${library.path}" was built without extension loading (SQLITE_OMIT_LOAD_EXTENSION)`,
  );
}
