/**
 * A view of a replica for one open database file: the restore plan at one
 * TXID, its page index, and the polling that moves it forward between read
 * transactions, never inside one; or, in time travel, the state at a time,
 * which stays put until the time is set again or back to LATEST.
 *
 * Polling happens at the start of a read transaction once the poll interval
 * has passed: a `file://` replica is listed there and then (a directory
 * listing per level costs tens of microseconds); a remote one answers with
 * what the storage worker's own poller found last, without waiting for
 * storage (`SyncReplicaClient.pollSync`).
 *
 * @module
 */

import { Logger } from "../log/mod.ts";
import { decodeFrame, formatTxid, lockPgno } from "../ltx/mod.ts";
import { type LtxFileInfo, StorageError } from "../storage/mod.ts";
import { parseBoolean, type ReplicaConfig } from "./config.ts";
import type {
  CacheCounters,
  DatabaseFile,
  PageRun,
  WriteLockLevel,
} from "./database_file.ts";
import { ConfigError, PageNotFoundError, ReadOnlyError } from "./errors.ts";
import { patchPageOne } from "./page_one.ts";
import { PageIndex } from "./page_index.ts";
import { ReadAhead, type RunPlan } from "./read_ahead.ts";
import { restorePlan } from "./restore_plan.ts";
import type { Replica } from "./replica.ts";
import { formatTime, parseTargetTime, planAtTime } from "./time_travel.ts";
import type { Hydrator } from "./hydrator.ts";
import { encodeLocalMap, LOCAL_FILE, LOCAL_FRAMES } from "./local_map.ts";
import type { BaseState, Writer, WriterView, WriteSettings } from "./writer.ts";
import type { Verifier } from "./verifier.ts";
import {
  formatStatus,
  parseCacheCounters,
  type ReplicaStatus,
} from "./status.ts";

/** How many times a read is retried after its file vanished (compaction). */
const MAX_READ_RETRIES = 3;

/** How often a poll that keeps failing the same way is logged again, in ms. */
const POLL_FAILURE_LOG_MS = 60_000;

/** The page size of a new database until its first write sets one. */
const NEW_DATABASE_PAGE_SIZE = 4096;

/** Options of {@linkcode ReplicaView}. */
export interface ReplicaViewOptions {
  /** Clock in ms, for polling, lag and relative times; `Date.now` by default. */
  now?: () => number;
  /** Called once when the view is closed. */
  onClose?: () => void;
  /** Where the view logs (page fetches at DEBUG); nothing by default. */
  logger?: Logger;
  /** The replica's hydration, when it is on. */
  hydrator?: Hydrator;
  /** The replica's write mode, which every view of it attaches to. */
  writer?: Writer;
  /**
   * The replica's verification, when the view's level is not `off`
   * (`ReplicaViewConfig.verification`).
   */
  verifier?: Verifier;
  /**
   * The write settings when the file is open for writing; an empty
   * replica then opens as a new database.
   */
  write?: WriteSettings;
}

/** The settings a view uses. */
export type ReplicaViewConfig =
  & Pick<ReplicaConfig, "replicaUrl" | "pollIntervalMs">
  & Partial<Pick<ReplicaConfig, "fastPath" | "verification">>;

/** The state of the database at one TXID. */
interface Snapshot {
  readonly plan: LtxFileInfo[];
  readonly index: PageIndex;
  readonly txid: bigint;
  readonly pageCount: number;
  /** Header timestamp of the plan's last file: when the state was committed. */
  readonly timestamp: number;
  /** Unique to this snapshot in the process: names its frame map. */
  readonly serial: number;
}

/** The last {@linkcode Snapshot.serial} given out. */
let lastSerial = 0;

/** A view change made inside a read transaction, applied when it ends. */
interface Pending {
  readonly snapshot: Snapshot;
  /** The time travel target; undefined for LATEST. */
  readonly target: number | undefined;
}

/** A database file served from a replica's LTX files. */
export class ReplicaView implements DatabaseFile, WriterView {
  #pageSize: number;
  #replica: Replica;
  #config: ReplicaViewConfig;
  #now: () => number;
  #onClose: () => void;
  #log: Logger;
  #current: Snapshot;
  /** The time travel target in ms; undefined while live (polling). */
  #target: number | undefined;
  #pending: Pending | undefined;
  #reading = false;
  #lastPollAt: number;
  /** When the replica was last listed successfully (open, poll, LATEST). */
  #lastPollSuccess: number | undefined;
  /** While polls fail: why, how many in a row, when last logged. */
  #pollFailure: { error: string; count: number; loggedAt: number } | undefined;
  /** The verifier's bad-file generation this view's content reflects. */
  #badSeen = 0;
  #lockPgno: number;
  #frame = new Uint8Array(0);
  #readAhead = new ReadAhead();
  #closed = false;
  #hydrator: Hydrator | undefined;
  /** True while the current read transaction is served by the hydration file. */
  #hydrated = false;
  /** What the local map of the last read was ("" for none), and its generation. */
  #localKey = "";
  #localGeneration = 0;
  /** The local path of each file of the view's index, as the last read found them. */
  #localPaths: (string | undefined)[] = [];
  #writer: Writer | undefined;
  #verifier: Verifier | undefined;
  /** Whether files are verified before their pages are served. */
  #strict: boolean;
  #writable: boolean;
  /** False once `PRAGMA litestream_write_enabled = false` turned writes off. */
  #writeOn = true;
  /**
   * The view version: it changes exactly when the content seen changes, and
   * never comes back to an earlier value (page 1's change counter is its
   * low 32 bits, so SQLite's own cache sees every change too).
   */
  #version: bigint;
  /** What the content seen at #version is made of. */
  #contentKey: string;

  /**
   * Opens the latest state of the replica.
   *
   * @param replica The replica.
   * @param config Its configuration.
   * @param options A clock in ms (replaceable in tests), a logger, and what
   * to do once the view is closed.
   * @throws {ReplicaNotFoundError} When the replica has no LTX files.
   * @throws {TxidGapError} When its TXID chain has a hole.
   */
  constructor(
    replica: Replica,
    config: ReplicaViewConfig,
    options: ReplicaViewOptions = {},
  ) {
    this.#replica = replica;
    this.#config = config;
    this.#now = options.now ?? Date.now;
    this.#onClose = options.onClose ?? (() => {});
    this.#log = options.logger ?? Logger.discard();
    this.#hydrator = options.hydrator;
    this.#writer = options.writer;
    this.#verifier = config.verification === "off"
      ? undefined
      : options.verifier;
    this.#strict = config.verification === "strict";
    this.#writable = options.writer !== undefined &&
      options.write !== undefined;
    this.#lastPollAt = this.#now();
    const plan = this.#latestPlan(replica.listAll());
    // The listing at open is the first successful poll.
    this.#lastPollSuccess = this.#lastPollAt;
    replica.prefetchMeta(plan);
    this.#pageSize = plan.length > 0
      ? replica.meta(plan[0]).header.pageSize
      : (options.write &&
        this.#writer?.leftPageSize(options.write.bufferPath)) ??
        NEW_DATABASE_PAGE_SIZE;
    this.#lockPgno = lockPgno(this.#pageSize);
    this.#current = this.#build(plan);
    this.#version = this.#current.txid;
    this.#contentKey = `s ${this.#current.serial}`;
    this.#writer?.attach(this, this.#pageSize, options.write);
    if (this.#log.debugEnabled) {
      this.#log.debug("opened", {
        txid: formatTxid(this.#current.txid),
        time: formatTime(this.#current.timestamp),
        files: plan.length,
        page_size: this.#pageSize,
        pages: this.#current.pageCount,
      });
    }
  }

  /** {@inheritDoc DatabaseFile.pageSize} */
  get pageSize(): number {
    return this.#pageSize;
  }

  /** {@inheritDoc DatabaseFile.writable} */
  get writable(): boolean {
    return this.#writable;
  }

  /** The TXID of the current view. */
  get txid(): bigint {
    return this.#current.txid;
  }

  /** {@inheritDoc WriterView.base} */
  get base(): BaseState {
    const { plan, txid, pageCount } = this.#current;
    const last = plan[plan.length - 1];
    const checksum = last === undefined
      ? 0n
      : this.#replica.meta(last).postApplyChecksum;
    return { txid, checksum, pageCount };
  }

  /** {@inheritDoc WriterView.live} */
  get live(): boolean {
    return this.#target === undefined;
  }

  /** {@inheritDoc WriterView.reading} */
  get reading(): boolean {
    return this.#reading;
  }

  /**
   * When the current view's state was committed: the LTX header timestamp of
   * the file that supplied it, in ms since the epoch.
   */
  get timestamp(): number {
    return this.#current.timestamp;
  }

  /** The time travel target in ms, or undefined while the view is live. */
  get targetTime(): number | undefined {
    return this.#target;
  }

  /**
   * Whole seconds since the replica was last listed successfully (at open,
   * by a poll, or by a return to LATEST); -1 if never. Polls happen at the
   * start of read transactions once the poll interval has passed, and not
   * at all in time travel, so the lag of an idle or time-travelling view
   * grows.
   *
   * @returns The lag in seconds.
   */
  lag(): number {
    if (this.#lastPollSuccess === undefined) return -1;
    return Math.max(
      0,
      Math.floor((this.#now() - this.#lastPollSuccess) / 1000),
    );
  }

  /**
   * Travels in time: moves the view to the newest state at or before a
   * time, and stops polling; `LATEST` (any case) returns to the latest state
   * and to polling. Inside a read transaction the move waits for its end;
   * errors come at once either way, and leave the view as it was.
   *
   * @param time RFC 3339, a relative time ("5 minutes ago"), or LATEST; see
   * {@linkcode parseTargetTime}.
   * @throws {SyntaxError} When the time cannot be read.
   * @throws {TimeTravelError} When it is before the oldest state available.
   */
  setTime(time: string): void {
    if (time.trim().toLowerCase() === "latest") {
      this.travelTo(undefined);
    } else {
      this.travelTo(parseTargetTime(time, this.#now()));
    }
  }

  /**
   * Moves the view to the newest state at or before `target` (ms since the
   * epoch), or back to the latest state and polling when undefined. See
   * {@linkcode ReplicaView.setTime}.
   *
   * @param target The time, or undefined for LATEST.
   * @throws {TimeTravelError} When it is before the oldest state available.
   */
  travelTo(target: number | undefined): void {
    const listing = this.#replica.listAll();
    const url = this.#replica.url;
    let plan: LtxFileInfo[];
    if (target === undefined) {
      plan = this.#latestPlan(listing);
    } else {
      this.#replica.forgetUnlisted(listing);
      this.#replica.prefetchHeaders(listing);
      plan = planAtTime(
        listing,
        (f) => this.#replica.timestamp(f),
        target,
        url,
      );
    }
    const change = { snapshot: this.#build(plan), target };
    // Back to LATEST is a fresh listing: a successful poll.
    if (target === undefined) {
      this.#lastPollAt = this.#lastPollSuccess = this.#now();
    }
    if (this.#log.debugEnabled) {
      this.#log.debug(
        target === undefined ? "time travel to latest" : "time travel",
        {
          target: target === undefined ? undefined : formatTime(target),
          txid: formatTxid(change.snapshot.txid),
          time: formatTime(change.snapshot.timestamp),
          deferred: this.#reading ? true : undefined,
        },
      );
    }
    if (this.#reading) {
      this.#pending = change;
    } else {
      this.#apply(change);
    }
  }

  /** {@inheritDoc DatabaseFile.pragma} */
  pragma(name: string, value: string | null): string | null | undefined {
    const key = name.toLowerCase();
    // Between reads, a sync of this process may have moved the base on.
    if (!this.#reading && this.#writer?.mustFollow(this)) this.follow();
    switch (key) {
      case "litestream_txid":
        readOnly(key, value);
        return formatTxid(this.#current.txid);
      case "litestream_lag":
        readOnly(key, value);
        return String(this.lag());
      case "litestream_status":
        // The shim sends its cache counters as the value.
        return formatStatus(
          this.status(value === null ? undefined : parseCacheCounters(value)),
        );
      case "litestream_time":
        if (value === null) return formatTime(this.#current.timestamp);
        this.setTime(value);
        return null;
      case "litestream_hydration_file":
        readOnly(key, value);
        return this.#hydrator?.path ?? null;
      case "litestream_hydration_progress":
        readOnly(key, value);
        return this.#hydrator === undefined
          ? null
          : String(this.#hydrator.percent());
      case "litestream_hydration":
        readOnly(key, value);
        return this.#hydrator?.describe(this.#now()) ??
          JSON.stringify({ status: "off" });
      case "litestream_write_enabled":
        if (value === null) return this.writable && this.#writeOn ? "1" : "0";
        if (parseBoolean(value, key) && !this.writable) {
          throw new ConfigError(
            "Cannot turn write mode on for a connection opened read-only: open it with write_enabled=true (or LITESTREAM_WRITE_ENABLED=true)",
          );
        }
        this.#writeOn = parseBoolean(value, key);
        return null;
      case "litestream_sync":
        readOnly(key, value);
        if (!this.#writable) {
          throw new ReadOnlyError(
            "PRAGMA litestream_sync needs write mode: open with write_enabled=true",
          );
        }
        return formatTxid(this.#writer!.syncNow(this));
      default:
        return undefined;
    }
  }

  /** {@inheritDoc DatabaseFile.beginRead} */
  beginRead(): bigint {
    const writer = this.#writer;
    writer?.beginRead(this);
    if (this.#pending !== undefined) {
      this.#apply(this.#pending);
    } else {
      this.#pollIfDue();
    }
    if (writer?.mustFollow(this)) this.follow();
    this.#takeVerification();
    this.#reading = true;
    // The hydration file holds the replica's pages, not the buffer's, and
    // pages of files verification has not passed.
    this.#hydrated = !writer?.hasUnsynced &&
      this.#allServable() &&
      (this.#hydrator?.pin(this.#current.txid) ?? false);
    return this.#refreshVersion();
  }

  /**
   * The file's health: the view's TXID, time and lag, how polling goes, its
   * files and their verification, and what reading cost.
   *
   * @param cache The shim's page-cache counters for the file, if known.
   * @returns The status `PRAGMA litestream_status` reports.
   */
  status(cache?: CacheCounters): ReplicaStatus {
    if (!this.#reading) {
      if (this.#pending === undefined) this.#pollIfDue();
      this.#takeVerification();
    }
    const { plan } = this.#current;
    const failure = this.#pollFailure;
    const verifier = this.#verifier;
    const counts = verifier?.count(plan) ??
      { verified: 0, bad: 0, pending: 0 };
    const live = this.#target === undefined;
    return {
      replica: this.#replica.url,
      txid: formatTxid(this.#current.txid),
      time: formatTime(this.#current.timestamp),
      lag: this.lag(),
      poll: !live ? "off" : failure === undefined ? "ok" : "failing",
      pollError: failure?.error ?? null,
      pollFailures: failure?.count ?? 0,
      stale: live && failure !== undefined,
      timeTravel: live ? null : formatTime(this.#target!),
      files: plan.length,
      levels: new Set(plan.map((f) => f.level)).size,
      verification: this.#config.verification ?? "off",
      ...counts,
      badError: verifier?.failures(plan)[0]?.message ?? null,
      cacheHits: cache?.hits ?? 0,
      cacheMisses: cache?.misses ?? 0,
      localReads: cache?.localReads ?? 0,
      bytesFetched: this.#replica.bytesFetched +
        (verifier?.bytesFetched ?? 0),
    };
  }

  /** {@inheritDoc DatabaseFile.endRead} */
  endRead(): void {
    this.#reading = false;
    if (this.#hydrated) {
      this.#hydrated = false;
      this.#hydrator!.unpin();
    }
    if (this.#pending !== undefined) this.#apply(this.#pending);
  }

  /** {@inheritDoc DatabaseFile.localGeneration} */
  localGeneration(): number {
    let key = "";
    if (this.#hydrated) {
      key = `file ${this.#hydrator!.state.generation}`;
    } else if (this.#config.fastPath ?? true) {
      // Files become local as the disk cache copies them; files that
      // verification has not passed stay with the engine, which says why.
      const verifier = this.#verifier;
      this.#localPaths = this.#current.index.files.map((f) =>
        verifier === undefined || verifier.servable(f, this.#strict)
          ? this.#replica.client.localPath?.(f)
          : undefined
      );
      const local = this.#localPaths.filter((p) => p !== undefined).length;
      // The content key: pages the buffer holds are left out of the map.
      if (local > 0) {
        key = `frames ${this.#contentKey} ${local} ${
          verifier?.generation(this.#strict) ?? 0
        }`;
      }
    }
    if (key !== this.#localKey) {
      this.#localKey = key;
      this.#localGeneration++;
    }
    return key === "" ? 0 : this.#localGeneration;
  }

  /** {@inheritDoc DatabaseFile.localMap} */
  localMap(): Uint8Array {
    if (this.#hydrated) {
      return encodeLocalMap({ kind: LOCAL_FILE, path: this.#hydrator!.path });
    }
    if (this.#localKey === "") return new Uint8Array(0);
    const { index, pageCount } = this.#current;
    const files = this.#localPaths;
    const none = { file: 0, offset: 0, size: 0 };
    const buffered = this.#writer?.overlays(this) ? this.#writer : undefined;
    return encodeLocalMap({
      kind: LOCAL_FRAMES,
      paths: files.map((p) => p ?? ""),
      pages: pageCount,
      entry: (pgno) => {
        const slot = index.slotOf(pgno);
        // Page 1 comes patched from the engine.
        if (
          pgno === 1 || slot === 0 || files[slot - 1] === undefined ||
          buffered?.hasCommitted(pgno)
        ) {
          return none;
        }
        return {
          file: slot,
          offset: index.offsetOf(pgno),
          size: index.sizeOf(pgno),
        };
      },
    });
  }

  /** {@inheritDoc DatabaseFile.size} */
  size(): number {
    return this.#pageCountSeen() * this.#pageSize;
  }

  /**
   * {@inheritDoc DatabaseFile.readPages}
   *
   * How many pages, and which way, {@linkcode ReadAhead} decides from the
   * misses before. A run is the frames of consecutive pages that lie back to
   * back in one LTX file, read with one range read, so it ends early where
   * a neighbour is in another file.
   */
  readPages(pgno: number, out: Uint8Array): PageRun {
    const room = Math.floor(out.length / this.#pageSize);
    if (room < 1) {
      throw new RangeError(
        `Cannot read page ${pgno}: the buffer has ${out.length} bytes, less than a page of ${this.#pageSize}`,
      );
    }
    const writer = this.#writer?.overlays(this) ? this.#writer : undefined;
    let run: PageRun;
    if (writer !== undefined && writer.read(this, pgno, out)) {
      run = { first: pgno, count: 1 };
    } else if (writer !== undefined && pgno > writer.pageCount(this)) {
      out.fill(0, 0, this.#pageSize);
      run = { first: pgno, count: 1 };
    } else {
      run = this.#readUnbuffered(pgno, out, room);
      // Neighbours read ahead may have newer copies in the buffer.
      for (let i = 0; writer !== undefined && i < run.count; i++) {
        const page = out.subarray(i * this.#pageSize, (i + 1) * this.#pageSize);
        writer.read(this, run.first + i, page);
      }
    }
    if (run.first === 1) {
      patchPageOne(out, this.#version, this.#pageCountSeen());
    }
    return run;
  }

  /**
   * {@inheritDoc WriterView.readBase}
   *
   * One batch of range reads for all of them, as stored (page 1 unpatched).
   */
  readBase(pgnos: readonly number[]): Uint8Array[] {
    const { index } = this.#current;
    const pages = pgnos.map(() => new Uint8Array(this.#pageSize));
    const wanted = pgnos.map((pgno, i) => ({ pgno, i }))
      .filter(({ pgno }) => index.slotOf(pgno) !== 0);
    for (const { pgno } of wanted) {
      this.#verifier?.guard(index.files[index.slotOf(pgno) - 1], this.#strict);
    }
    const frames = this.#replica.readRanges(
      wanted.map(({ pgno }) => ({
        file: index.files[index.slotOf(pgno) - 1],
        offset: index.offsetOf(pgno),
        length: index.sizeOf(pgno),
      })),
    );
    wanted.forEach(({ pgno, i }, j) => {
      const file = index.files[index.slotOf(pgno) - 1];
      decodeFrame(frames[j], {
        file: this.#replica.describe(file),
        pgno,
        pageSize: this.#pageSize,
        offset: index.offsetOf(pgno),
      }, pages[i]);
    });
    return pages;
  }

  /** {@inheritDoc WriterView.follow} */
  follow(): void {
    const writer = this.#writer!;
    const from = this.#current.txid;
    const saw = this.#contentKey;
    const to = writer.baseTxid;
    const files = writer.uploadsAfter(from)?.filter((f) => f.maxTxid <= to);
    if (files !== undefined && files.at(-1)?.maxTxid === to) {
      this.#current = this.#extend(this.#current, files);
    } else {
      this.#current = this.#build(
        restorePlan(this.#replica.listAll(), {
          url: this.#replica.url,
          targetTxid: to,
        }),
      );
    }
    // The last sync made the content this view saw into the new base.
    const synced = writer.lastSync;
    if (
      synced !== undefined && to === writer.baseTxid &&
      saw === `w ${synced.fromTxid} ${synced.commits}`
    ) {
      this.#contentKey = `s ${this.#current.serial}`;
    }
  }

  /** {@inheritDoc DatabaseFile.lockWrite} */
  lockWrite(level: WriteLockLevel): void {
    const writer = this.#writer;
    if (writer === undefined || !this.#writable) {
      throw new ReadOnlyError(
        `"${this.#replica.url}" is open read-only: open it with write_enabled=true (or LITESTREAM_WRITE_ENABLED=true) to write`,
      );
    }
    if (level !== "shared") {
      if (!this.#writeOn) {
        throw new ReadOnlyError(
          "Writes are off: PRAGMA litestream_write_enabled = true turns them back on",
        );
      }
      if (this.#target !== undefined || this.#pending?.target !== undefined) {
        throw new ReadOnlyError(
          "This connection travels in time, which is read-only: PRAGMA litestream_time = 'LATEST' returns to writing",
        );
      }
    }
    writer.lock(this, level);
  }

  /** {@inheritDoc DatabaseFile.write} */
  write(offset: number, data: Uint8Array): void {
    const writer = this.#holdingWriter("write");
    if (
      data.length !== this.#pageSize && offset === 0 &&
      this.#current.pageCount === 0 && !writer.hasUnsynced &&
      isPageSize(data.length)
    ) {
      // A new database's first page: PRAGMA page_size chose its size.
      writer.setPageSize(this, data.length);
      this.#pageSize = data.length;
      this.#lockPgno = lockPgno(data.length);
    }
    const size = this.#pageSize;
    if (offset % size !== 0 || data.length % size !== 0) {
      throw new RangeError(
        `Cannot write ${data.length} bytes at offset ${offset}: writes are whole pages of ${size} bytes`,
      );
    }
    for (let at = 0; at < data.length; at += size) {
      writer.write((offset + at) / size + 1, data.subarray(at, at + size));
    }
  }

  /** {@inheritDoc DatabaseFile.truncate} */
  truncate(size: number): void {
    const writer = this.#holdingWriter("truncate");
    if (size % this.#pageSize !== 0) {
      throw new RangeError(
        `Cannot truncate to ${size} bytes: not a whole number of ${this.#pageSize}-byte pages`,
      );
    }
    writer.truncate(size / this.#pageSize);
  }

  /** {@inheritDoc DatabaseFile.commit} */
  commit(): bigint {
    const writer = this.#holdingWriter("commit");
    if (writer.commit()) {
      this.#refreshVersion();
      writer.syncAfterCommit(this);
    }
    return this.#version;
  }

  /** Reads a page of the view's state, without the write buffer. */
  #readUnbuffered(pgno: number, out: Uint8Array, room: number): PageRun {
    if (this.#hydrated) return this.#readHydrated(pgno, out);
    const plan = this.#readAhead.plan(pgno, room);
    for (let attempt = 0;; attempt++) {
      try {
        const run = this.#readRun(pgno, plan, out);
        this.#readAhead.record(run);
        return run;
      } catch (error) {
        if (
          !(error instanceof StorageError && error.retryable) ||
          attempt === MAX_READ_RETRIES
        ) throw error;
        // The file may have gone away under us, as compaction does: plan
        // the same TXID again from what the replica holds now. If that is
        // the plan already, storage itself is failing, and the client has
        // spent its retry budget on it: give up now.
        const { txid, timestamp } = this.#current;
        const replanned = restorePlan(this.#replica.listAll(), {
          url: this.#replica.url,
          targetTxid: txid,
        });
        if (samePlan(replanned, this.#current.plan)) throw error;
        this.#log.debug("file vanished: planning the same TXID again", {
          txid: formatTxid(txid),
          error: (error as Error).message,
        });
        this.#current = { ...this.#build(replanned), timestamp };
      }
    }
  }

  /** {@inheritDoc DatabaseFile.close} */
  close(cache?: CacheCounters): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writer?.detach(this);
    if (this.#log.debugEnabled) {
      this.#log.debug("closed", {
        txid: formatTxid(this.#current.txid),
        cache_hits: cache?.hits,
        cache_misses: cache?.misses,
        cache_evictions: cache?.evictions,
        cache_drops: cache?.drops,
      });
    }
    this.#onClose();
  }

  /**
   * Reads a page of a read transaction the hydration file serves: the
   * shim asks only for page 1 then (it reads the others itself), so one
   * page, no read-ahead.
   */
  #readHydrated(pgno: number, out: Uint8Array): PageRun {
    const page = out.subarray(0, this.#pageSize);
    if (pgno > this.#current.pageCount) {
      page.fill(0);
    } else {
      this.#hydrator!.read(pgno, page, this.#pageSize);
    }
    return { first: pgno, count: 1 };
  }

  /** The database size in pages this view sees, the buffer's included. */
  #pageCountSeen(): number {
    const writer = this.#writer;
    return writer?.overlays(this)
      ? writer.pageCount(this)
      : this.#current.pageCount;
  }

  /** Polls, when live and the poll interval has passed since the last. */
  #pollIfDue(): void {
    if (this.#target !== undefined) return;
    const now = this.#now();
    if (now - this.#lastPollAt >= this.#config.pollIntervalMs) {
      this.#lastPollAt = now;
      this.#poll(now);
    }
  }

  /**
   * Takes in what background verification found. A file that turned bad
   * gives the snapshot a new serial, so the shim's cache, SQLite's own and
   * the frame map all drop what they held of it.
   */
  #takeVerification(): void {
    const verifier = this.#verifier;
    if (verifier === undefined) return;
    verifier.collect();
    const bad = verifier.generation(false);
    if (bad !== this.#badSeen) {
      this.#badSeen = bad;
      this.#current = { ...this.#current, serial: ++lastSerial };
    }
  }

  /** Whether every file of the view may be served from a local copy. */
  #allServable(): boolean {
    const verifier = this.#verifier;
    return verifier === undefined ||
      this.#current.plan.every((f) => verifier.servable(f, this.#strict));
  }

  /** Moves the version on if the content seen changed; returns it. */
  #refreshVersion(): bigint {
    const writer = this.#writer;
    const key = writer?.overlays(this)
      ? `w ${this.#current.txid} ${writer.commits}`
      : `s ${this.#current.serial}`;
    if (key !== this.#contentKey) {
      this.#contentKey = key;
      const next = this.#version + 1n;
      this.#version = next > this.#current.txid ? next : this.#current.txid;
    }
    return this.#version;
  }

  /** The writer, for a call only the connection holding its lock makes. */
  #holdingWriter(call: string): Writer {
    const writer = this.#writer;
    if (writer === undefined || !writer.isHolder(this)) {
      throw new ReadOnlyError(
        `Cannot ${call}: this connection does not hold the write lock of "${this.#replica.url}"`,
      );
    }
    return writer;
  }

  /**
   * The latest restore plan of a listing; none for an empty replica in
   * write mode, which is a new database.
   */
  #latestPlan(listing: LtxFileInfo[]): LtxFileInfo[] {
    if (listing.length === 0 && (this.#writable || this.#writer?.isOpen)) {
      return [];
    }
    return restorePlan(listing, { url: this.#replica.url });
  }

  #apply(change: Pending): void {
    this.#pending = undefined;
    this.#current = change.snapshot;
    this.#target = change.target;
  }

  /** Reads the run `plan` asks for around page `pgno`, as far as it is contiguous. */
  #readRun(pgno: number, plan: RunPlan, out: Uint8Array): PageRun {
    const { index, pageCount, txid } = this.#current;
    const pageSize = this.#pageSize;
    const slot = index.slotOf(pgno);
    if (slot === 0) {
      if (pgno === this.#lockPgno || pgno > pageCount) {
        out.fill(0, 0, pageSize);
        return { first: pgno, count: 1 };
      }
      throw new PageNotFoundError(
        `Page ${pgno} of "${this.#replica.url}" at TXID ${
          formatTxid(txid)
        } is in none of its LTX files: the replica is incomplete`,
      );
    }
    let first = pgno;
    let last = pgno;
    let start = index.offsetOf(pgno);
    let end = start + index.sizeOf(pgno);
    while (last - first + 1 < plan.pages) {
      if (plan.backward) {
        const before = first - 1;
        if (
          before < 1 || index.slotOf(before) !== slot ||
          index.offsetOf(before) + index.sizeOf(before) !== start
        ) break;
        first = before;
        start = index.offsetOf(before);
      } else {
        const next = last + 1;
        if (
          next > pageCount || index.slotOf(next) !== slot ||
          index.offsetOf(next) !== end
        ) break;
        last = next;
        end += index.sizeOf(next);
      }
    }
    const count = last - first + 1;
    const file = index.files[slot - 1];
    this.#verifier?.guard(file, this.#strict);
    const name = this.#replica.describe(file);
    if (this.#log.debugEnabled) {
      this.#log.debug("fetch pages", {
        pgno,
        first,
        pages: count,
        file: name,
        offset: start,
        size: end - start,
      });
    }
    if (this.#frame.length < end - start) {
      this.#frame = new Uint8Array(end - start);
    }
    const frames = this.#replica.readRange(
      file,
      start,
      end - start,
      this.#frame,
    );
    // Its pages are wanted: a disk cache keeps the whole file from now on.
    this.#replica.client.keepLocal?.(file);
    for (let i = 0; i < count; i++) {
      const at = index.offsetOf(first + i) - start;
      decodeFrame(
        frames.subarray(at, at + index.sizeOf(first + i)),
        { file: name, pgno: first + i, pageSize, offset: start + at },
        out.subarray(i * pageSize, (i + 1) * pageSize),
      );
    }
    return { first, count };
  }

  /** Moves the view to the replica's latest state, if it changed. */
  #poll(now: number): void {
    let plan: LtxFileInfo[];
    let ageMs: number;
    try {
      const listing = this.#replica.client.pollSync(
        this.#config.pollIntervalMs,
      );
      ageMs = listing.ageMs;
      plan = this.#latestPlan(listing.files);
    } catch (error) {
      // Keep serving the last consistent state; the next poll tries again.
      this.#pollFailed(now, error);
      return;
    }
    this.#lastPollSuccess = now - ageMs;
    if (this.#pollFailure !== undefined) {
      this.#log.info("poll works again", {
        failures: this.#pollFailure.count,
      });
      this.#pollFailure = undefined;
    }
    const current = this.#current;
    if (samePlan(plan, current.plan)) return;
    const writer = this.#writer;
    const latest = plan.at(-1)?.maxTxid ?? 0n;
    // A remote poller's listing may predate this process's own last
    // upload: it says nothing newer, so it moves nothing.
    if (writer !== undefined && latest < writer.baseTxid) return;
    if (writer?.hasUnsynced && writer.overlays(this)) {
      // The buffer builds on this state: if the replica is past it,
      // another writer got there first.
      if (latest > current.txid) writer.remoteMoved(latest);
      return;
    }
    const extends_ = plan.length > current.plan.length &&
      samePlan(plan.slice(0, current.plan.length), current.plan);
    this.#current = extends_
      ? this.#extend(current, plan.slice(current.plan.length))
      : this.#build(plan);
    this.#replica.retain(this.#current.plan);
    if (this.#log.debugEnabled) {
      this.#log.debug("poll: new state", {
        from: formatTxid(current.txid),
        to: formatTxid(this.#current.txid),
        files: extends_ ? plan.length - current.plan.length : plan.length,
        rebuilt: extends_ ? undefined : true,
      });
    }
  }

  /**
   * Records a failed poll. The log says so at once, again when the error
   * changes, and once a minute while it stays the same.
   */
  #pollFailed(now: number, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const failure = this.#pollFailure;
    if (failure !== undefined && failure.error === message) {
      failure.count++;
      if (now - failure.loggedAt < POLL_FAILURE_LOG_MS) return;
      failure.loggedAt = now;
    } else {
      this.#pollFailure = {
        error: message,
        count: (failure?.count ?? 0) + 1,
        loggedAt: now,
      };
    }
    this.#log.warn("poll failed: serving the last good state", {
      txid: formatTxid(this.#current.txid),
      failures: this.#pollFailure!.count,
      lag: this.lag(),
      error: message,
    });
  }

  #build(plan: LtxFileInfo[]): Snapshot {
    return this.#extend(
      {
        plan: [],
        index: new PageIndex(),
        txid: 0n,
        pageCount: 0,
        timestamp: 0,
        serial: 0,
      },
      plan,
    );
  }

  /** Folds more files over a snapshot; mutates its index (never the view's live one mid-transaction). */
  #extend(base: Snapshot, files: LtxFileInfo[]): Snapshot {
    const { index } = base;
    let pageCount = base.pageCount;
    let timestamp = base.timestamp;
    this.#replica.prefetchMeta(files);
    for (const file of files) {
      const meta = this.#replica.meta(file);
      if (meta.header.pageSize !== this.#pageSize) {
        throw new Error(
          `"${
            this.#replica.describe(file)
          }" has page size ${meta.header.pageSize}, the database ${this.#pageSize}: a changed page size needs a new connection`,
        );
      }
      index.apply(file, meta.index);
      pageCount = meta.header.commit;
      timestamp = meta.header.timestamp;
    }
    index.truncate(pageCount);
    this.#verifier?.watch(files);
    const plan = [...base.plan, ...files];
    return {
      plan,
      index,
      txid: plan.at(-1)?.maxTxid ?? 0n,
      pageCount,
      timestamp,
      serial: ++lastSerial,
    };
  }
}

function isPageSize(size: number): boolean {
  return size >= 512 && size <= 65536 && (size & (size - 1)) === 0;
}

function readOnly(name: string, value: string | null): void {
  if (value !== null) throw new TypeError(`PRAGMA ${name} is read-only`);
}

function samePlan(a: LtxFileInfo[], b: LtxFileInfo[]): boolean {
  return a.length === b.length &&
    a.every((f, i) =>
      f.level === b[i].level && f.minTxid === b[i].minTxid &&
      f.maxTxid === b[i].maxTxid
    );
}
