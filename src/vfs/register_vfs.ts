/**
 * Registers the VFS "litestream" in the process's libsqlite3 and attaches
 * the engine to it through the host port.
 *
 * @module
 */

import type {
  CacheCounters,
  DatabaseFileOpener,
} from "../engine/database_file.ts";
import { ensureShim } from "../../ffi/build.ts";
import {
  Database,
  SQLITE_BUSY,
  SQLITE_MISUSE,
  SQLITE_NOTFOUND,
  SQLITE_OK,
  sqliteLibrary,
} from "../sqlite/mod.ts";
import { HostPort } from "./_host_port.ts";
import {
  ALL_FILES,
  CACHE_STAT_COUNT,
  cacheCountersOf,
  SHIM_ENTRY_POINT,
  SHIM_SYMBOLS,
} from "./_shim.ts";

/** Options for {@linkcode registerVfs}. */
export interface RegisterVfsOptions {
  /** Opens each main-database file SQLite opens with the VFS. */
  opener: DatabaseFileOpener;
  /**
   * The libsqlite3 to register in (a file name or path), as `Database`'s
   * `library` option takes it. Default: `LSVFS_SQLITE_LIB`, else the system
   * library.
   */
  library?: string;
  /**
   * A prebuilt shim library. Default: `dist/litestream-vfs.so` (`.dylib`),
   * built first when missing or older than its sources.
   */
  shim?: string;
}

/** Page-cache counters of the shim (one file's, or the registration's). */
export type CacheStats = CacheCounters;

/** A main-database file open through the VFS. */
export interface VfsFileInfo {
  /** The id the shim knows it by (for {@linkcode VfsRegistration.cacheStats}). */
  readonly id: number;
  /** The name SQLite opened it with: a full path. */
  readonly name: string;
  /** Its URI parameters. */
  readonly params: ReadonlyMap<string, string>;
}

/** The VFS "litestream", registered and served by an opener. */
export interface VfsRegistration {
  /** The VFS name to open databases with: "litestream". */
  readonly name: string;
  /** The path of the shim library in use. */
  readonly shimPath: string;
  /** The main-database files open now. */
  files(): VfsFileInfo[];
  /**
   * Page-cache counters.
   *
   * @param fileId A file's id (see {@linkcode VfsRegistration.files}); all
   * files of this registration (closed ones included) when omitted.
   * @returns The counters, or undefined for a file that is not open.
   */
  cacheStats(fileId?: number): CacheStats | undefined;
  /**
   * Registers the SQL functions (`litestream_txid()`, `litestream_time()`,
   * `litestream_lag()`, `litestream_set_time()`) on a connection. Connections
   * opened after the shim was loaded get them already (the shim registers
   * an auto-extension); calling again is harmless.
   *
   * @param db The connection's `sqlite3 *`.
   * @returns Whether the connection's main database uses the VFS (and so
   * got the functions).
   */
  registerFunctions(db: Deno.PointerValue): boolean;
  /**
   * Detaches the engine: later opens with the VFS fail with
   * `SQLITE_CANTOPEN` until `registerVfs()` is called again. The VFS itself
   * stays registered in SQLite. Idempotent.
   *
   * @throws {Error} While database files are open through the VFS.
   */
  unregister(): void;
}

/** The VFS name the shim registers. */
const VFS_NAME = "litestream";

/** The registration in force, if any. */
let current: Registration | undefined;
/**
 * The libsqlite3 the shim is loaded into (identified by the address of its
 * version string), and the shim's path. The shim's `sqlite3_api` points into
 * that library for the rest of the process.
 */
let bound: { key: bigint; path: string; shimPath: string } | undefined;

/** Identifies a loaded libsqlite3 by the address of its version string. */
function libraryKey(library?: string): { key: bigint; path: string } {
  const lib = sqliteLibrary(library);
  const version = lib.symbols.sqlite3_libversion();
  return { key: BigInt(Deno.UnsafePointer.value(version)), path: lib.path };
}

class Registration implements VfsRegistration {
  readonly name = VFS_NAME;
  readonly shimPath: string;
  readonly opener: DatabaseFileOpener;
  #port: HostPort;
  #shim: Deno.DynamicLibrary<typeof SHIM_SYMBOLS>;
  #closed = false;

  constructor(
    shimPath: string,
    port: HostPort,
    shim: Deno.DynamicLibrary<typeof SHIM_SYMBOLS>,
  ) {
    this.shimPath = shimPath;
    this.opener = port.opener;
    this.#port = port;
    this.#shim = shim;
  }

  files(): VfsFileInfo[] {
    return [...this.#port.files.values()].map(({ id, name, params }) => ({
      id,
      name,
      params,
    }));
  }

  cacheStats(fileId?: number): CacheStats | undefined {
    if (this.#closed) throw new Error("The litestream VFS is unregistered");
    const out = new BigUint64Array(CACHE_STAT_COUNT);
    const rc = this.#shim.symbols.lsvfs_cache_stats(
      fileId ?? ALL_FILES,
      out,
      out.length,
    );
    if (rc !== SQLITE_OK) return undefined;
    return cacheCountersOf((i) => out[i]);
  }

  registerFunctions(db: Deno.PointerValue): boolean {
    if (this.#closed || db === null) return false;
    const rc = this.#shim.symbols.lsvfs_register_functions(db);
    if (rc === SQLITE_NOTFOUND) return false;
    if (rc !== SQLITE_OK) {
      throw new Error(
        `Cannot register the litestream SQL functions: lsvfs_register_functions() returned ${rc}`,
      );
    }
    return true;
  }

  unregister(): void {
    if (this.#closed) return;
    const rc = this.#shim.symbols.lsvfs_host_uninstall();
    if (rc === SQLITE_BUSY) {
      throw new Error(
        `Cannot unregister the litestream VFS: ${this.#port.files.size} database file(s) are still open through it: close them first`,
      );
    }
    if (rc !== SQLITE_OK) {
      throw new Error(
        `Cannot unregister the litestream VFS: lsvfs_host_uninstall() returned ${rc}`,
      );
    }
    this.#closed = true;
    this.#port.close();
    this.#shim.close();
    if (current === this) current = undefined;
  }
}

/**
 * Registers the VFS "litestream" and serves its main-database files with
 * `options.opener`, in this process.
 *
 * The shim (built first when missing) is loaded into the libsqlite3 that
 * `src/sqlite` uses, through `sqlite3_load_extension` on a private
 * `:memory:` connection, and stays loaded. Deno opens the same file with
 * `Deno.dlopen` (same path, same library, shared state) to install the
 * callbacks. Databases then open with `file:NAME?vfs=litestream&...`; the
 * opener receives each file's URI parameters, so one registration serves
 * any number of replicas.
 *
 * Registering again while registered returns the same registration when
 * the opener is the same.
 *
 * @param options The opener, and which libsqlite3 and shim to use.
 * @returns The registration.
 * @throws {Error} When already registered with another opener or in another
 * libsqlite3, or when the shim cannot be built or loaded.
 *
 * @example Serve a database with an opener
 * ```ts ignore
 * import { registerVfs } from "./register_vfs.ts";
 * import { Database } from "../sqlite/mod.ts";
 *
 * const vfs = registerVfs({ opener: (name, params) => openReplica(params) });
 * using db = new Database("file:app.db?vfs=litestream&replica_url=s3://b/app");
 * console.log(db.prepare("SELECT count(*) AS n FROM t").get());
 * db.close();
 * vfs.unregister();
 * ```
 */
export function registerVfs(options: RegisterVfsOptions): VfsRegistration {
  const library = libraryKey(options.library);
  if (bound !== undefined && bound.key !== library.key) {
    throw new Error(
      `Cannot register the litestream VFS in SQLite library "${library.path}": the shim is already loaded into "${bound.path}"`,
    );
  }
  const shimPath = bound?.shimPath ??
    Deno.realPathSync(options.shim ?? ensureShim());
  if (
    options.shim !== undefined && Deno.realPathSync(options.shim) !== shimPath
  ) {
    throw new Error(
      `Cannot register the litestream VFS with shim "${options.shim}": "${shimPath}" is loaded`,
    );
  }
  if (current !== undefined) {
    if (current.opener !== options.opener) {
      throw new Error(
        "Cannot register the litestream VFS: it is already registered with another opener: unregister it first",
      );
    }
    return current;
  }

  if (bound === undefined) {
    const db = new Database(":memory:", { library: options.library });
    try {
      db.loadExtension(shimPath, SHIM_ENTRY_POINT);
    } finally {
      db.close();
    }
    bound = { ...library, shimPath };
  }

  // Same path as SQLite loaded, so the same library and the same globals.
  const shim = Deno.dlopen(shimPath, SHIM_SYMBOLS);
  let port: HostPort | undefined;
  try {
    port = new HostPort(options.opener);
    const table = port.functionTable();
    const rc = shim.symbols.lsvfs_host_install(table, table.length);
    if (rc === SQLITE_MISUSE) {
      throw new Error(
        `Cannot attach to the shim "${shimPath}": Deno loaded a second copy of it, not the one SQLite loaded`,
      );
    }
    if (rc !== SQLITE_OK) {
      throw new Error(
        `Cannot attach to the shim "${shimPath}": lsvfs_host_install() returned ${rc}`,
      );
    }
  } catch (error) {
    port?.close();
    shim.close();
    throw error;
  }
  current = new Registration(shimPath, port, shim);
  return current;
}
