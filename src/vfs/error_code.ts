/**
 * The one mapping from engine, codec and storage errors to SQLite result
 * codes, used by every callback of the host port.
 *
 * @module
 */

import {
  BusyError,
  ConfigError,
  ConflictError,
  CorruptFileError,
  LtxError,
  PageNotFoundError,
  ReadOnlyError,
  ReplicaNotFoundError,
  StorageError,
  TxidGapError,
} from "../engine/mod.ts";
import {
  SQLITE_BUSY,
  SQLITE_CANTOPEN,
  SQLITE_CORRUPT,
  SQLITE_IOERR,
  SQLITE_READONLY,
} from "../sqlite/constants.ts";

/** How deep {@linkcode sqliteCodeOf} follows `cause` links. */
const MAX_CAUSE_DEPTH = 8;

function codeOfKnown(error: unknown): number | undefined {
  if (error instanceof LtxError) return SQLITE_CORRUPT;
  if (error instanceof CorruptFileError) return SQLITE_CORRUPT;
  if (error instanceof TxidGapError) return SQLITE_CORRUPT;
  if (error instanceof PageNotFoundError) return SQLITE_CORRUPT;
  if (error instanceof ReplicaNotFoundError) return SQLITE_CANTOPEN;
  if (error instanceof ConfigError) return SQLITE_CANTOPEN;
  if (error instanceof BusyError) return SQLITE_BUSY;
  if (error instanceof ConflictError) return SQLITE_BUSY;
  if (error instanceof ReadOnlyError) return SQLITE_READONLY;
  if (error instanceof StorageError) {
    return error.retryable ? SQLITE_BUSY : undefined;
  }
  return undefined;
}

/**
 * Maps an error thrown by the engine to the SQLite result code a VFS method
 * returns for it.
 *
 * - `LtxError` and its subclasses, `CorruptFileError`: `SQLITE_CORRUPT` (a bad LTX file).
 * - `TxidGapError`, `PageNotFoundError`: `SQLITE_CORRUPT`. The replica's history has a hole;
 *   no retry and no other option fixes that, and SQLite says "database disk
 *   image is malformed", which is what it is.
 * - `ReplicaNotFoundError`, `ConfigError`: `SQLITE_CANTOPEN`.
 * - `BusyError`, `ConflictError`: `SQLITE_BUSY`; `ReadOnlyError`: `SQLITE_READONLY`.
 * - `StorageError` with `retryable`: `SQLITE_BUSY` (the engine has already
 *   retried; trying later may work). Without: `ioerr`.
 * - Anything else: `ioerr`.
 *
 * An error none of these match is searched along its `cause` chain, so a
 * wrapped `StorageError` still counts as one.
 *
 * @param error What the engine threw.
 * @param ioerr The code for an I/O failure where it happened, e.g.
 * `SQLITE_IOERR_READ` in `read_page`. Default `SQLITE_IOERR`.
 * @returns An SQLite (extended) result code, never `SQLITE_OK`.
 *
 * @example Map errors
 * ```ts
 * import { sqliteCodeOf } from "./error_code.ts";
 * import { ReplicaNotFoundError, StorageError } from "../engine/mod.ts";
 * import {
 *   SQLITE_BUSY,
 *   SQLITE_CANTOPEN,
 *   SQLITE_IOERR_READ,
 * } from "../sqlite/constants.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(sqliteCodeOf(new ReplicaNotFoundError("s3://b/db")), SQLITE_CANTOPEN);
 * const timeout = new StorageError("Timed out", { retryable: true });
 * assert.equal(sqliteCodeOf(new Error("Cannot read", { cause: timeout })), SQLITE_BUSY);
 * assert.equal(sqliteCodeOf(new TypeError("x"), SQLITE_IOERR_READ), SQLITE_IOERR_READ);
 * ```
 */
export function sqliteCodeOf(
  error: unknown,
  ioerr: number = SQLITE_IOERR,
): number {
  let current = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH; depth++) {
    const code = codeOfKnown(current);
    if (code !== undefined) return code;
    if (current instanceof StorageError) return ioerr;
    if (!(current instanceof Error) || current.cause === undefined) break;
    current = current.cause;
  }
  return ioerr;
}
