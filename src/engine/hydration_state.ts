/**
 * The state a hydration worker shares with the engine thread, in one
 * SharedArrayBuffer: how far hydration got, which TXID the local file holds,
 * and the lock that keeps the worker from rewriting the file while a read
 * transaction is served from it.
 *
 * The lock is one Int32 word: the number of read transactions that pinned
 * the file, plus a flag the worker sets while it writes. A reader pins only
 * when the flag is clear and the file holds exactly the TXID of its view;
 * the worker sets the flag only when no reader holds a pin. So a read
 * transaction sees the file at one TXID from start to end, and never waits
 * for the worker: when the file is busy, the read goes to the replica.
 *
 * @module
 */

/** What the worker is doing. */
export type HydrationStatus =
  | "starting"
  | "building"
  | "catching-up"
  | "complete"
  | "failed"
  | "stopped";

const STATUSES: readonly HydrationStatus[] = [
  "starting",
  "building",
  "catching-up",
  "complete",
  "failed",
  "stopped",
];

/** Int32 slots. */
const STATUS = 0;
const LOCK = 1;
const GENERATION = 2;
const STOP = 3;
const INT32_SLOTS = 4;
/** Float64 slots, after the Int32 ones. */
const PAGES_DONE = 0;
const PAGES_TOTAL = 1;
const BYTES_FETCHED = 2;
const STARTED_AT = 3;
const FLOAT64_SLOTS = 4;
/** BigInt64 slots, after the Float64 ones. */
const TXID = 0;
const BIGINT64_SLOTS = 1;

/** The worker holds the file for writing. */
const WRITING = 1 << 30;

const FLOAT64_AT = INT32_SLOTS * 4;
const BIGINT64_AT = FLOAT64_AT + FLOAT64_SLOTS * 8;
const BYTES = BIGINT64_AT + BIGINT64_SLOTS * 8;

/** Hydration progress, as PRAGMA litestream_hydration reports it. */
export interface HydrationProgress {
  /** What the worker is doing. */
  readonly status: HydrationStatus;
  /** The TXID the local file holds completely; 0 before the first build ends. */
  readonly txid: bigint;
  /** Pages written by the current build or catch-up. */
  readonly pagesDone: number;
  /** Pages the current build or catch-up writes. */
  readonly pagesTotal: number;
  /** Bytes fetched from the replica since the worker started. */
  readonly bytesFetched: number;
  /** When the current build or catch-up started, in ms since the epoch; 0 if none. */
  readonly startedAt: number;
}

/**
 * A view of the shared hydration state; both threads make one over the same
 * buffer.
 *
 * @example The lock between a reader and the worker
 * ```ts
 * import { HydrationState } from "./hydration_state.ts";
 * import assert from "node:assert/strict";
 *
 * const state = new HydrationState();
 * const worker = new HydrationState(state.buffer);
 * worker.publish(7n);
 * assert.equal(state.pin(7n), true);
 * assert.equal(worker.tryLockForWrite(), false); // a reader holds it
 * state.unpin();
 * assert.equal(worker.tryLockForWrite(), true);
 * assert.equal(state.pin(7n), false); // being rewritten: read the replica
 * worker.unlockWrite();
 * ```
 */
export class HydrationState {
  /** The shared memory; hand it to the other thread. */
  readonly buffer: SharedArrayBuffer;
  #ints: Int32Array;
  #floats: Float64Array;
  #bigints: BigInt64Array;

  /** @param buffer The shared memory of an existing state; a new one when omitted. */
  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(BYTES)) {
    this.buffer = buffer;
    this.#ints = new Int32Array(buffer, 0, INT32_SLOTS);
    this.#floats = new Float64Array(buffer, FLOAT64_AT, FLOAT64_SLOTS);
    this.#bigints = new BigInt64Array(buffer, BIGINT64_AT, BIGINT64_SLOTS);
  }

  /** What the worker is doing. */
  get status(): HydrationStatus {
    return STATUSES[Atomics.load(this.#ints, STATUS)];
  }

  /** Sets what the worker is doing. */
  set status(status: HydrationStatus) {
    Atomics.store(this.#ints, STATUS, STATUSES.indexOf(status));
    Atomics.notify(this.#ints, STATUS);
  }

  /** The TXID the file holds completely, 0 if none. */
  get txid(): bigint {
    return Atomics.load(this.#bigints, TXID);
  }

  /**
   * Which file is on disk, from 1: bumped each time the worker creates the
   * file anew, so a reader holding the old one opens it again.
   */
  get generation(): number {
    return Atomics.load(this.#ints, GENERATION);
  }

  /** Records that the file was created anew. */
  bumpGeneration(): void {
    Atomics.add(this.#ints, GENERATION, 1);
  }

  /** The progress figures. */
  progress(): HydrationProgress {
    return {
      status: this.status,
      txid: this.txid,
      pagesDone: this.#floats[PAGES_DONE],
      pagesTotal: this.#floats[PAGES_TOTAL],
      bytesFetched: this.#floats[BYTES_FETCHED],
      startedAt: this.#floats[STARTED_AT],
    };
  }

  /** Starts counting the pages of a build or catch-up. */
  startWork(pagesTotal: number, now: number): void {
    this.#floats[PAGES_DONE] = 0;
    this.#floats[PAGES_TOTAL] = pagesTotal;
    this.#floats[STARTED_AT] = now;
  }

  /** Counts pages written and bytes fetched. */
  addWork(pages: number, bytes: number): void {
    this.#floats[PAGES_DONE] += pages;
    this.#floats[BYTES_FETCHED] += bytes;
  }

  /**
   * Records that the file now holds `txid` completely, or nothing usable
   * when 0; the worker calls it while it holds the write lock, or while the
   * file holds nothing a reader could pin.
   */
  publish(txid: bigint): void {
    Atomics.store(this.#bigints, TXID, txid);
    if (txid !== 0n) this.status = "complete";
  }

  /**
   * Pins the file for one read transaction at `txid`, if it holds exactly
   * that TXID and the worker is not writing it.
   *
   * @returns Whether the read may use the file; if so, call
   * {@linkcode HydrationState.unpin} when it ends.
   */
  pin(txid: bigint): boolean {
    for (;;) {
      const lock = Atomics.load(this.#ints, LOCK);
      if ((lock & WRITING) !== 0 || this.txid !== txid) return false;
      if (Atomics.compareExchange(this.#ints, LOCK, lock, lock + 1) === lock) {
        // The worker may have published a new TXID between the check and
        // the pin; it cannot after the pin.
        if (this.txid === txid) return true;
        this.unpin();
        return false;
      }
    }
  }

  /** Releases a pin. */
  unpin(): void {
    Atomics.sub(this.#ints, LOCK, 1);
    Atomics.notify(this.#ints, LOCK);
  }

  /**
   * Takes the write lock if no reader holds a pin.
   *
   * @returns Whether the worker may write the file now.
   */
  tryLockForWrite(): boolean {
    return Atomics.compareExchange(this.#ints, LOCK, 0, WRITING) === 0;
  }

  /**
   * Waits, at most `timeoutMs`, for the readers to unpin, then takes the
   * write lock. Only the worker calls it: it blocks its thread.
   *
   * @returns Whether the lock was taken.
   */
  lockForWrite(timeoutMs: number): boolean {
    const deadline = performance.now() + timeoutMs;
    while (!this.tryLockForWrite()) {
      if (this.stopRequested) return false;
      const lock = Atomics.load(this.#ints, LOCK);
      const left = deadline - performance.now();
      if (left <= 0) return false;
      if (lock !== 0) Atomics.wait(this.#ints, LOCK, lock, Math.min(left, 50));
    }
    return true;
  }

  /** Releases the write lock. */
  unlockWrite(): void {
    Atomics.and(this.#ints, LOCK, ~WRITING);
  }

  /** Whether the engine asked the worker to stop. */
  get stopRequested(): boolean {
    return Atomics.load(this.#ints, STOP) !== 0;
  }

  /** Asks the worker to stop, and wakes it if it sleeps. */
  requestStop(): void {
    Atomics.store(this.#ints, STOP, 1);
    Atomics.notify(this.#ints, STOP);
    Atomics.notify(this.#ints, LOCK);
  }

  /**
   * Blocks until the worker has stopped, at most `timeoutMs`.
   *
   * @returns Whether it stopped.
   */
  waitStopped(timeoutMs: number): boolean {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const status = Atomics.load(this.#ints, STATUS);
      if (STATUSES[status] === "stopped") return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.#ints, STATUS, status, left);
    }
  }

  /**
   * Sleeps the worker's thread for `ms`, or until a stop is requested.
   *
   * @returns Whether a stop was requested.
   */
  sleep(ms: number): boolean {
    Atomics.wait(this.#ints, STOP, 0, ms);
    return this.stopRequested;
  }
}
