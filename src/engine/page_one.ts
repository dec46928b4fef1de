/**
 * Page 1 as the VFS presents it.
 *
 * SQLite decides from page 1 whether its own page cache is still valid: in
 * rollback-journal mode it compares the file change counter (bytes 24-27) at
 * the start of every read transaction. Litestream's VFS writes a random
 * counter there, so SQLite drops its cache every transaction; deriving the
 * counter from the TXID keeps the cache exactly as long as the data is
 * unchanged.
 *
 * @module
 */

/** Offsets in the SQLite database header (https://sqlite.org/fileformat.html). */
const WRITE_VERSION_OFFSET = 18;
const READ_VERSION_OFFSET = 19;
const CHANGE_COUNTER_OFFSET = 24;
const DATABASE_SIZE_OFFSET = 28;
const VERSION_VALID_FOR_OFFSET = 92;
/** File format version 1: rollback journal (2 would be WAL). */
const ROLLBACK_JOURNAL = 1;

/**
 * Patches page 1 in place: rollback-journal mode, a change counter derived
 * from the TXID, and an in-header database size SQLite will trust.
 *
 * @param page Page 1 of the database, at least 100 bytes.
 * @param txid The TXID of the view the page belongs to.
 * @param pageCount The database size in pages at that TXID.
 *
 * @example Patch a page
 * ```ts
 * import { patchPageOne } from "./page_one.ts";
 * import assert from "node:assert/strict";
 * const page = new Uint8Array(4096);
 * patchPageOne(page, 0x1234n, 3);
 * assert.equal(new DataView(page.buffer).getUint32(24), 0x1234);
 * ```
 */
export function patchPageOne(
  page: Uint8Array,
  txid: bigint,
  pageCount: number,
): void {
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  page[WRITE_VERSION_OFFSET] = ROLLBACK_JOURNAL;
  page[READ_VERSION_OFFSET] = ROLLBACK_JOURNAL;
  const counter = Number(BigInt.asUintN(32, txid));
  view.setUint32(CHANGE_COUNTER_OFFSET, counter);
  view.setUint32(DATABASE_SIZE_OFFSET, pageCount);
  // The in-header size counts only when this equals the change counter.
  view.setUint32(VERSION_VALID_FOR_OFFSET, counter);
}
