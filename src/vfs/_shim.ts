/**
 * What the bridge knows about the C shim (ffi/litestream_vfs.c): its entry
 * point, the functions Deno calls in it, and the sizes of its tables.
 *
 * @module
 */

/** The extension entry point SQLite calls on load. */
export const SHIM_ENTRY_POINT = "sqlite3_litestreamvfs_init";

/** The functions of the shim the bridge calls (widths from the C file). */
export const SHIM_SYMBOLS = {
  lsvfs_host_install: {
    parameters: [
      "buffer", // void (*const *aFn)(void): LSVFS_HOST_NFN function pointers
      "i32", // int nFn
    ],
    result: "i32", // int: SQLITE_OK, SQLITE_MISUSE or SQLITE_BUSY
  },
  lsvfs_host_uninstall: {
    parameters: [],
    result: "i32", // int: SQLITE_OK, SQLITE_MISUSE or SQLITE_BUSY
  },
  lsvfs_register_functions: {
    parameters: [
      "pointer", // sqlite3 *db
    ],
    result: "i32", // int: SQLITE_OK, SQLITE_NOTFOUND or SQLITE_MISUSE
  },
  lsvfs_cache_stats: {
    parameters: [
      "i32", // int iFile (-1: the whole process)
      "buffer", // sqlite3_uint64 *aOut
      "i32", // int nOut
    ],
    result: "i32", // int: SQLITE_OK, SQLITE_NOTFOUND or SQLITE_MISUSE
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The shim's functions, typed as declared in {@linkcode SHIM_SYMBOLS}. */
export type ShimSymbols = Deno.DynamicLibrary<typeof SHIM_SYMBOLS>["symbols"];

/** LSVFS_HOST_NFN: how many functions `lsvfs_host_install` takes. */
export const HOST_PORT_FUNCTION_COUNT = 8;

/** LSVFS_PRAGMA_OUT_SIZE: bytes of the buffer `pragma` writes its result to. */
export const PRAGMA_OUT_SIZE = 4096;

/** LSVFS_NSTAT: how many counters `lsvfs_cache_stats` reports. */
export const CACHE_STAT_COUNT = 7;

/** The file id `lsvfs_cache_stats` takes for the whole process. */
export const ALL_FILES = -1;
