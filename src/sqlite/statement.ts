import {
  type Connection,
  CONNECTIONS,
  STATEMENT_REGISTRY,
} from "./_connection.ts";
import type { SqliteSymbols } from "./_ffi.ts";
import {
  SQLITE_BLOB,
  SQLITE_DONE,
  SQLITE_FLOAT,
  SQLITE_INTEGER,
  SQLITE_PREPARE_PERSISTENT,
  SQLITE_ROW,
  SQLITE_TEXT,
} from "./constants.ts";
import type { Database } from "./database.ts";
import { unwrap } from "./error.ts";

/**
 * A value that can be bound to a parameter.
 *
 * `number`: an integer in the int64 range binds as INTEGER, anything else as
 * REAL; `bigint`: INTEGER (must fit in int64); `string`: TEXT (UTF-8);
 * `Uint8Array`: BLOB; `boolean`: INTEGER 0 or 1; `null` and `undefined`: NULL.
 */
export type BindValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | undefined
  | Uint8Array;

/**
 * Named parameter values, as a plain object keyed with or without the
 * prefix: `{ a: 1 }` binds `:a`, `@a` or `$a`; `{ ":a": 1 }` binds `:a`.
 * A key for `?NNN` is the number: `{ 3: "x" }`.
 */
export type NamedParams = Readonly<Record<string, BindValue>>;

/**
 * Parameters of one execution: positional values (for `?`, `?NNN` in index
 * order), or a single object of named values.
 */
export type BindParams = BindValue[] | [NamedParams];

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;
const EMPTY = new Uint8Array(1); // a non-NULL pointer for zero-length values
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SCRATCH_TEXT_MAX = 4096; // UTF-16 units; longer text is lent, not copied
let scratch = new Uint8Array(1024); // short text is encoded here, SQLite copies it

/** Named values come as a plain object (a Date or an array is a value). */
function isNamed(value: unknown): value is NamedParams {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** UTF-8 length of a string (lone surrogates count as U+FFFD: 3 bytes). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (
      c >= 0xd800 && c < 0xdc00 && i + 1 < s.length &&
      (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Reads `n` bytes of UTF-8 text at `ptr`. */
function readText(ptr: Deno.PointerObject, n: number): string {
  // getCString is several times faster than TextDecoder, but stops at a NUL:
  // use it when its result provably covers all n bytes.
  const s = Deno.UnsafePointerView.getCString(ptr);
  if (s.length === n || utf8Length(s) === n) return s;
  const bytes = n <= scratch.length
    ? scratch.subarray(0, n)
    : new Uint8Array(n);
  Deno.UnsafePointerView.copyInto(ptr, bytes);
  return decoder.decode(bytes);
}

/**
 * A prepared statement: SQL compiled once, run many times with parameters.
 *
 * Create one with `Database.prepare()`. Rows are objects keyed by column name
 * (`all`, `get`, `iter`) or arrays (`values`). INTEGER columns come back as
 * `number` when safe, else `bigint`; REAL as `number`; TEXT as `string`;
 * BLOB as a fresh `Uint8Array`; NULL as `null`.
 *
 * After each `run`, `all`, `get` and `values`, and when an iteration ends,
 * the statement is reset and its parameters cleared, so it holds no lock and
 * no read transaction stays open.
 *
 * @typeParam T The row type `all`, `get` and `iter` return.
 *
 * @example Insert and query with parameters
 * ```ts
 * import { Database } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * using db = new Database(":memory:");
 * db.exec("CREATE TABLE people (name TEXT, age INTEGER)");
 * using insert = db.prepare("INSERT INTO people VALUES (?, ?)");
 * insert.run("Ada", 36);
 * insert.run("Alan", 41);
 *
 * using older = db.prepare<{ name: string }>(
 *   "SELECT name FROM people WHERE age > :age ORDER BY name",
 * );
 * assert.deepEqual(older.all({ age: 30 }), [{ name: "Ada" }, { name: "Alan" }]);
 * assert.deepEqual(older.values({ age: 40 }), [["Alan"]]);
 * ```
 */
export class Statement<T = Record<string, unknown>> implements Disposable {
  #db: Database;
  #conn: Connection;
  #lib: SqliteSymbols;
  #transient: Deno.PointerObject;
  #handle: Deno.PointerValue;
  #address: bigint;
  #readonly: boolean;
  #paramCount: number;
  #paramNames: (string | null)[] | undefined;
  #hasNumbered = false; // some parameter is ?NNN
  #names: string[] | undefined;
  #bindRefs: Uint8Array[] = [];
  #active = false; // stepped or bound since the last reset
  #bound = false; // parameters bound since the last reset
  #epoch = 0; // bumped at each execution, invalidates older iterators

  /**
   * Compiles one SQL statement. Prefer `Database.prepare()`.
   *
   * @param db An open database.
   * @param sql Exactly one SQL statement (a trailing `;` and comments are fine).
   * @throws {SqliteError} When SQLite cannot compile the SQL.
   * @throws {RangeError} When `sql` holds no statement or more than one.
   */
  constructor(db: Database, sql: string) {
    const conn = CONNECTIONS.get(db);
    if (conn === undefined || conn.handle === null) {
      throw new Error("Database is closed");
    }
    this.#db = db;
    this.#conn = conn;
    const lib = this.#lib = conn.lib;
    this.#transient = conn.library.transient;

    const source = encoder.encode(sql + "\0");
    const out = new BigUint64Array(1);
    const tail = new BigUint64Array(1);
    unwrap(
      lib.sqlite3_prepare_v3(
        conn.handle,
        source,
        source.byteLength,
        SQLITE_PREPARE_PERSISTENT,
        out,
        tail,
      ),
      db,
    );
    const handle = Deno.UnsafePointer.create(out[0]);
    if (handle === null) {
      throw new RangeError(`Cannot prepare SQL: no statement in "${sql}"`);
    }
    const base = Deno.UnsafePointer.value(Deno.UnsafePointer.of(source));
    const rest = Number(tail[0] - base);
    if (rest < source.byteLength - 1) {
      // Something follows the statement: fine if it is only comments/space.
      const rc = lib.sqlite3_prepare_v3(
        conn.handle,
        source.subarray(rest),
        source.byteLength - rest,
        0,
        out,
        null,
      );
      const next = Deno.UnsafePointer.create(out[0]);
      if (next !== null) lib.sqlite3_finalize(next);
      if (rc !== 0 || next !== null) {
        lib.sqlite3_finalize(handle);
        throw new RangeError(
          `Cannot prepare SQL: more than one statement in "${sql}"`,
        );
      }
    }

    this.#handle = handle;
    this.#address = Deno.UnsafePointer.value(handle);
    this.#readonly = lib.sqlite3_stmt_readonly(handle) !== 0;
    this.#paramCount = lib.sqlite3_bind_parameter_count(handle);
    conn.statements.set(this.#address, new WeakRef(this));
    STATEMENT_REGISTRY.register(
      this,
      { conn, address: this.#address, handle },
      this,
    );
  }

  /** The `sqlite3_stmt *`, or null once finalized. */
  get unsafeHandle(): Deno.PointerValue {
    return this.#handle;
  }

  /** Whether the statement is still usable (not finalized). */
  get isOpen(): boolean {
    return this.#handle !== null;
  }

  /** The SQL text the statement was compiled from. */
  get sql(): string {
    const ptr = this.#lib.sqlite3_sql(this.#live());
    return ptr === null ? "" : Deno.UnsafePointerView.getCString(ptr);
  }

  /** Whether the statement makes no direct change to the database. */
  get readonly(): boolean {
    this.#live();
    return this.#readonly;
  }

  /** The number of parameters (the largest `?NNN` index, if any). */
  get parameterCount(): number {
    this.#live();
    return this.#paramCount;
  }

  /**
   * The names of the result columns, in order.
   *
   * @returns Column names (aliases where the SQL gives them).
   */
  columnNames(): string[] {
    this.#live();
    return [...this.#columnNames()];
  }

  /**
   * Runs the statement to completion, discarding any rows.
   *
   * @param params Positional values, or one object of named values.
   * @returns The number of rows inserted, updated or deleted by this
   * statement (not counting triggers); 0 for other statements.
   * @throws {SqliteError} When binding or stepping fails.
   */
  run(...params: BindParams): number {
    const handle = this.#begin(params);
    const lib = this.#lib;
    const db = this.#conn.handle;
    // A statement changed rows iff the total moved (the 32-bit counters are
    // cheaper to read than the 64-bit ones and only compared here).
    const before = this.#readonly ? 0 : lib.sqlite3_total_changes(db);
    try {
      let rc;
      while ((rc = lib.sqlite3_step(handle)) === SQLITE_ROW);
      if (rc !== SQLITE_DONE) unwrap(rc, this.#db);
      if (this.#readonly || lib.sqlite3_total_changes(db) === before) return 0;
      return Number(lib.sqlite3_changes64(db));
    } finally {
      this.#end();
    }
  }

  /**
   * Runs the statement and returns every row as an object.
   *
   * @param params Positional values, or one object of named values.
   * @returns The rows, keyed by column name.
   * @throws {SqliteError} When binding or stepping fails.
   */
  all(...params: BindParams): T[] {
    const handle = this.#begin(params);
    const lib = this.#lib;
    const rows: T[] = [];
    try {
      let rc = lib.sqlite3_step(handle);
      if (rc === SQLITE_ROW) {
        const names = this.#columnNames();
        do {
          rows.push(this.#row(handle, names));
        } while ((rc = lib.sqlite3_step(handle)) === SQLITE_ROW);
      }
      if (rc !== SQLITE_DONE) unwrap(rc, this.#db);
      return rows;
    } finally {
      this.#end();
    }
  }

  /**
   * Runs the statement and returns its first row, if any.
   *
   * @param params Positional values, or one object of named values.
   * @returns The first row keyed by column name, or undefined.
   * @throws {SqliteError} When binding or stepping fails.
   */
  get(...params: BindParams): T | undefined {
    const handle = this.#begin(params);
    try {
      const rc = this.#lib.sqlite3_step(handle);
      if (rc === SQLITE_ROW) return this.#row(handle, this.#columnNames());
      if (rc !== SQLITE_DONE) unwrap(rc, this.#db);
      return undefined;
    } finally {
      this.#end();
    }
  }

  /**
   * Runs the statement and returns every row as an array of column values.
   *
   * @param params Positional values, or one object of named values.
   * @returns The rows, each in column order.
   * @throws {SqliteError} When binding or stepping fails.
   */
  values(...params: BindParams): unknown[][] {
    const handle = this.#begin(params);
    const lib = this.#lib;
    const rows: unknown[][] = [];
    try {
      let rc = lib.sqlite3_step(handle);
      if (rc === SQLITE_ROW) {
        const n = this.#columnNames().length;
        do {
          const row = new Array(n);
          for (let i = 0; i < n; i++) row[i] = this.#column(handle, i);
          rows.push(row);
        } while ((rc = lib.sqlite3_step(handle)) === SQLITE_ROW);
      }
      if (rc !== SQLITE_DONE) unwrap(rc, this.#db);
      return rows;
    } finally {
      this.#end();
    }
  }

  /**
   * Runs the statement lazily, one row per step. The statement is reset when
   * the iteration ends (also on `break`); running the statement again before
   * that makes the older iterator throw.
   *
   * @param params Positional values, or one object of named values.
   * @returns An iterator over the rows, keyed by column name.
   * @throws {SqliteError} When binding or stepping fails.
   */
  iter(...params: BindParams): IterableIterator<T> {
    const handle = this.#begin(params);
    return this.#rows(handle, this.#epoch);
  }

  /**
   * Iterates the rows of the statement without parameters; see `iter()`.
   *
   * @returns An iterator over the rows.
   */
  [Symbol.iterator](): IterableIterator<T> {
    return this.iter();
  }

  /**
   * Frees the compiled statement. Later calls throw; calling it again does
   * nothing. `Database.close()` finalizes the statements still open.
   */
  finalize(): void {
    const handle = this.#handle;
    if (handle === null) return;
    this.#handle = null;
    this.#epoch++;
    this.#conn.statements.delete(this.#address);
    STATEMENT_REGISTRY.unregister(this);
    this.#lib.sqlite3_finalize(handle);
    this.#bindRefs = [];
  }

  /** Same as `finalize()`, for `using`. */
  [Symbol.dispose](): void {
    this.finalize();
  }

  #live(): Deno.PointerObject {
    const handle = this.#handle;
    if (handle !== null) return handle;
    throw new Error(
      this.#conn.handle === null
        ? "Database is closed"
        : "Statement is finalized",
    );
  }

  /** Resets what a previous execution left, binds, and returns the handle. */
  #begin(params: BindParams): Deno.PointerObject {
    const handle = this.#live();
    this.#epoch++;
    if (this.#active) this.#end();
    if (params.length > 0) {
      this.#active = true;
      this.#bound = true;
      try {
        this.#bindAll(handle, params);
      } catch (error) {
        this.#end();
        throw error;
      }
    }
    return handle;
  }

  /** Resets the statement and drops its bindings (and the buffers lent). */
  #end(): void {
    const handle = this.#handle;
    this.#active = false;
    if (handle === null) return;
    this.#lib.sqlite3_reset(handle);
    if (this.#bound) {
      this.#bound = false;
      this.#lib.sqlite3_clear_bindings(handle);
      this.#bindRefs.length = 0;
    }
  }

  *#rows(handle: Deno.PointerObject, epoch: number): Generator<T> {
    this.#active = true;
    try {
      const lib = this.#lib;
      let names: string[] | undefined;
      while (true) {
        if (this.#epoch !== epoch) {
          throw new Error(
            "Statement iterator is stale: the statement ran again or was finalized",
          );
        }
        const rc = lib.sqlite3_step(handle);
        if (rc === SQLITE_ROW) {
          yield this.#row(handle, names ??= this.#columnNames());
        } else {
          if (rc !== SQLITE_DONE) unwrap(rc, this.#db);
          return;
        }
      }
    } finally {
      if (this.#epoch === epoch) this.#end();
    }
  }

  #columnNames(): string[] {
    const lib = this.#lib;
    const handle = this.#handle!;
    const n = lib.sqlite3_column_count(handle);
    // Recompiled after a schema change, a statement may gain or lose columns.
    if (this.#names !== undefined && this.#names.length === n) {
      return this.#names;
    }
    const names = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const ptr = lib.sqlite3_column_name(handle, i);
      names[i] = ptr === null ? "" : Deno.UnsafePointerView.getCString(ptr);
    }
    return this.#names = names;
  }

  #row(handle: Deno.PointerObject, names: string[]): T {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) {
      row[names[i]] = this.#column(handle, i);
    }
    return row as T;
  }

  #column(handle: Deno.PointerObject, i: number): unknown {
    const lib = this.#lib;
    switch (lib.sqlite3_column_type(handle, i)) {
      case SQLITE_INTEGER: {
        const n = lib.sqlite3_column_int64(handle, i);
        return n >= MIN_SAFE && n <= MAX_SAFE ? Number(n) : n;
      }
      case SQLITE_FLOAT:
        return lib.sqlite3_column_double(handle, i);
      case SQLITE_TEXT: {
        const ptr = lib.sqlite3_column_text(handle, i);
        const n = lib.sqlite3_column_bytes(handle, i);
        return ptr === null || n === 0 ? "" : readText(ptr, n);
      }
      case SQLITE_BLOB: {
        const ptr = lib.sqlite3_column_blob(handle, i);
        const n = lib.sqlite3_column_bytes(handle, i);
        const out = new Uint8Array(n);
        if (ptr !== null && n > 0) Deno.UnsafePointerView.copyInto(ptr, out);
        return out;
      }
      default:
        return null;
    }
  }

  #bindAll(handle: Deno.PointerObject, params: BindParams): void {
    const first = params[0];
    if (params.length === 1 && isNamed(first)) {
      const names = this.#paramNames ??= this.#readParamNames(handle);
      for (let i = 1; i <= this.#paramCount; i++) {
        const name = names[i - 1];
        if (name === null) {
          // With ?NNN in use, nameless indexes may be unused gaps: leave them.
          if (this.#hasNumbered) continue;
          throw new RangeError(
            `Cannot bind named values: parameter ${i} is an anonymous "?"`,
          );
        }
        let value: BindValue;
        if (Object.hasOwn(first, name)) value = first[name];
        else if (Object.hasOwn(first, name.slice(1))) {
          value = first[name.slice(1)];
        } else {
          throw new RangeError(`Missing named parameter: "${name}"`);
        }
        this.#bind(handle, i, value);
      }
      return;
    }
    if (params.length > this.#paramCount) {
      throw new RangeError(
        `Too many parameters: got ${params.length}, the statement takes ${this.#paramCount}`,
      );
    }
    for (let i = 0; i < params.length; i++) {
      this.#bind(handle, i + 1, params[i] as BindValue);
    }
  }

  #readParamNames(handle: Deno.PointerObject): (string | null)[] {
    const names: (string | null)[] = [];
    for (let i = 1; i <= this.#paramCount; i++) {
      const ptr = this.#lib.sqlite3_bind_parameter_name(handle, i);
      const name = ptr === null ? null : Deno.UnsafePointerView.getCString(ptr);
      if (name?.startsWith("?")) this.#hasNumbered = true;
      names.push(name);
    }
    return names;
  }

  #bind(handle: Deno.PointerObject, i: number, value: BindValue): void {
    const lib = this.#lib;
    let rc: number;
    switch (typeof value) {
      case "number":
        rc = Number.isInteger(value) && value >= -(2 ** 63) && value < 2 ** 63
          ? lib.sqlite3_bind_int64(handle, i, BigInt(value))
          : lib.sqlite3_bind_double(handle, i, value);
        break;
      case "bigint":
        if (value < INT64_MIN || value > INT64_MAX) {
          throw new RangeError(
            `Cannot bind parameter ${i}: ${value} is outside the int64 range`,
          );
        }
        rc = lib.sqlite3_bind_int64(handle, i, value);
        break;
      case "string": {
        if (value.length <= SCRATCH_TEXT_MAX) {
          // Short text: encoded into the shared scratch, copied by SQLite.
          if (value.length * 3 > scratch.length) {
            scratch = new Uint8Array(SCRATCH_TEXT_MAX * 3);
          }
          const { written } = encoder.encodeInto(value, scratch);
          rc = lib.sqlite3_bind_text(
            handle,
            i,
            scratch,
            written,
            this.#transient,
          );
        } else {
          // Long text: encoded once and lent until the statement is reset.
          const bytes = encoder.encode(value);
          this.#bindRefs.push(bytes);
          rc = lib.sqlite3_bind_text(
            handle,
            i,
            bytes,
            bytes.byteLength,
            null, // SQLITE_STATIC
          );
        }
        break;
      }
      case "boolean":
        rc = lib.sqlite3_bind_int64(handle, i, value ? 1n : 0n);
        break;
      case "undefined":
        rc = lib.sqlite3_bind_null(handle, i);
        break;
      case "object":
        if (value === null) {
          rc = lib.sqlite3_bind_null(handle, i);
        } else if (value instanceof Uint8Array) {
          if (value.byteLength === 0) {
            rc = lib.sqlite3_bind_blob(handle, i, EMPTY, 0, null); // SQLITE_STATIC
          } else {
            // Lent, not copied: kept alive until the statement is reset.
            this.#bindRefs.push(value);
            rc = lib.sqlite3_bind_blob(
              handle,
              i,
              value,
              value.byteLength,
              null, // SQLITE_STATIC
            );
          }
        } else {
          throw new TypeError(
            `Cannot bind parameter ${i}: unsupported value ${
              Object.prototype.toString.call(value)
            }`,
          );
        }
        break;
      default:
        throw new TypeError(
          `Cannot bind parameter ${i}: unsupported type "${typeof value}"`,
        );
    }
    if (rc !== 0) unwrap(rc, this.#db);
  }
}
