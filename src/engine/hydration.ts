/**
 * Hydration: the database restored to a local file, page-aligned like any
 * SQLite file, and kept current as new LTX files appear, so that reads can
 * be served from it once it holds the view's TXID (Litestream's VFS offers
 * the same, `LITESTREAM_HYDRATION_ENABLED`).
 *
 * Beside the file lies a small metadata file (`<path>.meta.json`) saying
 * which replica, page size, page count and TXID the file holds, and the
 * database checksum of its pages. It is written, by rename, only after the
 * pages are fsync'd; before the file is rewritten it says so
 * (`"writing": true`), so a crash in the middle leaves a file that the next
 * start rebuilds rather than serves. On start a file whose metadata is
 * sound and whose pages still sum to its checksum is caught up from its
 * TXID instead of rebuilt, if the replica's chain still goes on from there;
 * a truncated, corrupt or foreign file is rebuilt.
 *
 * The work here is synchronous and slow (it reads whole files from the
 * replica): it runs on a thread of its own (`hydration_worker.ts`), never
 * on the thread that runs SQLite. Readers coordinate with it through
 * {@linkcode HydrationState}.
 *
 * @module
 */

import { Logger } from "../log/mod.ts";
import {
  CHECKSUM_FLAG,
  formatChecksum,
  formatTxid,
  lockPgno,
  pageChecksum,
  parseChecksum,
} from "../ltx/mod.ts";
import type { LtxFileInfo } from "../storage/mod.ts";
import { PageNotFoundError, TxidGapError } from "./errors.ts";
import type { HydrationProgress, HydrationState } from "./hydration_state.ts";
import { readAt, writeAt } from "./_file_io.ts";
import { fetchPages } from "./fetch_pages.ts";
import { PageIndex } from "./page_index.ts";
import type { Replica } from "./replica.ts";
import { restorePlan } from "./restore_plan.ts";

/** What the metadata file's `format` field says. */
const META_FORMAT = "lsvfs-hydration-1";

/** How often progress is logged at DEBUG, in ms. */
const PROGRESS_EVERY_MS = 1000;

/** How long a rewrite waits for readers to finish before it tries again, in ms. */
const WRITE_LOCK_WAIT_MS = 1000;

/** The metadata file of a hydration file. */
interface HydrationMeta {
  format: string;
  replica: string;
  pageSize: number;
  pageCount: number;
  txid: string;
  checksum: string;
  writing?: boolean;
}

/** What the file holds, once it holds something. */
interface Held {
  txid: bigint;
  pageSize: number;
  pageCount: number;
  /** XOR of the page checksums, flag bit clear. */
  sum: bigint;
}

/** Options of {@linkcode Hydration}. */
export interface HydrationOptions {
  /** The replica to hydrate from. */
  replica: Replica;
  /** The hydration file. */
  path: string;
  /** Shared with the readers. */
  state: HydrationState;
  /** Where progress and problems are logged. */
  logger?: Logger;
  /** Clock in ms. */
  now?: () => number;
}

/**
 * The path of a hydration file's metadata file.
 *
 * @param path The hydration file.
 * @returns `<path>.meta.json`.
 */
export function hydrationMetaPath(path: string): string {
  return `${path}.meta.json`;
}

/** Builds and maintains one hydration file. */
export class Hydration {
  #replica: Replica;
  #path: string;
  #state: HydrationState;
  #log: Logger;
  #now: () => number;
  #file: Deno.FsFile | undefined;
  #held: Held | undefined;
  #lastProgressAt = 0;

  /** @param options The replica, the file, the shared state. */
  constructor(options: HydrationOptions) {
    this.#replica = options.replica;
    this.#path = options.path;
    this.#state = options.state;
    this.#log = options.logger ?? Logger.discard();
    this.#now = options.now ?? Date.now;
  }

  /** The TXID the file holds completely, or undefined. */
  get txid(): bigint | undefined {
    return this.#held?.txid;
  }

  /**
   * Takes up a file left by an earlier run, if it is sound: its metadata
   * names this replica and says the write finished, its size is its page
   * count times its page size, and its pages sum to its checksum. Otherwise
   * the next {@linkcode Hydration.step} builds it anew, and the log says why.
   */
  resume(): void {
    const problem = this.#check();
    if (problem === undefined) {
      this.#state.bumpGeneration();
      this.#state.publish(this.#held!.txid);
      this.#log.info("hydration file reused", {
        path: this.#path,
        txid: formatTxid(this.#held!.txid),
        pages: this.#held!.pageCount,
      });
    } else if (problem !== "none") {
      this.#log.warn(`hydration file rebuilt: ${problem}`, {
        path: this.#path,
      });
    }
  }

  /**
   * Brings the file up to the replica's latest state: builds it when it
   * holds nothing (or its TXID is no longer in the replica's chain), else
   * applies the files after its TXID.
   *
   * @throws {Error} A storage or LTX error; the file keeps what it held.
   */
  step(): void {
    const listing = this.#replica.listAll();
    const url = this.#replica.url;
    if (this.#held !== undefined) {
      try {
        const files = restorePlan(listing, {
          url,
          afterTxid: this.#held.txid,
        });
        if (files.length > 0) this.#catchUp(files);
        if (this.#held !== undefined) return;
      } catch (error) {
        if (!(error instanceof TxidGapError)) throw error;
        this.#log.info(
          "hydration file rebuilt: the replica no longer goes on from its TXID",
          { txid: formatTxid(this.#held.txid) },
        );
      }
    }
    this.#build(restorePlan(listing, { url }));
  }

  /**
   * Closes the file; with `remove`, deletes it and its metadata (a file
   * made for this process only).
   *
   * @param remove Whether to delete the files.
   */
  close(remove: boolean): void {
    this.#file?.close();
    this.#file = undefined;
    if (remove) removeHydrationFile(this.#path);
  }

  /** Why the file on disk cannot be taken up, "none" when there is none, or undefined when it can (and is now held). */
  #check(): string | undefined {
    let meta: HydrationMeta;
    try {
      meta = JSON.parse(Deno.readTextFileSync(hydrationMetaPath(this.#path)));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return "none";
      return `its metadata cannot be read (${(error as Error).message})`;
    }
    if (meta.format !== META_FORMAT) return "its metadata has another format";
    if (meta.replica !== this.#replica.url) {
      return `it holds another replica (${meta.replica})`;
    }
    if (meta.writing) return "a write to it did not finish";
    let size: number;
    try {
      size = Deno.statSync(this.#path).size;
    } catch (error) {
      return `it cannot be read (${(error as Error).message})`;
    }
    if (size !== meta.pageCount * meta.pageSize) {
      return `it has ${size} bytes, its metadata says ${meta.pageCount} pages of ${meta.pageSize}`;
    }
    const file = Deno.openSync(this.#path, { read: true, write: true });
    let sum = 0n;
    try {
      sum = sumPages(file, meta.pageSize, meta.pageCount);
    } catch (error) {
      file.close();
      return `it cannot be read (${(error as Error).message})`;
    }
    if (checksumOf(sum, meta.pageCount) !== parseChecksum(meta.checksum)) {
      file.close();
      return "its pages do not match its checksum";
    }
    this.#file = file;
    this.#held = {
      txid: BigInt(`0x${meta.txid}`),
      pageSize: meta.pageSize,
      pageCount: meta.pageCount,
      sum,
    };
    return undefined;
  }

  /** Writes the whole database at the end of `plan`, in page order. */
  #build(plan: LtxFileInfo[]): void {
    const state = this.#state;
    state.status = "building";
    const { index, pageCount, pageSize, txid } = this.#fold(plan);
    // Readers must let go of the old file before it is rewritten.
    while (!state.lockForWrite(WRITE_LOCK_WAIT_MS)) {
      if (state.stopRequested) return;
    }
    state.publish(0n);
    state.unlockWrite();
    this.#held = undefined;
    this.#writeMeta({ txid, pageSize, pageCount, sum: 0n }, true);
    this.#file?.close();
    this.#file = Deno.openSync(this.#path, {
      read: true,
      write: true,
      create: true,
      truncate: true,
    });
    state.bumpGeneration();

    const started = this.#now();
    state.startWork(pageCount, started);
    const lock = lockPgno(pageSize);
    const pgnos: number[] = [];
    for (let pgno = 1; pgno <= pageCount; pgno++) {
      if (index.slotOf(pgno) !== 0) {
        pgnos.push(pgno);
      } else if (pgno !== lock) {
        throw new PageNotFoundError(
          `Page ${pgno} of "${this.#replica.url}" at TXID ${
            formatTxid(txid)
          } is in none of its LTX files: the replica is incomplete`,
        );
      }
    }
    let sum = 0n;
    let bytes = 0;
    for (const run of fetchPages(this.#replica, index, pgnos, pageSize)) {
      for (let i = 0; i < run.count; i++) {
        sum ^= pageChecksum(run.first + i, pageAt(run.pages, i, pageSize));
      }
      writeAt(this.#file, (run.first - 1) * pageSize, run.pages);
      bytes += run.fetched;
      state.addWork(run.count, run.fetched);
      this.#reportProgress("hydration progress", started);
      if (state.stopRequested) return;
    }
    // The lock page, if the database reaches it, stays a hole: zeros.
    this.#file.truncateSync(pageCount * pageSize);
    this.#file.syncSync();
    this.#held = { txid, pageSize, pageCount, sum: sum & ~CHECKSUM_FLAG };
    this.#writeMeta(this.#held, false);
    state.publish(txid);
    const ms = Math.max(1, this.#now() - started);
    this.#log.info("hydration complete", {
      path: this.#path,
      txid: formatTxid(txid),
      pages: pageCount,
      bytes_fetched: bytes,
      ms,
      mib_per_s: Number((bytes / 1048576 / (ms / 1000)).toFixed(1)),
    });
  }

  /** Applies the files after the held TXID, in place. */
  #catchUp(files: LtxFileInfo[]): void {
    const held = this.#held!;
    const state = this.#state;
    const { index, pageCount, pageSize, txid, preApplyChecksum } = this.#fold(
      files,
    );
    if (pageSize !== held.pageSize) {
      this.#log.info("hydration file rebuilt: the page size changed", {
        from: held.pageSize,
        to: pageSize,
      });
      this.#held = undefined;
      return;
    }
    if (
      preApplyChecksum !== 0n &&
      preApplyChecksum !== checksumOf(held.sum, held.pageCount)
    ) {
      this.#log.warn(
        "hydration file rebuilt: it does not match the state the replica's next file starts from",
        { txid: formatTxid(held.txid), next: this.#replica.describe(files[0]) },
      );
      this.#held = undefined;
      return;
    }
    state.status = "catching-up";
    const started = this.#now();
    const pgnos: number[] = [];
    for (let pgno = 1; pgno <= pageCount; pgno++) {
      if (index.slotOf(pgno) !== 0) pgnos.push(pgno);
    }
    state.startWork(pgnos.length, started);
    // Fetched before the file is locked, so readers keep it meanwhile.
    const runs = [...fetchPages(this.#replica, index, pgnos, pageSize)];
    while (!state.lockForWrite(WRITE_LOCK_WAIT_MS)) {
      if (state.stopRequested) return;
    }
    try {
      this.#writeMeta(held, true);
      const file = this.#file!;
      const lock = lockPgno(pageSize);
      const old = new Uint8Array(pageSize);
      let sum = held.sum;
      const forget = (pgno: number) => {
        if (pgno > held.pageCount || pgno === lock) return;
        readAt(file, (pgno - 1) * pageSize, old);
        sum ^= pageChecksum(pgno, old);
      };
      for (const run of runs) {
        for (let i = 0; i < run.count; i++) {
          forget(run.first + i);
          sum ^= pageChecksum(run.first + i, pageAt(run.pages, i, pageSize));
        }
        writeAt(file, (run.first - 1) * pageSize, run.pages);
        state.addWork(run.count, run.fetched);
      }
      for (let pgno = pageCount + 1; pgno <= held.pageCount; pgno++) {
        forget(pgno);
      }
      for (let pgno = held.pageCount + 1; pgno <= pageCount; pgno++) {
        if (index.slotOf(pgno) === 0 && pgno !== lock) {
          throw new PageNotFoundError(
            `Page ${pgno} of "${this.#replica.url}" at TXID ${
              formatTxid(txid)
            } is in none of its LTX files: the replica is incomplete`,
          );
        }
      }
      file.truncateSync(pageCount * pageSize);
      file.syncSync();
      this.#held = { txid, pageSize, pageCount, sum: sum & ~CHECKSUM_FLAG };
      this.#writeMeta(this.#held, false);
      state.publish(txid);
    } catch (error) {
      // Half written: nothing on disk can be trusted until it is rebuilt.
      this.#held = undefined;
      state.publish(0n);
      throw error;
    } finally {
      state.unlockWrite();
    }
    this.#log.debug("hydration caught up", {
      txid: formatTxid(txid),
      files: files.length,
      pages: pgnos.length,
      ms: this.#now() - started,
    });
  }

  /** The page index and final state of a run of files. */
  #fold(files: LtxFileInfo[]) {
    this.#replica.prefetchMeta(files);
    const index = new PageIndex();
    let pageCount = 0;
    for (const file of files) {
      const meta = this.#replica.meta(file);
      index.apply(file, meta.index);
      pageCount = meta.header.commit;
    }
    index.truncate(pageCount);
    const first = this.#replica.meta(files[0]).header;
    return {
      index,
      pageCount,
      pageSize: first.pageSize,
      txid: files[files.length - 1].maxTxid,
      preApplyChecksum: first.preApplyChecksum,
    };
  }

  #writeMeta(held: Held, writing: boolean): void {
    const meta: HydrationMeta = {
      format: META_FORMAT,
      replica: this.#replica.url,
      pageSize: held.pageSize,
      pageCount: held.pageCount,
      txid: formatTxid(held.txid),
      checksum: formatChecksum(checksumOf(held.sum, held.pageCount)),
      ...(writing ? { writing } : {}),
    };
    const path = hydrationMetaPath(this.#path);
    const temp = `${path}.tmp`;
    const file = Deno.openSync(temp, {
      write: true,
      create: true,
      truncate: true,
    });
    try {
      writeAt(file, 0, new TextEncoder().encode(JSON.stringify(meta) + "\n"));
      file.syncSync();
    } finally {
      file.close();
    }
    Deno.renameSync(temp, path);
  }

  #reportProgress(msg: string, started: number): void {
    const now = this.#now();
    if (
      !this.#log.debugEnabled || now - this.#lastProgressAt < PROGRESS_EVERY_MS
    ) {
      return;
    }
    this.#lastProgressAt = now;
    this.#log.debug(msg, describeProgress(this.#state, now, started));
  }
}

/**
 * Progress figures for a log line: pages, percentage, bytes, rate, ETA.
 *
 * @param state The shared state.
 * @param now The time now, in ms.
 * @param started When the work started, in ms.
 * @returns Log fields.
 */
export function describeProgress(
  state: HydrationState,
  now: number,
  started = state.progress().startedAt,
): Record<string, number | string> {
  const p = state.progress();
  const fields: Record<string, number | string> = {
    status: p.status,
    pages: p.pagesDone,
    of: p.pagesTotal,
    percent: percentDone(p),
    mib_fetched: Number((p.bytesFetched / 1048576).toFixed(1)),
  };
  if (p.status === "building" || p.status === "catching-up") {
    const rate = p.pagesDone / Math.max(0.001, (now - started) / 1000);
    fields.pages_per_s = Math.round(rate);
    fields.eta_s = rate > 0
      ? Number(((p.pagesTotal - p.pagesDone) / rate).toFixed(1))
      : -1;
  }
  return fields;
}

/**
 * How far hydration is, in whole percent: 100 once the file is complete,
 * else the share of the current build or catch-up done.
 *
 * @param progress The progress figures.
 * @returns From 0 to 100.
 */
export function percentDone(progress: HydrationProgress): number {
  if (progress.status === "complete") return 100;
  const { pagesDone, pagesTotal } = progress;
  return pagesTotal <= 0
    ? 0
    : Math.min(100, Math.floor(pagesDone * 100 / pagesTotal));
}

/**
 * Deletes a hydration file and its metadata, if they exist.
 *
 * @param path The hydration file.
 */
export function removeHydrationFile(path: string): void {
  for (const name of [path, hydrationMetaPath(path)]) {
    try {
      Deno.removeSync(name);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

function checksumOf(sum: bigint, pageCount: number): bigint {
  return pageCount === 0 ? 0n : (sum & ~CHECKSUM_FLAG) | CHECKSUM_FLAG;
}

function pageAt(pages: Uint8Array, i: number, pageSize: number): Uint8Array {
  return pages.subarray(i * pageSize, (i + 1) * pageSize);
}

/** XOR of the page checksums of a file's pages (lock page left out). */
function sumPages(
  file: Deno.FsFile,
  pageSize: number,
  pageCount: number,
): bigint {
  const lock = lockPgno(pageSize);
  const perChunk = Math.max(1, Math.floor((1 << 20) / pageSize));
  const chunk = new Uint8Array(perChunk * pageSize);
  let sum = 0n;
  for (let first = 1; first <= pageCount; first += perChunk) {
    const count = Math.min(perChunk, pageCount - first + 1);
    const pages = chunk.subarray(0, count * pageSize);
    readAt(file, (first - 1) * pageSize, pages);
    for (let i = 0; i < count; i++) {
      if (first + i === lock) continue;
      sum ^= pageChecksum(first + i, pageAt(pages, i, pageSize));
    }
  }
  return sum & ~CHECKSUM_FLAG;
}
