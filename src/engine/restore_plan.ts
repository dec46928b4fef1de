/**
 * The restore plan: which LTX files, applied in order, give the database at
 * a TXID. Computed as Litestream does it: the newest snapshot (level 9) at or
 * before the target, then, from levels 8..0, again and again the file that
 * extends the contiguous TXID range furthest.
 *
 * @module
 */

import { formatTxid, SNAPSHOT_LEVEL } from "../ltx/mod.ts";
import type { LtxFileInfo } from "../storage/mod.ts";
import { ReplicaNotFoundError, TxidGapError } from "./errors.ts";

/** Options of {@linkcode restorePlan}. */
export interface RestorePlanOptions {
  /** The replica URL, for error messages. */
  readonly url: string;
  /** Plan for this TXID rather than the latest one. */
  readonly targetTxid?: bigint;
  /**
   * Stop at the first gap instead of failing, and return `[]` when no file
   * starts a chain: the newest state these files reach (time travel, over
   * the files written before a time).
   */
  readonly upToGap?: boolean;
  /**
   * Plan from a state the caller already holds, at this TXID: no snapshot,
   * just the files that carry it forward; `[]` when it is the latest.
   */
  readonly afterTxid?: bigint;
}

/**
 * Chooses the files that restore the database at the target TXID.
 *
 * @param files Every LTX file of the replica, any level, any order.
 * @param options The replica URL and an optional target.
 * @returns The files to apply, oldest first; the last one's `maxTxid` is the
 * database's TXID.
 * @throws {ReplicaNotFoundError} When there are no files.
 * @throws {TxidGapError} When the chain has a hole (unless `upToGap`): a
 * missing transaction is never skipped silently.
 *
 * @example Plan over a snapshot and two level-0 files
 * ```ts
 * import { restorePlan } from "./restore_plan.ts";
 * import assert from "node:assert/strict";
 * const file = (level: number, min: bigint, max: bigint) =>
 *   ({ level, minTxid: min, maxTxid: max, size: 0, createdAt: 0 });
 * const plan = restorePlan(
 *   [file(0, 5n, 5n), file(9, 1n, 4n), file(0, 6n, 6n), file(0, 4n, 4n)],
 *   { url: "file:///r" },
 * );
 * assert.deepEqual(plan.map((f) => f.maxTxid), [4n, 5n, 6n]);
 * ```
 */
export function restorePlan(
  files: readonly LtxFileInfo[],
  options: RestorePlanOptions,
): LtxFileInfo[] {
  const { url, targetTxid, upToGap = false, afterTxid } = options;
  const eligible = targetTxid === undefined
    ? files
    : files.filter((f) => f.maxTxid <= targetTxid);
  if (files.length === 0) throw new ReplicaNotFoundError(url);

  const plan: LtxFileInfo[] = [];
  let txid = afterTxid ?? 0n;
  for (const file of afterTxid === undefined ? eligible : []) {
    if (file.level === SNAPSHOT_LEVEL && file.maxTxid > txid) {
      plan[0] = file;
      txid = file.maxTxid;
    }
  }
  const incremental = eligible.filter((f) => f.level !== SNAPSHOT_LEVEL);
  for (;;) {
    let best: LtxFileInfo | undefined;
    for (const file of incremental) {
      if (file.minTxid > txid + 1n || file.maxTxid <= txid) continue;
      if (best === undefined || file.maxTxid > best.maxTxid) best = file;
    }
    if (best === undefined) break;
    plan.push(best);
    txid = best.maxTxid;
  }

  if (upToGap) return plan;
  const beyond = incremental.filter((f) => f.maxTxid > txid);
  if (beyond.length > 0 || (plan.length === 0 && afterTxid === undefined)) {
    const next = beyond.reduce<LtxFileInfo | undefined>(
      (min, f) => min === undefined || f.minTxid < min.minTxid ? f : min,
      undefined,
    ) ?? eligible[0];
    const reached = plan.length === 0 && afterTxid === undefined
      ? "no snapshot covers TXID 1"
      : `its files end at TXID ${formatTxid(txid)}`;
    throw new TxidGapError(
      `Replica "${url}" has a gap in its TXID chain: ${reached} and the next file starts at TXID ${
        formatTxid(next.minTxid)
      } (level ${next.level}); restore the missing LTX files or let Litestream write a new snapshot`,
    );
  }
  return plan;
}
