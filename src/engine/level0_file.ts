/**
 * The LTX file a sync of write mode uploads: the committed pages of a
 * {@linkcode WriteBuffer} as one level-0 file on top of the replica state
 * the buffer applies to (MinTXID = MaxTXID = the base TXID + 1).
 *
 * Database checksums, as LTX defines them: when the base tracks one, the
 * pre-apply checksum is the base's and the post-apply one is computed from
 * it, page by page (each changed page's old checksum out, its new one in,
 * pages cut off by a shrink out); a new database sums its pages. When the
 * base does not track one (Litestream's own write mode writes files with
 * the NoChecksum flag), neither does the new file. The file checksum is
 * always there.
 *
 * @module
 */

import {
  CHECKSUM_FLAG,
  encodeFile,
  HEADER_FLAG_NO_CHECKSUM,
  lockPgno,
  pageChecksum,
} from "../ltx/mod.ts";
import type { WriteBuffer } from "./write_buffer.ts";

/** A built level-0 file. */
export interface Level0File {
  /** The file's bytes. */
  readonly bytes: Uint8Array;
  /** Its TXID. */
  readonly txid: bigint;
  /** The database checksum after it; 0 when untracked. */
  readonly checksum: bigint;
  /** Pages it holds. */
  readonly pages: number;
}

/**
 * Reads pages of the base state, for the database checksum: all at once, so
 * that a remote replica serves them in one batch.
 *
 * @param pgnos Page numbers, ascending.
 * @returns Their pages, in the same order.
 */
export type ReadBasePages = (pgnos: readonly number[]) => Uint8Array[];

/**
 * Builds the level-0 file of a buffer's committed transactions.
 *
 * @param buffer The write buffer; at least one commit.
 * @param basePageCount The base state's size in pages.
 * @param readBase Reads pages of the base state (for the checksum); only
 * called when the base tracks a checksum.
 * @param now The file's timestamp, ms since the epoch.
 * @returns The file and the state it leads to.
 * @throws {RangeError} When the buffer holds no commit.
 */
export function buildLevel0File(
  buffer: WriteBuffer,
  basePageCount: number,
  readBase: ReadBasePages,
  now: number = Date.now(),
): Level0File {
  const pageCount = buffer.pageCount;
  if (pageCount === undefined) {
    throw new RangeError("The write buffer holds no committed transaction");
  }
  const { pageSize, base } = buffer;
  const lock = lockPgno(pageSize);
  const pages = [...buffer.committedPages()]
    .filter(([pgno]) => pgno !== lock)
    .map(([pgno, data]) => ({ pgno, data }));
  const txid = base.txid + 1n;
  const tracked = base.txid === 0n || base.checksum !== 0n;
  let checksum = 0n;
  if (tracked) {
    let sum = base.checksum & ~CHECKSUM_FLAG;
    // The base's copies of the pages that change or go: out of the sum.
    const replaced = pages.map(({ pgno }) => pgno);
    for (let pgno = pageCount + 1; pgno <= basePageCount; pgno++) {
      replaced.push(pgno);
    }
    const old = base.txid === 0n
      ? []
      : replaced.filter((pgno) => pgno <= basePageCount && pgno !== lock);
    if (old.length > 0) {
      readBase(old).forEach((page, i) => {
        sum ^= pageChecksum(old[i], page) & ~CHECKSUM_FLAG;
      });
    }
    for (const { pgno, data } of pages) {
      sum ^= pageChecksum(pgno, data) & ~CHECKSUM_FLAG;
    }
    checksum = pageCount === 0 ? 0n : sum | CHECKSUM_FLAG;
  }
  const bytes = encodeFile({
    header: {
      flags: tracked ? 0 : HEADER_FLAG_NO_CHECKSUM,
      pageSize,
      commit: pageCount,
      minTxid: txid,
      maxTxid: txid,
      timestamp: now,
      preApplyChecksum: tracked ? base.checksum : 0n,
      walOffset: 0n,
      walSize: 0n,
      walSalt1: 0,
      walSalt2: 0,
      nodeId: 0n,
    },
    pages,
    postApplyChecksum: checksum,
  });
  return { bytes, txid, checksum, pages: pages.length };
}
