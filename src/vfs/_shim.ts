/**
 * What the bridge knows about the C shim (ffi/litestream_vfs.c): its entry
 * point, the functions Deno calls in it, and the sizes of its tables.
 *
 * @module
 */

import type { CacheCounters, WriteLockLevel } from "../engine/mod.ts";
import {
  SQLITE_LOCK_EXCLUSIVE,
  SQLITE_LOCK_RESERVED,
  SQLITE_LOCK_SHARED,
} from "../sqlite/constants.ts";

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
export const HOST_PORT_FUNCTION_COUNT = 13;

/** LSVFS_OPEN_WRITABLE: open's flag of a file open for writing (write mode). */
export const OPEN_WRITABLE = 1;

/** SQLite's number for each lock level `write_lock` takes. */
export const WRITE_LOCK_CODES: Readonly<Record<WriteLockLevel, number>> = {
  shared: SQLITE_LOCK_SHARED,
  reserved: SQLITE_LOCK_RESERVED,
  exclusive: SQLITE_LOCK_EXCLUSIVE,
};

/** The lock levels `write_lock` takes, by SQLite's number for them. */
export const WRITE_LOCK_LEVELS: Readonly<
  Record<number, WriteLockLevel | undefined>
> = Object.fromEntries(
  Object.entries(WRITE_LOCK_CODES).map(([level, code]) => [code, level]),
) as Record<number, WriteLockLevel>;

/** LSVFS_PRAGMA_OUT_SIZE: bytes of the buffer `pragma` writes its result to. */
export const PRAGMA_OUT_SIZE = 4096;

/** LSVFS_NSTAT: how many counters `lsvfs_cache_stats` reports. */
export const CACHE_STAT_COUNT = 9;

/** The file id `lsvfs_cache_stats` takes for the whole process. */
export const ALL_FILES = -1;

/**
 * Cache counters in the order the shim writes them (`lsvfs_cache_stats`, and
 * the array the close callback receives).
 *
 * @param at Reads counter `index` as C wrote it.
 * @returns The counters by name.
 */
export function cacheCountersOf(at: (index: number) => bigint): CacheCounters {
  const n = (i: number) => Number(at(i));
  return {
    hits: n(0),
    misses: n(1),
    evictions: n(2),
    drops: n(3),
    bytes: n(4),
    pages: n(5),
    maxBytes: n(6),
    localReads: n(7),
    engineReads: n(8),
  };
}
