/**
 * The libsqlite3 symbol table and the one place that loads the library.
 *
 * Widths follow sqlite3.h (3.40.1): `int` is i32, `unsigned int` u32,
 * `sqlite3_int64` i64, `double` f64; every pointer is "pointer", except
 * caller-owned memory passed in from TypeScript ("buffer") and C function
 * pointers ("function"). The variadic `sqlite3_db_config` is left out on
 * purpose: variadic calls cannot be described to `Deno.dlopen` portably
 * (arm64 macOS passes variadic arguments on the stack).
 *
 * @module
 */

/** The libsqlite3 functions this package calls, as `Deno.dlopen` takes them. */
export const symbols = {
  sqlite3_initialize: {
    parameters: [],
    result: "i32", // int
  },
  sqlite3_libversion: {
    parameters: [],
    result: "pointer", // const char *
  },
  sqlite3_libversion_number: {
    parameters: [],
    result: "i32", // int
  },

  // --- Connections ---

  sqlite3_open_v2: {
    parameters: [
      "buffer", // const char *filename (UTF-8, NUL-terminated)
      "buffer", // sqlite3 **ppDb
      "i32", // int flags
      "buffer", // const char *zVfs (NULL for the default VFS)
    ],
    result: "i32", // int
  },
  sqlite3_close_v2: {
    parameters: [
      "pointer", // sqlite3 *db
    ],
    result: "i32", // int
  },
  sqlite3_extended_result_codes: {
    parameters: [
      "pointer", // sqlite3 *db
      "i32", // int onoff
    ],
    result: "i32", // int
  },
  sqlite3_busy_timeout: {
    parameters: [
      "pointer", // sqlite3 *db
      "i32", // int ms
    ],
    result: "i32", // int
  },
  sqlite3_changes: {
    parameters: [
      "pointer", // sqlite3 *db
    ],
    result: "i32", // int
  },
  sqlite3_total_changes: {
    parameters: [
      "pointer", // sqlite3 *db
    ],
    result: "i32", // int
  },
  sqlite3_changes64: {
    parameters: [
      "pointer", // sqlite3 *db
    ],
    result: "i64", // sqlite3_int64
  },
  sqlite3_total_changes64: {
    parameters: [
      "pointer", // sqlite3 *db
    ],
    result: "i64", // sqlite3_int64
  },
  sqlite3_last_insert_rowid: {
    parameters: [
      "pointer", // sqlite3 *db
    ],
    result: "i64", // sqlite3_int64
  },
  sqlite3_get_autocommit: {
    parameters: [
      "pointer", // sqlite3 *db
    ],
    result: "i32", // int
  },
  sqlite3_db_filename: {
    parameters: [
      "pointer", // sqlite3 *db
      "buffer", // const char *zDbName
    ],
    result: "pointer", // sqlite3_filename (const char *)
  },
  sqlite3_next_stmt: {
    parameters: [
      "pointer", // sqlite3 *pDb
      "pointer", // sqlite3_stmt *pStmt
    ],
    result: "pointer", // sqlite3_stmt *
  },

  // --- Errors ---

  sqlite3_errcode: {
    parameters: [
      "pointer", // sqlite3 *db
    ],
    result: "i32", // int
  },
  sqlite3_extended_errcode: {
    parameters: [
      "pointer", // sqlite3 *db
    ],
    result: "i32", // int
  },
  sqlite3_errmsg: {
    parameters: [
      "pointer", // sqlite3 *db
    ],
    result: "pointer", // const char *
  },
  sqlite3_errstr: {
    parameters: [
      "i32", // int
    ],
    result: "pointer", // const char *
  },

  // --- Statements ---

  sqlite3_prepare_v3: {
    parameters: [
      "pointer", // sqlite3 *db
      "buffer", // const char *zSql
      "i32", // int nByte
      "u32", // unsigned int prepFlags
      "buffer", // sqlite3_stmt **ppStmt
      "buffer", // const char **pzTail
    ],
    result: "i32", // int
  },
  sqlite3_step: {
    parameters: [
      "pointer", // sqlite3_stmt *pStmt
    ],
    result: "i32", // int
  },
  sqlite3_reset: {
    parameters: [
      "pointer", // sqlite3_stmt *pStmt
    ],
    result: "i32", // int
  },
  sqlite3_clear_bindings: {
    parameters: [
      "pointer", // sqlite3_stmt *pStmt
    ],
    result: "i32", // int
  },
  sqlite3_finalize: {
    parameters: [
      "pointer", // sqlite3_stmt *pStmt
    ],
    result: "i32", // int
  },
  sqlite3_stmt_readonly: {
    parameters: [
      "pointer", // sqlite3_stmt *pStmt
    ],
    result: "i32", // int
  },
  sqlite3_sql: {
    parameters: [
      "pointer", // sqlite3_stmt *pStmt
    ],
    result: "pointer", // const char *
  },

  // --- Binding ---

  sqlite3_bind_parameter_count: {
    parameters: [
      "pointer", // sqlite3_stmt *
    ],
    result: "i32", // int
  },
  sqlite3_bind_parameter_name: {
    parameters: [
      "pointer", // sqlite3_stmt *
      "i32", // int
    ],
    result: "pointer", // const char *
  },
  sqlite3_bind_parameter_index: {
    parameters: [
      "pointer", // sqlite3_stmt *
      "buffer", // const char *zName
    ],
    result: "i32", // int
  },
  sqlite3_bind_int64: {
    parameters: [
      "pointer", // sqlite3_stmt *
      "i32", // int
      "i64", // sqlite3_int64
    ],
    result: "i32", // int
  },
  sqlite3_bind_double: {
    parameters: [
      "pointer", // sqlite3_stmt *
      "i32", // int
      "f64", // double
    ],
    result: "i32", // int
  },
  sqlite3_bind_text: {
    parameters: [
      "pointer", // sqlite3_stmt *
      "i32", // int
      "buffer", // const char *
      "i32", // int (bytes; negative: up to the first NUL)
      "pointer", // void (*)(void *) (SQLITE_STATIC, SQLITE_TRANSIENT or a destructor)
    ],
    result: "i32", // int
  },
  sqlite3_bind_blob: {
    parameters: [
      "pointer", // sqlite3_stmt *
      "i32", // int
      "buffer", // const void *
      "i32", // int n
      "pointer", // void (*)(void *) (SQLITE_STATIC, SQLITE_TRANSIENT or a destructor)
    ],
    result: "i32", // int
  },
  sqlite3_bind_null: {
    parameters: [
      "pointer", // sqlite3_stmt *
      "i32", // int
    ],
    result: "i32", // int
  },

  // --- Result columns ---

  sqlite3_column_count: {
    parameters: [
      "pointer", // sqlite3_stmt *pStmt
    ],
    result: "i32", // int
  },
  sqlite3_column_name: {
    parameters: [
      "pointer", // sqlite3_stmt *
      "i32", // int N
    ],
    result: "pointer", // const char *
  },
  sqlite3_column_type: {
    parameters: [
      "pointer", // sqlite3_stmt *
      "i32", // int iCol
    ],
    result: "i32", // int
  },
  sqlite3_column_int64: {
    parameters: [
      "pointer", // sqlite3_stmt *
      "i32", // int iCol
    ],
    result: "i64", // sqlite3_int64
  },
  sqlite3_column_double: {
    parameters: [
      "pointer", // sqlite3_stmt *
      "i32", // int iCol
    ],
    result: "f64", // double
  },
  sqlite3_column_text: {
    parameters: [
      "pointer", // sqlite3_stmt *
      "i32", // int iCol
    ],
    result: "pointer", // const unsigned char *
  },
  sqlite3_column_blob: {
    parameters: [
      "pointer", // sqlite3_stmt *
      "i32", // int iCol
    ],
    result: "pointer", // const void *
  },
  sqlite3_column_bytes: {
    parameters: [
      "pointer", // sqlite3_stmt *
      "i32", // int iCol
    ],
    result: "i32", // int
  },

  // --- Extensions (absent from builds with SQLITE_OMIT_LOAD_EXTENSION,
  // macOS's system library among them) ---

  sqlite3_enable_load_extension: {
    parameters: [
      "pointer", // sqlite3 *db
      "i32", // int onoff
    ],
    result: "i32", // int
    optional: true,
  },
  sqlite3_load_extension: {
    parameters: [
      "pointer", // sqlite3 *db
      "buffer", // const char *zFile
      "buffer", // const char *zProc (NULL: derived from zFile)
      "buffer", // char **pzErrMsg (free with sqlite3_free)
    ],
    result: "i32", // int
    optional: true,
  },
  sqlite3_free: {
    parameters: [
      "pointer", // void *
    ],
    result: "void",
  },

  // --- VFS and URI parameters ---

  sqlite3_vfs_find: {
    parameters: [
      "buffer", // const char *zVfsName (NULL: the default VFS)
    ],
    result: "pointer", // sqlite3_vfs *
  },
  sqlite3_uri_parameter: {
    parameters: [
      "pointer", // sqlite3_filename z
      "buffer", // const char *zParam
    ],
    result: "pointer", // const char *
  },

  // --- Application-defined SQL functions ---

  sqlite3_create_function_v2: {
    parameters: [
      "pointer", // sqlite3 *db
      "buffer", // const char *zFunctionName
      "i32", // int nArg
      "i32", // int eTextRep (SQLITE_UTF8 | function flags)
      "pointer", // void *pApp
      "function", // void (*xFunc)(sqlite3_context *, int, sqlite3_value **)
      "function", // void (*xStep)(sqlite3_context *, int, sqlite3_value **)
      "function", // void (*xFinal)(sqlite3_context *)
      "function", // void (*xDestroy)(void *)
    ],
    result: "i32", // int
  },
  sqlite3_user_data: {
    parameters: [
      "pointer", // sqlite3_context *
    ],
    result: "pointer", // void *
  },
  sqlite3_result_int64: {
    parameters: [
      "pointer", // sqlite3_context *
      "i64", // sqlite3_int64
    ],
    result: "void",
  },
  sqlite3_result_double: {
    parameters: [
      "pointer", // sqlite3_context *
      "f64", // double
    ],
    result: "void",
  },
  sqlite3_result_text: {
    parameters: [
      "pointer", // sqlite3_context *
      "buffer", // const char *
      "i32", // int (bytes; negative: up to the first NUL)
      "pointer", // void (*)(void *)
    ],
    result: "void",
  },
  sqlite3_result_blob: {
    parameters: [
      "pointer", // sqlite3_context *
      "buffer", // const void *
      "i32", // int
      "pointer", // void (*)(void *)
    ],
    result: "void",
  },
  sqlite3_result_null: {
    parameters: [
      "pointer", // sqlite3_context *
    ],
    result: "void",
  },
  sqlite3_result_error: {
    parameters: [
      "pointer", // sqlite3_context *
      "buffer", // const char *
      "i32", // int (bytes; negative: up to the first NUL)
    ],
    result: "void",
  },
  sqlite3_result_error_code: {
    parameters: [
      "pointer", // sqlite3_context *
      "i32", // int
    ],
    result: "void",
  },
  sqlite3_value_type: {
    parameters: [
      "pointer", // sqlite3_value *
    ],
    result: "i32", // int
  },
  sqlite3_value_int64: {
    parameters: [
      "pointer", // sqlite3_value *
    ],
    result: "i64", // sqlite3_int64
  },
  sqlite3_value_double: {
    parameters: [
      "pointer", // sqlite3_value *
    ],
    result: "f64", // double
  },
  sqlite3_value_text: {
    parameters: [
      "pointer", // sqlite3_value *
    ],
    result: "pointer", // const unsigned char *
  },
  sqlite3_value_blob: {
    parameters: [
      "pointer", // sqlite3_value *
    ],
    result: "pointer", // const void *
  },
  sqlite3_value_bytes: {
    parameters: [
      "pointer", // sqlite3_value *
    ],
    result: "i32", // int
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The libsqlite3 functions, typed as declared in {@linkcode symbols}. */
export type SqliteSymbols = Deno.DynamicLibrary<typeof symbols>["symbols"];

/** A loaded libsqlite3: its functions, version and where it came from. */
export interface SqliteLibrary {
  /** The raw C functions. Pointers passed to them must come from this library. */
  readonly symbols: SqliteSymbols;
  /** `sqlite3_libversion()`, e.g. "3.40.1". */
  readonly version: string;
  /** `sqlite3_libversion_number()`, e.g. 3040001. */
  readonly versionNumber: number;
  /** The name or path the library was opened with. */
  readonly path: string;
  /**
   * `SQLITE_TRANSIENT`, the destructor `(void (*)(void *))-1` telling
   * `sqlite3_bind_text`/`sqlite3_result_text` and kin to copy the memory.
   * (`SQLITE_STATIC` is `null`.)
   */
  readonly transient: Deno.PointerObject;
}

/** The environment variable naming a libsqlite3 to load. */
export const SQLITE_LIB_ENV = "LSVFS_SQLITE_LIB";

const loaded = new Map<string, SqliteLibrary>();

function defaultNames(): string[] {
  switch (Deno.build.os) {
    case "darwin":
      return [
        "libsqlite3.dylib",
        "/opt/homebrew/opt/sqlite/lib/libsqlite3.dylib",
        "/usr/local/opt/sqlite/lib/libsqlite3.dylib",
        "/usr/lib/libsqlite3.dylib",
      ];
    case "windows":
      return ["sqlite3.dll"];
    default:
      return ["libsqlite3.so.0", "libsqlite3.so"];
  }
}

function envPath(): string | undefined {
  // Read only when already allowed: a missing --allow-env must not make
  // every open fail (or prompt) just to learn that the variable is unset.
  const state = Deno.permissions.querySync({
    name: "env",
    variable: SQLITE_LIB_ENV,
  }).state;
  if (state !== "granted") return undefined;
  const value = Deno.env.get(SQLITE_LIB_ENV);
  return value === undefined || value === "" ? undefined : value;
}

function open(path: string): SqliteLibrary {
  const lib = Deno.dlopen(path, symbols).symbols;
  const rc = lib.sqlite3_initialize();
  if (rc !== 0) {
    throw new Error(
      `Cannot initialize SQLite library "${path}": sqlite3_initialize() returned ${rc}`,
    );
  }
  return {
    symbols: lib,
    version: Deno.UnsafePointerView.getCString(lib.sqlite3_libversion()!),
    versionNumber: lib.sqlite3_libversion_number(),
    path,
    transient: Deno.UnsafePointer.create(0xffff_ffff_ffff_ffffn)!,
  };
}

function loadFirst(names: string[], origin: string): SqliteLibrary {
  const errors: unknown[] = [];
  for (const name of names) {
    const cached = loaded.get(name);
    if (cached) return cached;
    try {
      const library = open(name);
      loaded.set(name, library);
      return library;
    } catch (error) {
      // Missing --allow-ffi (NotCapable) is the caller's to fix, not ours.
      if (
        error instanceof Deno.errors.NotCapable ||
        error instanceof Deno.errors.PermissionDenied
      ) throw error;
      errors.push(error);
    }
  }
  const tried = names.map((n) => `"${n}"`).join(", ");
  throw new Error(
    `Cannot load SQLite library ${tried} (${origin}): pass the "library" option or set ${SQLITE_LIB_ENV} to the path of a libsqlite3 shared library`,
    { cause: errors.length === 1 ? errors[0] : new AggregateError(errors) },
  );
}

/**
 * Loads libsqlite3 once per path and returns its functions and version.
 *
 * The library is, in order: `path` when given, else the file named by the
 * environment variable `LSVFS_SQLITE_LIB` (read only if env access to it is
 * already granted), else the system library (`libsqlite3.so.0` on Linux,
 * `libsqlite3.dylib` and Homebrew's on macOS, `sqlite3.dll` on Windows).
 * Libraries stay loaded for the life of the process.
 *
 * @param path File name or path of a libsqlite3 shared library.
 * @returns The loaded library.
 * @throws {Deno.errors.NotCapable} Without `--allow-ffi` (rethrown as is, as
 * is `Deno.errors.PermissionDenied`).
 * @throws {Error} When no library could be loaded or initialized; the
 * loader's error is the `cause`.
 *
 * @example Read the SQLite version
 * ```ts
 * import { sqliteLibrary } from "./database.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(sqliteLibrary().version, /^3\.\d+\.\d+/);
 * ```
 */
export function sqliteLibrary(path?: string): SqliteLibrary {
  if (path !== undefined) return loadFirst([path], "from the library option");
  const fromEnv = envPath();
  if (fromEnv !== undefined) {
    return loadFirst([fromEnv], `from ${SQLITE_LIB_ENV}`);
  }
  return loadFirst(defaultNames(), "the system library");
}
