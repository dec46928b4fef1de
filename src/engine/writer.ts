/**
 * Write mode for one replica in the process: its {@linkcode WriteSession}
 * (the buffer and the syncs), the writer's lock, and the rules every view
 * of the replica follows while there are local transactions
 * (ARCHITECTURE.md, "Writes").
 *
 * Locks follow SQLite's rollback-journal protocol, within the process: any
 * number of views read (SHARED); one view at a time writes (RESERVED),
 * while others go on reading; it commits only alone (EXCLUSIVE, refused
 * with {@linkcode BusyError} while others read, and then no new read
 * starts until it has it). So no read ever sees a commit land halfway.
 *
 * What views see: while the buffer holds transactions, every live view
 * stands on the buffer's base and sees the committed pages over it (the
 * writer also sees its staged ones); a view that is elsewhere moves there
 * at its next read. Once a sync has uploaded them, the base is the TXID it
 * wrote, and views move to it.
 *
 * Syncs run when nothing can be mid-read: at a commit once the sync
 * interval has passed since the first unsynced one (the committer holds
 * EXCLUSIVE), from {@linkcode Writer.tick} when no view reads, on
 * `PRAGMA litestream_sync`, and when the last view closes. A failed upload
 * leaves the buffer as it was and is tried again a sync interval later; a
 * conflict stops writes ({@linkcode ConflictError}, kept for inspection).
 *
 * @module
 */

import type { Logger } from "../log/mod.ts";
import { formatTxid } from "../ltx/mod.ts";
import type { LtxFileInfo, RetryOptions } from "../storage/mod.ts";
import type { WriteLockLevel } from "./database_file.ts";
import { BusyError, ConflictError } from "./errors.ts";
import type { ReadBasePages } from "./level0_file.ts";
import type { Replica } from "./replica.ts";
import { WriteBuffer } from "./write_buffer.ts";
import { type Upload, WriteSession } from "./write_session.ts";

/** How many of its own uploads a writer remembers, for views to catch up. */
const KEPT_UPLOADS = 16;

/**
 * Retry budget of a sync nobody waits for (the interval's), in ms: it is
 * tried again a sync interval later anyway, and an outage must not hold
 * the connection that happens to run it.
 */
const BACKGROUND_RETRY_BUDGET_MS = 1000;

/** A replica state a view stands on, as a writer needs it. */
export interface BaseState {
  /** Its TXID; 0 for a new database. */
  readonly txid: bigint;
  /** Its database checksum, 0 when untracked. */
  readonly checksum: bigint;
  /** Its size in pages. */
  readonly pageCount: number;
}

/** What a writer asks of the views of its replica. */
export interface WriterView {
  /** The state the view stands on. */
  readonly base: BaseState;
  /** Whether the view is live (not in time travel). */
  readonly live: boolean;
  /** Whether the view is inside a read transaction. */
  readonly reading: boolean;
  /**
   * Reads pages of the view's state without the buffer over it, for
   * database checksums.
   */
  readBase: ReadBasePages;
  /**
   * Moves the view onto the writer's base now; only called on a view that
   * is not reading, or on the one the writer is serving.
   */
  follow(): void;
}

/** Where a writer keeps its buffer, and how often it syncs. */
export interface WriteSettings {
  /** The buffer file. */
  bufferPath: string;
  /** Time between a commit and its sync, in ms. */
  syncIntervalMs: number;
  /** Where syncs and conflicts are logged. */
  logger: Logger;
}

/**
 * The write mode of one replica: one per replica in the process, which
 * every view of it attaches to, reading or writing. Its buffer opens with
 * the first view open for writing.
 */
export class Writer {
  #replica: Replica;
  #bufferPath = "";
  #syncIntervalMs = 0;
  #log: Logger | undefined;
  #now: () => number;
  #session: WriteSession | undefined;
  #views = new Set<WriterView>();
  /** The view holding RESERVED or EXCLUSIVE. */
  #holder: WriterView | undefined;
  /** True while the holder has EXCLUSIVE, or is waiting for it. */
  #exclusive = false;
  /** The database size in pages the holder's transaction makes. */
  #stagedPageCount = 0;
  /** Commits since the base: part of what the views see. */
  #commits = 0;
  /** When the first commit not yet synced was made. */
  #firstUnsyncedAt: number | undefined;
  /** No sync is tried before this time after a failed one. */
  #retryAt = 0;
  /** Set once this writer's transactions can no longer be uploaded. */
  #conflict: ConflictError | undefined;
  /** False when the buffer left by another process was made on another state. */
  #applies = true;
  /** This writer's recent uploads, oldest first. */
  #uploads: LtxFileInfo[] = [];
  /** What the last sync turned into the base: views there keep their content. */
  #lastSync: { fromTxid: bigint; commits: number } | undefined;

  /**
   * @param replica The replica written to.
   * @param now Clock in ms.
   */
  constructor(replica: Replica, now: () => number) {
    this.#replica = replica;
    this.#now = now;
  }

  /** Whether the buffer is open: some view was opened for writing. */
  get isOpen(): boolean {
    return this.#session !== undefined;
  }

  /**
   * The page size of transactions a process left in a buffer file, so
   * that a new database (an empty replica) opens with it.
   *
   * @param bufferPath The buffer file a writable view would use.
   * @returns The page size, or undefined when the file holds none.
   */
  leftPageSize(bufferPath: string): number | undefined {
    if (this.#session !== undefined) return this.#session.buffer.pageSize;
    return WriteBuffer.storedPageSize(bufferPath);
  }

  /**
   * Adds a view of the replica. The first one open for writing opens the
   * buffer, with its settings: a buffer left by an earlier process is
   * taken up, and synced soon if it was made on the view's state, else
   * reported as a conflict.
   *
   * @param view The view.
   * @param pageSize The database page size.
   * @param settings The view's write settings; undefined for a view open
   * read-only, which still sees the buffer.
   * @throws {WriteBufferError} When the buffer file cannot be used.
   */
  attach(view: WriterView, pageSize: number, settings?: WriteSettings): void {
    if (this.#session === undefined && settings !== undefined) {
      this.#bufferPath = settings.bufferPath;
      this.#syncIntervalMs = settings.syncIntervalMs;
      this.#log = settings.logger;
      this.#session = this.#openSession(view, pageSize);
      const buffer = this.#session.buffer;
      if (!buffer.isEmpty) this.#takeUp(view, buffer);
    }
    this.#views.add(view);
  }

  /**
   * Removes a view; the last one syncs what is left and closes the buffer
   * (what a failed sync leaves stays in it for the next open).
   *
   * @param view The view.
   */
  detach(view: WriterView): void {
    if (this.#holder === view) this.lock(view, "shared");
    if (this.#views.size === 1 && this.#views.has(view)) {
      this.#trySync("close");
      this.#session?.close();
      this.#session = undefined;
    }
    this.#views.delete(view);
  }

  /**
   * Whether a view sees the buffer over its state: it is live and stands
   * on the base.
   */
  overlays(view: WriterView): boolean {
    const session = this.#session;
    return session !== undefined && this.#applies && view.live &&
      view.base.txid === session.buffer.base.txid &&
      (!session.buffer.isEmpty || this.#holder === view);
  }

  /**
   * Whether a live view must move onto the base before it reads: the
   * buffer holds transactions made on another state, or a sync moved the
   * base past the view.
   */
  mustFollow(view: WriterView): boolean {
    const session = this.#session;
    if (session === undefined || !this.#applies || !view.live) return false;
    const { txid } = session.buffer.base;
    return view.base.txid < txid ||
      (!session.buffer.isEmpty && view.base.txid !== txid);
  }

  /** The TXID of the base. */
  get baseTxid(): bigint {
    return this.#session?.buffer.base.txid ?? 0n;
  }

  /** Whether the buffer holds transactions not yet synced. */
  get hasUnsynced(): boolean {
    return !(this.#session?.buffer.isEmpty ?? true);
  }

  /**
   * This writer's own uploads after a TXID, in order, when they reach the
   * base from it; undefined when they do not (the view lists the replica).
   */
  uploadsAfter(txid: bigint): LtxFileInfo[] | undefined {
    const files = this.#uploads.filter((f) => f.minTxid > txid);
    if (files.length === 0 || files[0].minTxid !== txid + 1n) return undefined;
    return files;
  }

  /**
   * What the last sync uploaded: the commits over which base. A view that
   * saw exactly those sees the same content on the new base.
   */
  get lastSync(): { fromTxid: bigint; commits: number } | undefined {
    return this.#lastSync;
  }

  /** Commits over the base, for the views' content key. */
  get commits(): number {
    return this.#commits;
  }

  /** Whether a view is the one writing. */
  isHolder(view: WriterView): boolean {
    return this.#holder === view;
  }

  /**
   * Starts a read for a view.
   *
   * @throws {BusyError} When another view commits, or waits to.
   */
  beginRead(view: WriterView): void {
    if (this.#exclusive && this.#holder !== view) {
      throw new BusyError(
        `A write transaction on "${this.#replica.url}" is committing: try again`,
      );
    }
  }

  /**
   * Moves a view's write lock; see {@linkcode DatabaseFile.lockWrite}.
   *
   * @throws {BusyError} When another view holds the lock, or others read
   * while it asks for EXCLUSIVE.
   * @throws {ConflictError} When another writer moved the replica on first.
   */
  lock(view: WriterView, level: WriteLockLevel): void {
    const session = this.#requireSession();
    if (level === "shared") {
      if (this.#holder !== view) return;
      session.buffer.rollback();
      this.#holder = undefined;
      this.#exclusive = false;
      return;
    }
    if (this.#holder !== undefined && this.#holder !== view) {
      throw new BusyError(
        `Another connection of this process is writing to "${this.#replica.url}": one writer at a time`,
      );
    }
    if (this.#holder !== view) {
      if (this.#conflict !== undefined) throw this.#conflict;
      if (session.buffer.isEmpty && view.base.txid !== this.baseTxid) {
        session.rebase(view.base);
      }
      this.#holder = view;
      this.#stagedPageCount = session.pageCount;
    }
    if (level === "reserved") return;
    this.#exclusive = true;
    const readers = [...this.#views].filter((v) => v !== view && v.reading);
    if (readers.length > 0) {
      throw new BusyError(
        `${readers.length} other connection(s) of this process are reading "${this.#replica.url}": the commit waits for them`,
      );
    }
  }

  /**
   * Reads a page from the buffer for a view that overlays it.
   *
   * @returns Whether the buffer had it.
   */
  read(view: WriterView, pgno: number, out: Uint8Array): boolean {
    return this.#requireSession().buffer.read(pgno, out, this.#holder === view);
  }

  /** Whether the buffer holds a committed copy of a page. */
  hasCommitted(pgno: number): boolean {
    return this.#session?.buffer.hasCommitted(pgno) ?? false;
  }

  /** The database size in pages a view sees over its base. */
  pageCount(view: WriterView): number {
    if (this.#holder === view) return this.#stagedPageCount;
    return this.#requireSession().pageCount;
  }

  /** The buffer's page size. */
  get pageSize(): number {
    return this.#requireSession().buffer.pageSize;
  }

  /**
   * Makes a new, empty database use another page size: the buffer is made
   * again for it. Only before anything is written.
   */
  setPageSize(view: WriterView, pageSize: number): void {
    this.#requireSession().close();
    Deno.removeSync(this.#bufferPath);
    this.#session = this.#openSession(view, pageSize);
  }

  #openSession(view: WriterView, pageSize: number): WriteSession {
    return new WriteSession({
      replica: this.#replica,
      bufferPath: this.#bufferPath,
      pageSize,
      base: view.base,
      readBase: (pgnos) => this.#baseView().readBase(pgnos),
      now: this.#now,
    });
  }

  /** Stages a page of the holder's transaction. */
  write(pgno: number, page: Uint8Array): void {
    this.#requireSession().buffer.write(pgno, page);
    if (pgno > this.#stagedPageCount) this.#stagedPageCount = pgno;
  }

  /** Stages the holder's database size. */
  truncate(pageCount: number): void {
    this.#stagedPageCount = pageCount;
  }

  /**
   * Commits the holder's staged pages: they are fsync'd in the buffer when
   * this returns.
   *
   * @returns Whether anything was committed.
   */
  commit(): boolean {
    const session = this.#requireSession();
    const buffer = session.buffer;
    if (!buffer.hasStaged && this.#stagedPageCount === session.pageCount) {
      return false;
    }
    buffer.commit(this.#stagedPageCount);
    this.#commits++;
    this.#firstUnsyncedAt ??= this.#now();
    return true;
  }

  /**
   * After a commit, while the committer still holds EXCLUSIVE: syncs if
   * the sync interval has passed. A failed sync does not fail the commit:
   * the transaction is durable in the buffer, and the sync is tried again.
   *
   * @param view The committer, moved onto the new base (its content is
   * the same there).
   */
  syncAfterCommit(view: WriterView): void {
    if (!this.#syncDue(this.#now())) return;
    this.#trySync("interval");
    if (this.mustFollow(view)) view.follow();
  }

  /**
   * Syncs now, for `PRAGMA litestream_sync`; `caller` may be reading and
   * is moved onto the new base.
   *
   * @returns The base TXID after the sync.
   * @throws {BusyError} When a write transaction is under way, or other
   * views are reading.
   * @throws {ConflictError} When another writer moved the replica on first.
   * @throws {StorageError} When the upload failed; the buffer keeps the
   * transactions, and they are tried again later.
   */
  syncNow(caller: WriterView): bigint {
    const session = this.#requireSession();
    if (this.#holder !== undefined) {
      throw new BusyError(
        `Cannot sync "${this.#replica.url}" inside a write transaction: commit first`,
      );
    }
    const readers = [...this.#views].filter((v) => v !== caller && v.reading);
    if (readers.length > 0) {
      throw new BusyError(
        `Cannot sync "${this.#replica.url}" while ${readers.length} other connection(s) of this process read it: try again`,
      );
    }
    if (this.#conflict !== undefined) throw this.#conflict;
    this.#sync(session);
    if (this.mustFollow(caller)) caller.follow();
    return session.buffer.base.txid;
  }

  /**
   * Syncs if the sync interval has passed and no view is mid-read; for
   * the engine's timer. Never throws.
   */
  tick(): void {
    if (this.#session === undefined || this.#holder !== undefined) return;
    if (!this.#syncDue(this.#now())) return;
    if ([...this.#views].some((v) => v.reading)) return;
    this.#trySync("interval");
  }

  /**
   * Notes that a poll found the replica at another TXID while the buffer
   * holds transactions: another writer got there first. Writes stop; the
   * next sync attempt reports the conflict.
   */
  remoteMoved(latest: bigint): void {
    const session = this.#session;
    if (session === undefined || session.buffer.isEmpty) return;
    if (this.#conflict !== undefined) return;
    this.#conflict = this.#conflictError(latest, session);
    this.#log?.error("write conflict: nothing more is uploaded", {
      error: this.#conflict.message,
    });
  }

  #syncDue(now: number): boolean {
    return this.#firstUnsyncedAt !== undefined &&
      this.#conflict === undefined &&
      now - this.#firstUnsyncedAt >= this.#syncIntervalMs &&
      now >= this.#retryAt;
  }

  /** Syncs and logs a failure instead of throwing it. */
  #trySync(why: string): void {
    const session = this.#session;
    if (session === undefined || session.buffer.isEmpty) return;
    if (this.#conflict !== undefined || !this.#applies) return;
    try {
      this.#sync(session, { retryBudgetMs: BACKGROUND_RETRY_BUDGET_MS });
    } catch (error) {
      if (error instanceof ConflictError) {
        this.#log?.error("write conflict: nothing more is uploaded", {
          error: error.message,
        });
        return;
      }
      this.#retryAt = this.#now() + this.#syncIntervalMs;
      this.#log?.warn("sync failed: the transactions stay in the buffer", {
        why,
        buffer: this.#bufferPath,
        transactions: session.buffer.transactions,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  #sync(session: WriteSession, options?: RetryOptions): void {
    const fromTxid = session.buffer.base.txid;
    const transactions = session.buffer.transactions;
    const started = this.#now();
    let upload: Upload | undefined;
    try {
      upload = session.sync(options);
    } catch (error) {
      if (error instanceof ConflictError) this.#conflict = error;
      throw error;
    }
    if (upload === undefined) return;
    this.#replica.learn(upload.file, upload.bytes);
    this.#uploads.push(upload.file);
    if (this.#uploads.length > KEPT_UPLOADS) this.#uploads.shift();
    this.#lastSync = { fromTxid, commits: this.#commits };
    this.#commits = 0;
    this.#firstUnsyncedAt = undefined;
    this.#retryAt = 0;
    this.#log?.debug("synced", {
      txid: formatTxid(upload.file.maxTxid),
      transactions,
      bytes: upload.bytes.length,
      ms: this.#now() - started,
    });
  }

  /**
   * Takes up transactions an earlier process left in the buffer. If the
   * replica moved on, it may be that process's own upload, made just before
   * it died: a sync finds out, and then empties the buffer.
   *
   * @throws {StorageError} When the replica cannot be read to find out.
   */
  #takeUp(view: WriterView, buffer: WriteBuffer): void {
    if (buffer.base.txid !== view.base.txid) {
      try {
        this.#sync(this.#session!);
        this.#log?.info("write buffer of an earlier process was uploaded", {
          buffer: this.#bufferPath,
          txid: formatTxid(this.baseTxid),
        });
        return;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
      }
      this.#applies = false;
      this.#conflict = this.#conflictError(view.base.txid, this.#session!);
      this.#log?.error("write buffer left by an earlier process conflicts", {
        error: this.#conflict.message,
      });
      return;
    }
    this.#log?.info("write buffer taken up from an earlier process", {
      buffer: this.#bufferPath,
      transactions: buffer.transactions,
      base: formatTxid(buffer.base.txid),
    });
    this.#commits = buffer.transactions;
    this.#firstUnsyncedAt = this.#now() - this.#syncIntervalMs;
  }

  /** A view standing on the base, to read base pages through. */
  #baseView(): WriterView {
    const txid = this.baseTxid;
    for (const view of this.#views) {
      if (view.live && view.base.txid === txid) return view;
    }
    for (const view of this.#views) {
      if (view.live && !view.reading) {
        view.follow();
        return view;
      }
    }
    throw new BusyError(
      `No connection stands on TXID ${
        formatTxid(txid)
      } of "${this.#replica.url}" to read its pages: try again`,
    );
  }

  #requireSession(): WriteSession {
    if (this.#session === undefined) {
      throw new Error("The writer has no open buffer: no view is attached");
    }
    return this.#session;
  }

  #conflictError(latest: bigint, session: WriteSession): ConflictError {
    const buffer = session.buffer;
    return new ConflictError(
      `Another writer moved "${this.#replica.url}" to TXID ${
        formatTxid(latest)
      } while this writer's ${buffer.transactions} transaction(s) build on TXID ${
        formatTxid(buffer.base.txid)
      }: they were not uploaded and stay in "${buffer.path}"; move that file away to write again`,
      buffer.path,
    );
  }
}

/**
 * The buffer file a replica's writer uses when `buffer_path` is not set:
 * one per replica URL in the temporary directory, so that a process that
 * was killed finds its transactions again at the next open.
 *
 * @param replicaUrl The replica URL.
 * @param tmpDir The temporary directory.
 * @returns The path.
 */
export function defaultBufferPath(replicaUrl: string, tmpDir: string): string {
  // FNV-1a, 64-bit: a stable name that does not spell out the URL.
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(replicaUrl)) {
    hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n);
  }
  return `${tmpDir}/lsvfs-write-${hash.toString(16).padStart(16, "0")}.buf`;
}
