/**
 * Standard input of the engine child, read with a timeout: a read that
 * finds nothing for a while throws `Deno.errors.TimedOut`, so that `serve()`
 * (./server.ts) can run the engine's timed work while the client is idle
 * (the child has no event loop: it blocks in its reads).
 *
 * `Deno.stdin.readSync` itself cannot time out. On a socket whose receive
 * times out (`SO_RCVTIMEO`), Deno 2.9.6 retries the EAGAIN in a loop
 * (`read(0) = -1 EAGAIN`, `sched_yield()`, `read(0)`, ...) and never
 * returns; `node:fs` `readSync(0)` does the same, and `/dev/stdin` of a
 * socket cannot be opened. So a worker thread (`_stdin_worker.ts`) makes
 * the blocking reads, into shared memory, and the reader waits for each
 * chunk with `Atomics.wait`, which takes a timeout.
 *
 * Shared memory: an Int32 control block ({@linkcode STATE},
 * {@linkcode LENGTH}) and a data buffer of {@linkcode CHUNK_SIZE} bytes.
 * The worker reads while the state is {@linkcode EMPTY}; then it sets the
 * state to {@linkcode DATA}, {@linkcode END_OF_FILE} or {@linkcode FAILED}
 * (the data holds the error message) and the length; the reader takes the
 * chunk and sets {@linkcode EMPTY} again.
 *
 * @module
 */

import { Worker } from "node:worker_threads";

/** Control slot: what the data buffer holds (one of the states below). */
export const STATE = 0;
/** Control slot: bytes of the chunk or of the error message. */
export const LENGTH = 1;
/** Number of Int32 control slots. */
export const CONTROL_SLOTS = 2;

/** State: nothing to take; the worker is reading. */
export const EMPTY = 0;
/** State: a chunk of LENGTH bytes. */
export const DATA = 1;
/** State: the pipe closed; the worker has ended. */
export const END_OF_FILE = 2;
/** State: the read failed with the message of LENGTH bytes; the worker has ended. */
export const FAILED = 3;

/** Bytes one read of the worker takes at most: room for a write request of
 * a 64 KiB page in one chunk (longer messages come in several). */
export const CHUNK_SIZE = 128 * 1024;

/** What `_stdin_worker.ts` receives as its `workerData`. */
export interface StdinWorkerData {
  /** The control block: {@linkcode CONTROL_SLOTS} Int32 slots. */
  control: SharedArrayBuffer;
  /** The data buffer: {@linkcode CHUNK_SIZE} bytes. */
  data: SharedArrayBuffer;
}

/**
 * Reads standard input with a timeout (see the module documentation). One
 * per process: it owns standard input from its construction on.
 *
 * @example Read what comes, and tell an idle pipe from a closed one
 * ```ts ignore
 * import { StdinReader } from "./_stdin_reader.ts";
 *
 * const stdin = new StdinReader(200);
 * const buffer = new Uint8Array(4096);
 * for (;;) {
 *   try {
 *     const n = stdin.read(buffer);
 *     if (n === null) break; // the pipe closed
 *   } catch (error) {
 *     if (!(error instanceof Deno.errors.TimedOut)) throw error;
 *     // 200 ms without a byte: do the timed work, read on
 *   }
 * }
 * ```
 */
export class StdinReader {
  #control: Int32Array;
  #data: Uint8Array;
  #timeoutMs: number;
  /** The chunk taken from shared memory; #pending is what is left of it. */
  #chunk = new Uint8Array(CHUNK_SIZE);
  #pending = this.#chunk.subarray(0, 0);

  /**
   * Starts the worker that reads standard input.
   *
   * @param timeoutMs How long {@linkcode StdinReader.read} waits for a byte.
   */
  constructor(timeoutMs: number) {
    const control = new SharedArrayBuffer(CONTROL_SLOTS * 4);
    const data = new SharedArrayBuffer(CHUNK_SIZE);
    this.#control = new Int32Array(control);
    this.#data = new Uint8Array(data);
    this.#timeoutMs = timeoutMs;
    const workerData: StdinWorkerData = { control, data };
    // Never what keeps the process alive: it blocks in a read until the
    // pipe closes, and the reader waits for it with Atomics.wait.
    new Worker(new URL("./_stdin_worker.ts", import.meta.url), { workerData })
      .unref();
  }

  /**
   * Reads what has come, as `Deno.stdin.readSync` does, waiting at most
   * the timeout for it.
   *
   * @param buffer Where to put the bytes.
   * @returns How many bytes were read, or null at end of file.
   * @throws {Deno.errors.TimedOut} When nothing came within the timeout:
   * the pipe is still open, and the next read goes on waiting.
   * @throws {Error} When reading standard input failed.
   */
  read(buffer: Uint8Array): number | null {
    if (this.#pending.length === 0 && !this.#take()) return null;
    const n = Math.min(buffer.length, this.#pending.length);
    buffer.set(this.#pending.subarray(0, n));
    this.#pending = this.#pending.subarray(n);
    return n;
  }

  /** Takes the worker's next chunk into #pending; false at end of file. */
  #take(): boolean {
    const control = this.#control;
    while (Atomics.load(control, STATE) === EMPTY) {
      if (
        Atomics.wait(control, STATE, EMPTY, this.#timeoutMs) === "timed-out"
      ) {
        throw new Deno.errors.TimedOut(
          `Nothing on standard input for ${this.#timeoutMs} ms`,
        );
      }
    }
    const length = control[LENGTH];
    switch (Atomics.load(control, STATE)) {
      case DATA:
        this.#chunk.set(this.#data.subarray(0, length));
        this.#pending = this.#chunk.subarray(0, length);
        Atomics.store(control, STATE, EMPTY);
        Atomics.notify(control, STATE);
        return true;
      case END_OF_FILE:
        return false;
      default:
        throw new Error(
          `Cannot read standard input: ${
            new TextDecoder().decode(this.#data.slice(0, length))
          }`,
        );
    }
  }
}
