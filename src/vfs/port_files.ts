/**
 * What both engine ports do on the TypeScript side, whatever carries the
 * calls (`Deno.UnsafeCallback`s in the host port, a pipe in the engine child
 * of `src/host`): the table of open {@linkcode DatabaseFile}s keyed by int
 * ids, and the result code and message of a call that threw. The protocol
 * is described at the top of ffi/litestream_vfs.c.
 *
 * @module
 */

import type {
  CacheCounters,
  DatabaseFile,
  DatabaseFileOpener,
} from "../engine/database_file.ts";
import {
  SQLITE_CANTOPEN,
  SQLITE_ERROR,
  SQLITE_IOERR_CLOSE,
  SQLITE_IOERR_FSTAT,
  SQLITE_IOERR_FSYNC,
  SQLITE_IOERR_LOCK,
  SQLITE_IOERR_RDLOCK,
  SQLITE_IOERR_READ,
  SQLITE_IOERR_TRUNCATE,
  SQLITE_IOERR_UNLOCK,
  SQLITE_IOERR_WRITE,
} from "../sqlite/constants.ts";
import { sqliteCodeOf } from "./error_code.ts";

// The order of the shim's cache counters, for ports that receive them.
export {
  CACHE_STAT_COUNT,
  cacheCountersOf,
  OPEN_WRITABLE,
  WRITE_LOCK_CODES,
  WRITE_LOCK_LEVELS,
} from "./_shim.ts";

/** An open main-database file, as a port tracks it. */
export interface OpenFile {
  /** The port's id for the file; the shim's `iFile`. */
  readonly id: number;
  /** The name SQLite opened it with (a full path). */
  readonly name: string;
  /** Its URI parameters. */
  readonly params: ReadonlyMap<string, string>;
  /** What the opener returned. */
  readonly file: DatabaseFile;
}

/** A port call, as the shim's LsvfsPort names its members. */
export type PortCall =
  | "open"
  | "close"
  | "beginRead"
  | "endRead"
  | "fileSize"
  | "readPages"
  | "pragma"
  | "localMap"
  | "writeLock"
  | "write"
  | "truncate"
  | "commit";

/** The code of a failed call when the error maps to no better one. */
const CALL_IOERR: Readonly<Record<PortCall, number>> = {
  open: SQLITE_CANTOPEN,
  close: SQLITE_IOERR_CLOSE,
  beginRead: SQLITE_IOERR_RDLOCK,
  endRead: SQLITE_IOERR_UNLOCK,
  fileSize: SQLITE_IOERR_FSTAT,
  readPages: SQLITE_IOERR_READ,
  // The message is the user's (a bad time, a time too old): the shim
  // returns it as the SQL error.
  pragma: SQLITE_ERROR,
  // The shim reads through the engine instead.
  localMap: SQLITE_IOERR_READ,
  writeLock: SQLITE_IOERR_LOCK,
  write: SQLITE_IOERR_WRITE,
  truncate: SQLITE_IOERR_TRUNCATE,
  // The buffer could not be made durable: the commit fails.
  commit: SQLITE_IOERR_FSYNC,
};

/** The last error a port call threw, until taken. */
let lastError: unknown = undefined;
/** Its message, for the shim's `error_message`. */
let lastMessage = "";

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return String(error);
  } catch {
    return "Unknown error";
  }
}

/**
 * Records what a port call threw, for {@linkcode lastFailureMessage} and
 * {@linkcode takeLastFailure}, and returns the SQLite code the call answers:
 * {@linkcode sqliteCodeOf} with the call's own I/O code (`SQLITE_CANTOPEN`
 * for open, `SQLITE_IOERR_READ` for read_pages, ...). A pragma answers
 * `SQLITE_ERROR` where another call would say `SQLITE_CANTOPEN`: its SQL
 * error carries the message.
 *
 * @param call The call that threw.
 * @param error What it threw.
 * @returns An SQLite (extended) result code, never `SQLITE_OK`.
 *
 * @example A failed read
 * ```ts
 * import { lastFailureMessage, portFailure } from "./port_files.ts";
 * import { SQLITE_IOERR_READ } from "../sqlite/constants.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(portFailure("readPages", new Error("Disk gone")), SQLITE_IOERR_READ);
 * assert.equal(lastFailureMessage(), "Disk gone");
 * ```
 */
export function portFailure(call: PortCall, error: unknown): number {
  lastError = error;
  lastMessage = messageOf(error);
  const code = sqliteCodeOf(error, CALL_IOERR[call]);
  return call === "pragma" && code === SQLITE_CANTOPEN ? SQLITE_ERROR : code;
}

/**
 * The message of the last error {@linkcode portFailure} recorded, what the
 * shim's `error_message` copies out; empty before any.
 *
 * @returns The message.
 *
 * @example After a failure
 * ```ts
 * import { lastFailureMessage, portFailure } from "./port_files.ts";
 * import assert from "node:assert/strict";
 *
 * portFailure("open", new Error("No LTX files"));
 * assert.equal(lastFailureMessage(), "No LTX files");
 * ```
 */
export function lastFailureMessage(): string {
  return lastMessage;
}

/**
 * Returns and forgets the last error {@linkcode portFailure} recorded (its
 * message stays for `error_message`).
 *
 * @returns The error, or undefined when none since the last take.
 *
 * @example Take it once
 * ```ts
 * import { portFailure, takeLastFailure } from "./port_files.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new Error("x");
 * portFailure("close", error);
 * assert.equal(takeLastFailure(), error);
 * assert.equal(takeLastFailure(), undefined);
 * ```
 */
export function takeLastFailure(): unknown {
  const error = lastError;
  lastError = undefined;
  return error;
}

/** Largest file id; ids wrap around to 1 after it. */
const MAX_ID = 0x7fff_ffff;

/**
 * The files open through one port, by id. Methods throw what the engine
 * throws; the port turns that into a code with {@linkcode portFailure}.
 *
 * @example Open, use, close
 * ```ts
 * import { PortFiles } from "./port_files.ts";
 * import type { DatabaseFile } from "../engine/database_file.ts";
 * import { ReadOnlyError } from "../engine/errors.ts";
 * import assert from "node:assert/strict";
 *
 * const readOnly = () => {
 *   throw new ReadOnlyError("Read-only");
 * };
 * const file: DatabaseFile = {
 *   pageSize: 4096,
 *   writable: false,
 *   beginRead: () => 1n,
 *   endRead: () => {},
 *   localGeneration: () => 0,
 *   localMap: () => new Uint8Array(0),
 *   size: () => 4096,
 *   readPages: () => ({ first: 1, count: 1 }),
 *   pragma: () => undefined,
 *   lockWrite: readOnly,
 *   write: readOnly,
 *   truncate: readOnly,
 *   commit: readOnly,
 *   close: () => {},
 * };
 * const files = new PortFiles(() => file);
 * const { id } = files.open("/db", new Map());
 * assert.equal(files.file(id).pageSize, 4096);
 * files.close(id);
 * assert.throws(() => files.file(id), /Unknown database file id/);
 * ```
 */
export class PortFiles {
  /** Opens each main-database file. */
  readonly opener: DatabaseFileOpener;
  /** Open files by id. */
  readonly files: Map<number, OpenFile> = new Map();
  #nextId = 1;

  /** @param opener Opens each main-database file. */
  constructor(opener: DatabaseFileOpener) {
    this.opener = opener;
  }

  /**
   * Opens a file and gives it an id no open file has.
   *
   * @param name The name SQLite passed to `xOpen`.
   * @param params Its URI parameters.
   * @returns The open file, with its id.
   */
  open(name: string, params: ReadonlyMap<string, string>): OpenFile {
    const file = this.opener(name, params);
    let id = this.#nextId;
    while (this.files.has(id)) id = id >= MAX_ID ? 1 : id + 1;
    this.#nextId = id >= MAX_ID ? 1 : id + 1;
    const open = { id, name, params, file };
    this.files.set(id, open);
    return open;
  }

  /**
   * The file with an id.
   *
   * @param id The file's id.
   * @returns The engine's file.
   * @throws {Error} When no open file has the id.
   */
  file(id: number): DatabaseFile {
    const open = this.files.get(id);
    if (open === undefined) {
      throw new Error(`Unknown database file id: ${id}`);
    }
    return open.file;
  }

  /**
   * Forgets a file and closes it; an unknown id is already closed.
   *
   * @param id The file's id.
   * @param counters The shim's cache counters of the file, to log.
   */
  close(id: number, counters?: CacheCounters): void {
    const open = this.files.get(id);
    if (open === undefined) return;
    this.files.delete(id);
    open.file.close(counters);
  }
}

/**
 * Parses the shim's parameter block, "key\0value\0" pairs. A repeated key
 * keeps its first value, as `sqlite3_uri_parameter` does.
 *
 * @param bytes The block.
 * @returns The parameters in order.
 *
 * @example Two parameters
 * ```ts
 * import { parseParams } from "./port_files.ts";
 * import assert from "node:assert/strict";
 *
 * const block = new TextEncoder().encode("vfs\0litestream\0a\0b\0a\0c\0");
 * assert.deepEqual([...parseParams(block)], [["vfs", "litestream"], ["a", "b"]]);
 * ```
 */
export function parseParams(bytes: Uint8Array): Map<string, string> {
  const decoder = new TextDecoder();
  const params = new Map<string, string>();
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) {
      parts.push(decoder.decode(bytes.subarray(start, i)));
      start = i + 1;
    }
  }
  for (let i = 0; i + 1 < parts.length; i += 2) {
    if (!params.has(parts[i])) params.set(parts[i], parts[i + 1]);
  }
  return params;
}
