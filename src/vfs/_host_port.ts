/**
 * The host port: the `Deno.UnsafeCallback`s the shim calls for main-database
 * files, over a {@linkcode PortFiles} table of open files keyed by int ids
 * (C holds ids, never JS objects). The protocol is described at the top of
 * ffi/litestream_vfs.c.
 *
 * Every callback body runs in try/catch and returns an SQLite result code;
 * a thrown error becomes a code through {@linkcode portFailure} and is kept
 * as the last engine error, whose message the shim asks for
 * (`error_message`) to log it.
 *
 * @module
 */

import type {
  CacheCounters,
  DatabaseFileOpener,
} from "../engine/database_file.ts";
import { SQLITE_NOTFOUND, SQLITE_OK } from "../sqlite/constants.ts";
import {
  lastFailureMessage,
  type OpenFile,
  parseParams,
  portFailure,
  PortFiles,
} from "./port_files.ts";
import {
  CACHE_STAT_COUNT,
  cacheCountersOf,
  HOST_PORT_FUNCTION_COUNT,
  OPEN_WRITABLE,
  WRITE_LOCK_LEVELS,
} from "./_shim.ts";

// The callback signatures, in lsvfs_host_install() order.
const OPEN = {
  parameters: [
    "pointer", // const char *zName
    "pointer", // const char *aParams ("key\0value\0" pairs)
    "i32", // int nParams (bytes)
    "pointer", // int *pFileId
    "pointer", // int *pPageSize
    "pointer", // int *pFlags (LSVFS_OPEN_WRITABLE, or 0)
  ],
  result: "i32",
} as const;
const CLOSE = {
  parameters: [
    "i32", // int iFile
    "pointer", // const sqlite3_uint64 *aStat (NULL when the open failed)
    "i32", // int nStat
  ],
  result: "i32",
} as const;
const BEGIN_READ = {
  parameters: [
    "i32", // int iFile
    "pointer", // sqlite3_uint64 *pVersion
    "pointer", // unsigned int *pLocal (local map generation)
    "pointer", // sqlite3_int64 *pSize (database size in bytes)
  ],
  result: "i32",
} as const;
const END_READ = { parameters: ["i32"], result: "i32" } as const; // int iFile
const FILE_SIZE = {
  parameters: [
    "i32", // int iFile
    "pointer", // sqlite3_int64 *pSize
  ],
  result: "i32",
} as const;
const READ_PAGES = {
  parameters: [
    "i32", // int iFile
    "u32", // unsigned int pgno
    "i32", // int nMax (pages pBuf holds)
    "pointer", // void *pBuf (nMax * pageSize bytes)
    "pointer", // unsigned int *pFirst (first page written)
    "pointer", // int *pnPages (pages written)
  ],
  result: "i32",
} as const;
const PRAGMA = {
  parameters: [
    "i32", // int iFile
    "pointer", // const char *zName
    "pointer", // const char *zValue (NULL for a get)
    "pointer", // char *zOut
    "i32", // int nOut
    "pointer", // int *pnOut (length written, or -1 for no result)
  ],
  result: "i32", // SQLITE_OK, SQLITE_NOTFOUND, or an error code
} as const;
const LOCAL_MAP = {
  parameters: [
    "i32", // int iFile
    "pointer", // unsigned char *aBuf
    "i32", // int nBuf
    "pointer", // int *pnMap (the map's length, written or not)
  ],
  result: "i32",
} as const;
const ERROR_MESSAGE = {
  parameters: [
    "pointer", // char *zBuf
    "i32", // int nBuf
  ],
  result: "i32", // int: bytes written, NUL excluded
} as const;
const WRITE_LOCK = {
  parameters: [
    "i32", // int iFile
    "i32", // int eLock (SQLITE_LOCK_SHARED, _RESERVED or _EXCLUSIVE)
  ],
  result: "i32", // SQLITE_OK, SQLITE_BUSY, SQLITE_READONLY, or an error code
} as const;
const WRITE = {
  parameters: [
    "i32", // int iFile
    "i64", // sqlite3_int64 iOfst
    "pointer", // const void *aData (SQLite's buffer: another each call)
    "i32", // int nData
  ],
  result: "i32",
} as const;
const TRUNCATE = {
  parameters: [
    "i32", // int iFile
    "i64", // sqlite3_int64 iSize
  ],
  result: "i32",
} as const;
const COMMIT = {
  parameters: [
    "i32", // int iFile
    "pointer", // sqlite3_uint64 *pVersion (view version of the commit)
  ],
  result: "i32",
} as const;

/** What the port needs of each `Deno.UnsafeCallback`, whatever its signature. */
interface Callback {
  readonly pointer: Deno.PointerObject;
  close(): void;
}

/** Views are dropped, all at once, when there are this many. */
const MAX_VIEWS = 1024;

/**
 * Typed views over C memory, made once per address. The shim passes each
 * file's out-slots and page buffer at fixed addresses, so after the first
 * call a view costs a map lookup instead of a new ArrayBuffer (about 0.5
 * µs). A view is only written while C has just handed over its address, so
 * it is live; memory reused at the same address and size is the same range.
 */
class PointerViews {
  #bytes = new Map<number | bigint, Uint8Array>();
  #int32 = new Map<number | bigint, Int32Array>();
  #uint32 = new Map<number | bigint, Uint32Array>();
  #uint64 = new Map<number | bigint, BigUint64Array>();
  #int64 = new Map<number | bigint, BigInt64Array>();

  #get<T extends { byteLength: number }>(
    views: Map<number | bigint, T>,
    pointer: Deno.PointerObject,
    byteLength: number,
    make: (buffer: ArrayBuffer) => T,
  ): T {
    const key = Deno.UnsafePointer.value(pointer);
    let view = views.get(key);
    if (view === undefined || view.byteLength !== byteLength) {
      if (views.size >= MAX_VIEWS) views.clear();
      view = make(Deno.UnsafePointerView.getArrayBuffer(pointer, byteLength));
      views.set(key, view);
    }
    return view;
  }

  bytes(pointer: Deno.PointerObject, byteLength: number): Uint8Array {
    return this.#get(
      this.#bytes,
      pointer,
      byteLength,
      (b) => new Uint8Array(b),
    );
  }

  int32(pointer: Deno.PointerObject): Int32Array {
    return this.#get(this.#int32, pointer, 4, (b) => new Int32Array(b));
  }

  uint32(pointer: Deno.PointerObject): Uint32Array {
    return this.#get(this.#uint32, pointer, 4, (b) => new Uint32Array(b));
  }

  uint64(pointer: Deno.PointerObject): BigUint64Array {
    return this.#get(this.#uint64, pointer, 8, (b) => new BigUint64Array(b));
  }

  int64(pointer: Deno.PointerObject): BigInt64Array {
    return this.#get(this.#int64, pointer, 8, (b) => new BigInt64Array(b));
  }
}

const encoder = new TextEncoder();

function nonNull(pointer: Deno.PointerValue, what: string): Deno.PointerObject {
  if (pointer === null) {
    throw new TypeError(`Null pointer from the shim: ${what}`);
  }
  return pointer;
}

/** The shim's parameter block: `length` bytes of "key\0value\0" pairs. */
function paramsAt(
  pointer: Deno.PointerValue,
  length: number,
): Map<string, string> {
  if (pointer === null || length <= 0) return new Map();
  return parseParams(
    new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(pointer, length)),
  );
}

/** The callbacks of one installation of the host port, and its files. */
export class HostPort {
  /** Opens each main-database file. */
  readonly opener: DatabaseFileOpener;
  /** Open files by id. */
  readonly files: Map<number, OpenFile>;
  /** The callbacks, in lsvfs_host_install() order. */
  readonly callbacks: readonly Callback[];
  #files: PortFiles;
  #views = new PointerViews();
  /** A local map too big for the buffer it was asked with, until asked again. */
  #pendingMap: { id: number; map: Uint8Array } | undefined;

  constructor(opener: DatabaseFileOpener) {
    this.opener = opener;
    this.#files = new PortFiles(opener);
    this.files = this.#files.files;
    this.callbacks = [
      new Deno.UnsafeCallback(
        OPEN,
        (zName, aParams, nParams, pId, pSize, pFlags) => {
          try {
            return this.#open(zName, aParams, nParams, pId, pSize, pFlags);
          } catch (error) {
            return portFailure("open", error);
          }
        },
      ),
      new Deno.UnsafeCallback(CLOSE, (id, aStat, nStat) => {
        try {
          this.#files.close(id, cacheCounters(aStat, nStat));
          return SQLITE_OK;
        } catch (error) {
          return portFailure("close", error);
        }
      }),
      new Deno.UnsafeCallback(BEGIN_READ, (id, pVersion, pLocal, pSize) => {
        try {
          const file = this.#files.file(id);
          const version = file.beginRead();
          this.#views.uint64(nonNull(pVersion, "pVersion"))[0] = version;
          this.#views.uint32(nonNull(pLocal, "pLocal"))[0] = file
            .localGeneration();
          this.#views.int64(nonNull(pSize, "pSize"))[0] = BigInt(file.size());
          return SQLITE_OK;
        } catch (error) {
          return portFailure("beginRead", error);
        }
      }),
      new Deno.UnsafeCallback(END_READ, (id) => {
        try {
          this.#files.file(id).endRead();
          return SQLITE_OK;
        } catch (error) {
          return portFailure("endRead", error);
        }
      }),
      new Deno.UnsafeCallback(FILE_SIZE, (id, pSize) => {
        try {
          const size = this.#files.file(id).size();
          this.#views.int64(nonNull(pSize, "pSize"))[0] = BigInt(size);
          return SQLITE_OK;
        } catch (error) {
          return portFailure("fileSize", error);
        }
      }),
      new Deno.UnsafeCallback(
        READ_PAGES,
        (id, pgno, nMax, pBuf, pFirst, pnPages) => {
          try {
            const file = this.#files.file(id);
            const out = this.#views.bytes(
              nonNull(pBuf, "pBuf"),
              nMax * file.pageSize,
            );
            const run = file.readPages(pgno, out);
            this.#views.uint32(nonNull(pFirst, "pFirst"))[0] = run.first;
            this.#views.int32(nonNull(pnPages, "pnPages"))[0] = run.count;
            return SQLITE_OK;
          } catch (error) {
            return portFailure("readPages", error);
          }
        },
      ),
      new Deno.UnsafeCallback(ERROR_MESSAGE, (zBuf, nBuf) => {
        try {
          if (zBuf === null || nBuf <= 0) return 0;
          const out = new Uint8Array(
            Deno.UnsafePointerView.getArrayBuffer(zBuf, nBuf),
          );
          const { written } = encoder.encodeInto(
            lastFailureMessage(),
            out.subarray(0, nBuf - 1),
          );
          out[written] = 0;
          return written;
        } catch {
          return 0;
        }
      }),
      new Deno.UnsafeCallback(
        PRAGMA,
        (id, zName, zValue, zOut, nOut, pnOut) => {
          try {
            const name = Deno.UnsafePointerView.getCString(
              nonNull(zName, "zName"),
            );
            const value = zValue === null
              ? null
              : Deno.UnsafePointerView.getCString(zValue);
            const result = this.#files.file(id).pragma(name, value);
            if (result === undefined) return SQLITE_NOTFOUND;
            const length = this.#views.int32(nonNull(pnOut, "pnOut"));
            if (result === null) {
              length[0] = -1;
              return SQLITE_OK;
            }
            const out = this.#views.bytes(nonNull(zOut, "zOut"), nOut);
            const bytes = encoder.encode(result);
            out.set(bytes.subarray(0, nOut - 1));
            out[Math.min(bytes.length, nOut - 1)] = 0;
            length[0] = bytes.length;
            return SQLITE_OK;
          } catch (error) {
            return portFailure("pragma", error);
          }
        },
      ),
      new Deno.UnsafeCallback(LOCAL_MAP, (id, aBuf, nBuf, pnMap) => {
        try {
          // A map that does not fit is asked for again with room for it:
          // encode it once.
          if (this.#pendingMap?.id !== id) {
            this.#pendingMap = { id, map: this.#files.file(id).localMap() };
          }
          const { map } = this.#pendingMap;
          this.#views.int32(nonNull(pnMap, "pnMap"))[0] = map.length;
          if (map.length <= nBuf && map.length > 0) {
            new Uint8Array(
              Deno.UnsafePointerView.getArrayBuffer(
                nonNull(aBuf, "aBuf"),
                map.length,
              ),
            ).set(map);
          }
          if (map.length <= nBuf) this.#pendingMap = undefined;
          return SQLITE_OK;
        } catch (error) {
          this.#pendingMap = undefined;
          return portFailure("localMap", error);
        }
      }),
      new Deno.UnsafeCallback(WRITE_LOCK, (id, eLock) => {
        try {
          const level = WRITE_LOCK_LEVELS[eLock];
          if (level === undefined) {
            throw new RangeError(`Unknown write lock level: ${eLock}`);
          }
          this.#files.file(id).lockWrite(level);
          return SQLITE_OK;
        } catch (error) {
          return portFailure("writeLock", error);
        }
      }),
      new Deno.UnsafeCallback(WRITE, (id, iOfst, aData, nData) => {
        try {
          const file = this.#files.file(id);
          // A fresh view, never a cached one: SQLite passes a different
          // buffer each time, and the engine copies what it keeps.
          const data = nData > 0
            ? new Uint8Array(
              Deno.UnsafePointerView.getArrayBuffer(
                nonNull(aData, "aData"),
                nData,
              ),
            )
            : new Uint8Array(0);
          file.write(Number(iOfst), data);
          return SQLITE_OK;
        } catch (error) {
          return portFailure("write", error);
        }
      }),
      new Deno.UnsafeCallback(TRUNCATE, (id, iSize) => {
        try {
          this.#files.file(id).truncate(Number(iSize));
          return SQLITE_OK;
        } catch (error) {
          return portFailure("truncate", error);
        }
      }),
      new Deno.UnsafeCallback(COMMIT, (id, pVersion) => {
        try {
          const version = this.#files.file(id).commit();
          this.#views.uint64(nonNull(pVersion, "pVersion"))[0] = version;
          return SQLITE_OK;
        } catch (error) {
          return portFailure("commit", error);
        }
      }),
    ];
    if (this.callbacks.length !== HOST_PORT_FUNCTION_COUNT) {
      throw new Error("The host port's callbacks do not match the shim");
    }
  }

  /** The callbacks' function pointers, as lsvfs_host_install() takes them. */
  functionTable(): BigUint64Array<ArrayBuffer> {
    return new BigUint64Array(
      this.callbacks.map((c) => BigInt(Deno.UnsafePointer.value(c.pointer))),
    );
  }

  /** Closes the callbacks; the shim must no longer hold them. */
  close(): void {
    for (const callback of this.callbacks) callback.close();
  }

  #open(
    zName: Deno.PointerValue,
    aParams: Deno.PointerValue,
    nParams: number,
    pId: Deno.PointerValue,
    pSize: Deno.PointerValue,
    pFlags: Deno.PointerValue,
  ): number {
    const name = Deno.UnsafePointerView.getCString(nonNull(zName, "zName"));
    const params = paramsAt(aParams, nParams);
    const idOut = this.#views.int32(nonNull(pId, "pFileId"));
    const sizeOut = this.#views.int32(nonNull(pSize, "pPageSize"));
    const flagsOut = this.#views.int32(nonNull(pFlags, "pFlags"));
    const { id, file } = this.#files.open(name, params);
    idOut[0] = id;
    sizeOut[0] = file.pageSize;
    flagsOut[0] = file.writable ? OPEN_WRITABLE : 0;
    return SQLITE_OK;
  }
}

/** The shim's counters at close, in lsvfs_cache_stats() order. */
function cacheCounters(
  pointer: Deno.PointerValue,
  count: number,
): CacheCounters | undefined {
  if (pointer === null || count < CACHE_STAT_COUNT) return undefined;
  const view = new Deno.UnsafePointerView(pointer);
  return cacheCountersOf((i) => view.getBigUint64(i * 8));
}
