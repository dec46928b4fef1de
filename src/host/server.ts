/**
 * The engine child's loop: reads requests from the pipe port, one at a time,
 * answers each from a {@linkcode PortFiles} table, until the pipe closes;
 * between requests, runs the engine's timed work.
 *
 * @module
 */

import type { DatabaseFileOpener } from "../engine/database_file.ts";
import { DISCARD_SINK, Logger } from "../log/mod.ts";
import { SQLITE_OK } from "../sqlite/constants.ts";
import {
  CACHE_STAT_COUNT,
  cacheCountersOf,
  lastFailureMessage,
  OPEN_WRITABLE,
  parseParams,
  portFailure,
  PortFiles,
} from "../vfs/port_files.ts";
import {
  type Answer,
  decodeRequest,
  encodeAnswer,
  FRAME_HEADER_SIZE,
  MAX_BODY_SIZE,
  NOT_FOUND,
  type Op,
  type Request,
} from "./protocol.ts";

/**
 * How often {@linkcode serve} calls `onIdle` by default, in milliseconds:
 * after each answer once this long has passed since the last call, and
 * whenever a read times out (the engine child's reads time out after this
 * long).
 */
export const IDLE_INTERVAL_MS = 200;

/** Where the server reads requests and writes answers, synchronously. */
export interface PipeIo {
  /**
   * Reads into `buffer`: bytes read, or null at end of file
   * (`Deno.stdin.readSync`). May throw `Deno.errors.TimedOut` when nothing
   * came for a while: the pipe is idle, not closed.
   */
  read(buffer: Uint8Array): number | null;
  /** Writes from `buffer`: bytes written (`Deno.stdout.writeSync`). */
  write(buffer: Uint8Array): number;
}

/**
 * Reads exactly `out.length` bytes; false at end of file before the first.
 * A read that times out before the first byte calls `onIdle` (when given);
 * either way the reads go on.
 */
function readFull(
  io: PipeIo,
  out: Uint8Array,
  onIdle?: () => void,
): boolean {
  let at = 0;
  while (at < out.length) {
    let n: number | null;
    try {
      n = io.read(out.subarray(at));
    } catch (error) {
      if (!(error instanceof Deno.errors.TimedOut)) throw error;
      // Idle between messages; inside one, the rest is on its way.
      if (at === 0) onIdle?.();
      continue;
    }
    if (n === null || n === 0) {
      if (at === 0) return false;
      throw new RangeError(
        `Malformed pipe message: the pipe closed after ${at} of ${out.length} bytes`,
      );
    }
    at += n;
  }
  return true;
}

function writeFull(io: PipeIo, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) at += io.write(bytes.subarray(at));
}

/** Options of {@linkcode serve}. */
export interface ServeOptions {
  /**
   * Where a failed open is reported, besides its answer: a client such as
   * the sqlite3 shell says only "unable to open database file". Default:
   * nowhere.
   */
  logger?: Logger;
  /**
   * The engine's timed work (`Engine.tick`: write-mode syncs at the sync
   * interval, ...), called while the pipe is idle (a read of `io` throws
   * `Deno.errors.TimedOut`; `quiet` is true) and, so that a busy client
   * does not starve it, after an answer when `idleIntervalMs` have passed
   * since the last call (`quiet` is false: a client is waiting). It must
   * not throw. Default: none.
   */
  onIdle?: (quiet: boolean) => void;
  /** The least time between two busy-pipe calls of `onIdle`, in ms. Default
   * {@linkcode IDLE_INTERVAL_MS}. */
  idleIntervalMs?: number;
}

/** Answers requests over one table of files. */
class Dispatcher {
  #files: PortFiles;
  #logger: Logger;
  /** read_pages' buffer, kept between calls (one request at a time). */
  #scratch = new Uint8Array(0);

  constructor(opener: DatabaseFileOpener, logger: Logger) {
    this.#files = new PortFiles(opener);
    this.#logger = logger;
  }

  answer(request: Request): Uint8Array {
    let answer: Answer<Op>;
    try {
      answer = this.#call(request);
    } catch (error) {
      const code = portFailure(request.op, error);
      answer = { code, message: lastFailureMessage() };
      if (request.op === "open") {
        this.#logger.error("cannot open database", {
          db: request.name,
          error: answer.message,
        });
      }
    }
    return encodeAnswer(request.op, answer);
  }

  #call(request: Request): Answer<Op> {
    switch (request.op) {
      case "open": {
        const { id, file } = this.#files.open(
          request.name,
          parseParams(request.params),
        );
        return {
          code: SQLITE_OK,
          id,
          pageSize: file.pageSize,
          flags: file.writable ? OPEN_WRITABLE : 0,
        };
      }
      case "close": {
        const { stats } = request;
        const counters = stats.length < CACHE_STAT_COUNT
          ? undefined
          : cacheCountersOf((i) => stats[i]);
        this.#files.close(request.id, counters);
        return { code: SQLITE_OK };
      }
      case "beginRead": {
        const file = this.#files.file(request.id);
        const version = file.beginRead();
        return {
          code: SQLITE_OK,
          version,
          local: file.localGeneration(),
          size: file.size(),
        };
      }
      case "localMap": {
        const map = this.#files.file(request.id).localMap();
        if (map.length + 4 > MAX_BODY_SIZE) {
          // A database of over four million pages: served by the engine.
          throw new RangeError(
            `The local map has ${map.length} bytes, more than a message holds`,
          );
        }
        return { code: SQLITE_OK, map };
      }
      case "endRead":
        this.#files.file(request.id).endRead();
        return { code: SQLITE_OK };
      case "fileSize":
        return { code: SQLITE_OK, size: this.#files.file(request.id).size() };
      case "readPages": {
        const file = this.#files.file(request.id);
        const room = Math.max(1, request.max) * file.pageSize;
        if (this.#scratch.length < room) this.#scratch = new Uint8Array(room);
        const out = this.#scratch.subarray(0, room);
        const { first, count } = file.readPages(request.pgno, out);
        const pages = out.subarray(0, count * file.pageSize);
        return { code: SQLITE_OK, first, count, pages };
      }
      case "pragma": {
        const result = this.#files.file(request.id).pragma(
          request.name,
          request.value,
        );
        if (result === undefined) return NOT_FOUND;
        return { code: SQLITE_OK, result };
      }
      case "writeLock":
        this.#files.file(request.id).lockWrite(request.level);
        return { code: SQLITE_OK };
      case "write":
        // The body is this request's own: the engine copies what it keeps.
        this.#files.file(request.id).write(request.offset, request.data);
        return { code: SQLITE_OK };
      case "truncate":
        this.#files.file(request.id).truncate(request.size);
        return { code: SQLITE_OK };
      case "commit":
        return {
          code: SQLITE_OK,
          version: this.#files.file(request.id).commit(),
        };
    }
  }

  closeAll(): void {
    for (const id of [...this.#files.files.keys()]) {
      try {
        this.#files.close(id);
      } catch (error) {
        portFailure("close", error);
      }
    }
  }
}

/**
 * Serves the pipe port until the pipe closes: reads each request, calls the
 * engine, writes the answer. Engine errors become failure answers (code and
 * message, as the host port reports them); at end of file, the files still
 * open are closed and the function returns. Between requests, the engine's
 * timed work runs (`options.onIdle`).
 *
 * @param opener Opens each main-database file (`Engine.openFile`).
 * @param io The pipe: the child's standard input and output.
 * @param options Where failed opens are logged; the timed work.
 * @throws {RangeError} When a message is malformed or too long (the client
 * is not the shim): the caller exits, and the shim sees the pipe close.
 *
 * @example Serve one request from memory
 * ```ts
 * import { serve } from "./server.ts";
 * import { decodeAnswer, encodeRequest, FRAME_HEADER_SIZE } from "./protocol.ts";
 * import { SQLITE_CANTOPEN } from "../sqlite/constants.ts";
 * import assert from "node:assert/strict";
 *
 * const input = encodeRequest({ op: "open", name: "/db", params: new Uint8Array() });
 * let read = 0;
 * const written: number[] = [];
 * serve(() => { throw new Error("No replica here"); }, {
 *   read(buffer) {
 *     if (read === input.length) return null;
 *     const n = Math.min(buffer.length, input.length - read);
 *     buffer.set(input.subarray(read, read + n));
 *     read += n;
 *     return n;
 *   },
 *   write(buffer) {
 *     written.push(...buffer);
 *     return buffer.length;
 *   },
 * });
 * const answer = decodeAnswer("open", new Uint8Array(written).subarray(FRAME_HEADER_SIZE));
 * assert.deepEqual(answer, { code: SQLITE_CANTOPEN, message: "No replica here" });
 * ```
 */
export function serve(
  opener: DatabaseFileOpener,
  io: PipeIo,
  options: ServeOptions = {},
): void {
  const dispatcher = new Dispatcher(
    opener,
    options.logger ?? new Logger({ level: "ERROR", sink: DISCARD_SINK }),
  );
  const intervalMs = options.idleIntervalMs ?? IDLE_INTERVAL_MS;
  let lastIdle = performance.now();
  const idle = (quiet: boolean) => {
    lastIdle = performance.now();
    options.onIdle?.(quiet);
  };
  const header = new Uint8Array(FRAME_HEADER_SIZE);
  const headerView = new DataView(header.buffer);
  try {
    while (readFull(io, header, () => idle(true))) {
      const length = headerView.getUint32(0, true);
      if (length === 0 || length > MAX_BODY_SIZE) {
        throw new RangeError(
          `Malformed pipe message: a body of ${length} bytes (1 to ${MAX_BODY_SIZE})`,
        );
      }
      const body = new Uint8Array(length);
      if (!readFull(io, body)) {
        throw new RangeError("Malformed pipe message: no body after a length");
      }
      writeFull(io, dispatcher.answer(decodeRequest(body)));
      if (performance.now() - lastIdle >= intervalMs) idle(false);
    }
  } finally {
    dispatcher.closeAll();
  }
}
