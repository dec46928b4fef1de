/**
 * The state a Database shares with its Statements, out of the public API.
 *
 * @module
 */

import type { SqliteLibrary, SqliteSymbols } from "./_ffi.ts";

/** What a connection needs from each statement it tracks. */
export interface Finalizable {
  finalize(): void;
}

/** One open (or closed) `sqlite3 *` and its live statements. */
export interface Connection {
  /** The library the handle belongs to. */
  readonly library: SqliteLibrary;
  /** `library.symbols`, kept at hand. */
  readonly lib: SqliteSymbols;
  /** The `sqlite3 *`; null once closed. */
  handle: Deno.PointerValue;
  /** Statements not yet finalized, by `sqlite3_stmt *` address. */
  readonly statements: Map<bigint, WeakRef<Finalizable>>;
}

/** Each Database's connection. */
export const CONNECTIONS: WeakMap<object, Connection> = new WeakMap();

/** Finalizes statements whose objects were collected without finalize(). */
export const STATEMENT_REGISTRY: FinalizationRegistry<
  { conn: Connection; address: bigint; handle: Deno.PointerValue }
> = new FinalizationRegistry(({ conn, address, handle }) => {
  if (conn.statements.delete(address)) conn.lib.sqlite3_finalize(handle);
});

/** Closes connections whose Database was collected without close(). */
export const CONNECTION_REGISTRY: FinalizationRegistry<Connection> =
  new FinalizationRegistry((conn) => {
    // close_v2 leaves a zombie until the remaining statements are finalized
    // (by STATEMENT_REGISTRY), so the order of the two callbacks is free.
    if (conn.handle !== null) {
      const handle = conn.handle;
      conn.handle = null;
      conn.lib.sqlite3_close_v2(handle);
    }
  });
