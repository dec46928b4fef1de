/**
 * A view of a replica for one open database file: the restore plan at one
 * TXID, its page index, and the polling that moves it forward between read
 * transactions, never inside one.
 *
 * `file://` replicas are polled at the start of a read transaction once the
 * poll interval has passed: a directory listing per level costs tens of
 * microseconds. Remote backends poll in the storage worker instead.
 *
 * @module
 */

import { decodeFrame, formatTxid, lockPgno } from "../ltx/mod.ts";
import { type LtxFileInfo, StorageError } from "../storage/mod.ts";
import type { ReplicaConfig } from "./config.ts";
import type { DatabaseFile } from "./database_file.ts";
import { PageNotFoundError } from "./errors.ts";
import { patchPageOne } from "./page_one.ts";
import { PageIndex } from "./page_index.ts";
import { restorePlan } from "./restore_plan.ts";
import type { Replica } from "./replica.ts";

/** How many times a read is retried after its file vanished (compaction). */
const MAX_READ_RETRIES = 3;

/** Options of {@linkcode ReplicaView}. */
export interface ReplicaViewOptions {
  /** Clock in ms; `Date.now` by default. */
  now?: () => number;
  /** Called once when the view is closed. */
  onClose?: () => void;
}

/** The state of the database at one TXID. */
interface Snapshot {
  readonly plan: LtxFileInfo[];
  readonly index: PageIndex;
  readonly txid: bigint;
  readonly pageCount: number;
}

/** A database file served from a replica's LTX files. */
export class ReplicaView implements DatabaseFile {
  /** {@inheritDoc DatabaseFile.pageSize} */
  readonly pageSize: number;
  #replica: Replica;
  #config: ReplicaConfig;
  #now: () => number;
  #onClose: () => void;
  #current: Snapshot;
  #lastPollAt: number;
  #lockPgno: number;
  #frame = new Uint8Array(0);
  #closed = false;

  /**
   * Opens the latest state of the replica.
   *
   * @param replica The replica.
   * @param config Its configuration.
   * @param options A clock in ms (replaceable in tests), and what to do once
   * the view is closed.
   * @throws {ReplicaNotFoundError} When the replica has no LTX files.
   * @throws {TxidGapError} When its TXID chain has a hole.
   */
  constructor(
    replica: Replica,
    config: ReplicaConfig,
    options: ReplicaViewOptions = {},
  ) {
    this.#replica = replica;
    this.#config = config;
    this.#now = options.now ?? Date.now;
    this.#onClose = options.onClose ?? (() => {});
    this.#lastPollAt = this.#now();
    const plan = restorePlan(replica.listAll(), { url: replica.url });
    this.pageSize = replica.meta(plan[0]).header.pageSize;
    this.#lockPgno = lockPgno(this.pageSize);
    this.#current = this.#build(plan);
  }

  /** The TXID of the current view. */
  get txid(): bigint {
    return this.#current.txid;
  }

  /** {@inheritDoc DatabaseFile.beginRead} */
  beginRead(): bigint {
    const now = this.#now();
    if (now - this.#lastPollAt >= this.#config.pollIntervalMs) {
      this.#lastPollAt = now;
      this.#poll();
    }
    return this.#current.txid;
  }

  /** {@inheritDoc DatabaseFile.endRead} */
  endRead(): void {}

  /** {@inheritDoc DatabaseFile.size} */
  size(): number {
    return this.#current.pageCount * this.pageSize;
  }

  /** {@inheritDoc DatabaseFile.readPage} */
  readPage(pgno: number, out: Uint8Array): void {
    for (let attempt = 0;; attempt++) {
      try {
        this.#readPage(pgno, out);
        return;
      } catch (error) {
        if (
          !(error instanceof StorageError && error.retryable) ||
          attempt === MAX_READ_RETRIES
        ) throw error;
        // The file went away under us, as compaction does: plan the same
        // TXID again from what the replica holds now.
        this.#current = this.#build(
          restorePlan(this.#replica.listAll(), {
            url: this.#replica.url,
            targetTxid: this.#current.txid,
          }),
        );
      }
    }
  }

  /** {@inheritDoc DatabaseFile.close} */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
  }

  #readPage(pgno: number, out: Uint8Array): void {
    const { index, pageCount, txid } = this.#current;
    const slot = index.slotOf(pgno);
    if (slot === 0) {
      if (pgno === this.#lockPgno || pgno > pageCount) {
        out.fill(0, 0, this.pageSize);
        return;
      }
      throw new PageNotFoundError(
        `Page ${pgno} of "${this.#replica.url}" at TXID ${
          formatTxid(txid)
        } is in none of its LTX files: the replica is incomplete`,
      );
    }
    const file = index.files[slot - 1];
    const size = index.sizeOf(pgno);
    if (this.#frame.length < size) this.#frame = new Uint8Array(size);
    const frame = this.#replica.client.readRangeSync(
      file,
      index.offsetOf(pgno),
      size,
      this.#frame,
    );
    decodeFrame(frame, {
      file: this.#replica.describe(file),
      pgno,
      pageSize: this.pageSize,
    }, out);
    if (pgno === 1) patchPageOne(out, txid, pageCount);
  }

  /** Moves the view to the replica's latest state, if it changed. */
  #poll(): void {
    let plan: LtxFileInfo[];
    try {
      plan = restorePlan(this.#replica.listAll(), { url: this.#replica.url });
    } catch {
      // Keep serving the last consistent state; the next poll tries again.
      return;
    }
    const current = this.#current;
    if (samePlan(plan, current.plan)) return;
    const extends_ = plan.length > current.plan.length &&
      samePlan(plan.slice(0, current.plan.length), current.plan);
    this.#current = extends_
      ? this.#extend(current, plan.slice(current.plan.length))
      : this.#build(plan);
    this.#replica.retain(this.#current.plan);
  }

  #build(plan: LtxFileInfo[]): Snapshot {
    return this.#extend(
      { plan: [], index: new PageIndex(), txid: 0n, pageCount: 0 },
      plan,
    );
  }

  /** Folds more files over a snapshot; mutates its index (never the view's live one mid-transaction). */
  #extend(base: Snapshot, files: LtxFileInfo[]): Snapshot {
    const { index } = base;
    let pageCount = base.pageCount;
    for (const file of files) {
      const meta = this.#replica.meta(file);
      if (meta.header.pageSize !== this.pageSize) {
        throw new Error(
          `"${
            this.#replica.describe(file)
          }" has page size ${meta.header.pageSize}, the database ${this.pageSize}: a changed page size needs a new connection`,
        );
      }
      index.apply(file, meta.index);
      pageCount = meta.header.commit;
    }
    index.truncate(pageCount);
    const plan = [...base.plan, ...files];
    return { plan, index, txid: plan[plan.length - 1].maxTxid, pageCount };
  }
}

function samePlan(a: LtxFileInfo[], b: LtxFileInfo[]): boolean {
  return a.length === b.length &&
    a.every((f, i) =>
      f.level === b[i].level && f.minTxid === b[i].minTxid &&
      f.maxTxid === b[i].maxTxid
    );
}
