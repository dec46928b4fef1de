/**
 * The pipe port's wire format, as ffi/litestream_vfs.c documents it: each
 * message is a 4-byte little-endian body length, then the body. A request's
 * body is a 1-byte operation, then its fields; an answer's body is a 4-byte
 * result code, then, on success, the operation's results, on failure the
 * error message (UTF-8, to the end of the body). Integers are
 * little-endian; strings are UTF-8 with a 4-byte length before them.
 *
 * | op | request fields | answer on SQLITE_OK |
 * | --- | --- | --- |
 * | 1 open | u32 name length, name, parameter block ("key\0value\0"...) to the end | u32 id, u32 page size, u32 flags (`OPEN_WRITABLE`) |
 * | 2 close | u32 id, u32 n, n x u64 cache counters | nothing |
 * | 3 begin_read | u32 id | u64 view version, u32 local map generation, i64 size in bytes |
 * | 4 end_read | u32 id | nothing |
 * | 5 file_size | u32 id | i64 size in bytes |
 * | 6 read_pages | u32 id, u32 pgno, u32 most pages | u32 first, u32 count, count pages |
 * | 7 pragma | u32 id, u8 has value, u32 name length, name, [u32 value length, value] | u8 has result, result to the end |
 * | 8 local_map | u32 id | the local map (src/engine/local_map.ts) to the end |
 * | 9 write_lock | u32 id, u32 lock (`SQLITE_LOCK_SHARED`, `_RESERVED` or `_EXCLUSIVE`) | nothing |
 * | 10 write | u32 id, i64 offset, the bytes to the end | nothing |
 * | 11 truncate | u32 id, i64 size in bytes | nothing |
 * | 12 commit | u32 id | u64 view version |
 *
 * A pragma that is not the engine's answers SQLITE_NOTFOUND with an empty
 * message.
 *
 * @module
 */

import type { WriteLockLevel } from "../engine/database_file.ts";
import { WRITE_LOCK_CODES, WRITE_LOCK_LEVELS } from "../vfs/port_files.ts";
import { SQLITE_NOTFOUND, SQLITE_OK } from "../sqlite/constants.ts";

/** Bytes of the length before every message body. */
export const FRAME_HEADER_SIZE = 4;

/** Largest message body either side accepts (LSVFS_WIRE_MAX in the shim). */
export const MAX_BODY_SIZE = 16 * 1024 * 1024;

/** The operation codes, by the port call they carry. */
export const OP_CODES = {
  open: 1,
  close: 2,
  beginRead: 3,
  endRead: 4,
  fileSize: 5,
  readPages: 6,
  pragma: 7,
  localMap: 8,
  writeLock: 9,
  write: 10,
  truncate: 11,
  commit: 12,
} as const;

/** A port call's name. */
export type Op = keyof typeof OP_CODES;

/** A request, decoded. */
export type Request =
  | { op: "open"; name: string; params: Uint8Array }
  | { op: "close"; id: number; stats: bigint[] }
  | { op: "beginRead"; id: number }
  | { op: "endRead"; id: number }
  | { op: "fileSize"; id: number }
  | { op: "localMap"; id: number }
  | { op: "readPages"; id: number; pgno: number; max: number }
  | { op: "pragma"; id: number; name: string; value: string | null }
  | { op: "writeLock"; id: number; level: WriteLockLevel }
  | { op: "write"; id: number; offset: number; data: Uint8Array }
  | { op: "truncate"; id: number; size: number }
  | { op: "commit"; id: number };

/** A failed call's answer (and a pragma's SQLITE_NOTFOUND). */
export interface Failure {
  /** The SQLite result code, not SQLITE_OK. */
  code: number;
  /** The message the shim logs or returns as the SQL error. */
  message: string;
}

/** A successful answer's results, by operation. */
export interface Results {
  open: { id: number; pageSize: number; flags: number };
  close: Record<never, never>;
  beginRead: { version: bigint; local: number; size: number };
  endRead: Record<never, never>;
  fileSize: { size: number };
  readPages: { first: number; count: number; pages: Uint8Array };
  pragma: { result: string | null };
  localMap: { map: Uint8Array };
  writeLock: Record<never, never>;
  write: Record<never, never>;
  truncate: Record<never, never>;
  commit: { version: bigint };
}

/** An answer to an operation: its results, or a failure. */
export type Answer<O extends Op> = ({ code: 0 } & Results[O]) | Failure;

const OPS = Object.fromEntries(
  Object.entries(OP_CODES).map(([op, code]) => [code, op as Op]),
) as Record<number, Op | undefined>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A message being written: grows as fields are added. */
class Writer {
  #bytes = new Uint8Array(64);
  #view = new DataView(this.#bytes.buffer);
  #length = FRAME_HEADER_SIZE;

  /** Makes room for n more bytes; returns where they start. Call it
   * before touching #view or #bytes, which it may replace. */
  #reserve(n: number): number {
    const at = this.#length;
    if (at + n > this.#bytes.length) {
      const bigger = new Uint8Array(Math.max(2 * this.#bytes.length, at + n));
      bigger.set(this.#bytes.subarray(0, at));
      this.#bytes = bigger;
      this.#view = new DataView(bigger.buffer);
    }
    this.#length += n;
    return at;
  }

  u8(value: number): this {
    const at = this.#reserve(1);
    this.#view.setUint8(at, value);
    return this;
  }

  u32(value: number): this {
    const at = this.#reserve(4);
    this.#view.setUint32(at, value, true);
    return this;
  }

  i32(value: number): this {
    const at = this.#reserve(4);
    this.#view.setInt32(at, value, true);
    return this;
  }

  u64(value: bigint): this {
    const at = this.#reserve(8);
    this.#view.setBigUint64(at, value, true);
    return this;
  }

  i64(value: bigint): this {
    const at = this.#reserve(8);
    this.#view.setBigInt64(at, value, true);
    return this;
  }

  bytes(value: Uint8Array): this {
    const at = this.#reserve(value.length);
    this.#bytes.set(value, at);
    return this;
  }

  string(value: string): this {
    const bytes = encoder.encode(value);
    return this.u32(bytes.length).bytes(bytes);
  }

  /** The whole message, its length in front. */
  finish(): Uint8Array {
    this.#view.setUint32(0, this.#length - FRAME_HEADER_SIZE, true);
    return this.#bytes.subarray(0, this.#length);
  }
}

/** A message body being read; every read checks the bounds. */
class Reader {
  #bytes: Uint8Array;
  #view: DataView;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  }

  #take(n: number, what: string): number {
    if (this.#at + n > this.#bytes.length) {
      throw new RangeError(
        `Malformed pipe message: ${what} runs past the end of the ${this.#bytes.length}-byte body`,
      );
    }
    const at = this.#at;
    this.#at += n;
    return at;
  }

  u8(what: string): number {
    return this.#view.getUint8(this.#take(1, what));
  }

  u32(what: string): number {
    return this.#view.getUint32(this.#take(4, what), true);
  }

  i32(what: string): number {
    return this.#view.getInt32(this.#take(4, what), true);
  }

  u64(what: string): bigint {
    return this.#view.getBigUint64(this.#take(8, what), true);
  }

  i64(what: string): bigint {
    return this.#view.getBigInt64(this.#take(8, what), true);
  }

  bytes(n: number, what: string): Uint8Array {
    const at = this.#take(n, what);
    return this.#bytes.subarray(at, at + n);
  }

  string(what: string): string {
    return decoder.decode(this.bytes(this.u32(`${what} length`), what));
  }

  rest(): Uint8Array {
    return this.bytes(this.#bytes.length - this.#at, "rest");
  }

  end(): void {
    if (this.#at !== this.#bytes.length) {
      throw new RangeError(
        `Malformed pipe message: ${
          this.#bytes.length - this.#at
        } bytes left over`,
      );
    }
  }
}

/**
 * Encodes a request as the shim sends it, its length in front.
 *
 * @param request The request.
 * @returns The whole message.
 *
 * @example Ask for the size of file 3
 * ```ts
 * import { encodeRequest } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   [...encodeRequest({ op: "fileSize", id: 3 })],
 *   [5, 0, 0, 0, 5, 3, 0, 0, 0],
 * );
 * ```
 */
export function encodeRequest(request: Request): Uint8Array {
  const w = new Writer().u8(OP_CODES[request.op]);
  switch (request.op) {
    case "open":
      return w.string(request.name).bytes(request.params).finish();
    case "close":
      w.u32(request.id).u32(request.stats.length);
      for (const stat of request.stats) w.u64(stat);
      return w.finish();
    case "readPages":
      return w.u32(request.id).u32(request.pgno).u32(request.max).finish();
    case "pragma":
      w.u32(request.id).u8(request.value === null ? 0 : 1).string(
        request.name,
      );
      if (request.value !== null) w.string(request.value);
      return w.finish();
    case "writeLock":
      return w.u32(request.id).u32(WRITE_LOCK_CODES[request.level]).finish();
    case "write":
      return w.u32(request.id).i64(BigInt(request.offset)).bytes(request.data)
        .finish();
    case "truncate":
      return w.u32(request.id).i64(BigInt(request.size)).finish();
    default:
      return w.u32(request.id).finish();
  }
}

/**
 * Decodes a request's body (the message without its length).
 *
 * @param body The body.
 * @returns The request.
 * @throws {RangeError} When the body is not a well-formed request.
 *
 * @example Round trip
 * ```ts
 * import { decodeRequest, encodeRequest, FRAME_HEADER_SIZE } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * const request = { op: "readPages", id: 1, pgno: 7, max: 64 } as const;
 * const message = encodeRequest(request);
 * assert.deepEqual(decodeRequest(message.subarray(FRAME_HEADER_SIZE)), request);
 * ```
 */
export function decodeRequest(body: Uint8Array): Request {
  const r = new Reader(body);
  const code = r.u8("operation");
  const op = OPS[code];
  let request: Request;
  switch (op) {
    case "open":
      request = { op, name: r.string("name"), params: r.rest() };
      break;
    case "close": {
      const id = r.u32("id");
      const n = r.u32("counter count");
      const stats: bigint[] = [];
      for (let i = 0; i < n; i++) stats.push(r.u64("counter"));
      request = { op, id, stats };
      break;
    }
    case "beginRead":
    case "endRead":
    case "fileSize":
    case "localMap":
    case "commit":
      request = { op, id: r.u32("id") };
      break;
    case "readPages":
      request = {
        op,
        id: r.u32("id"),
        pgno: r.u32("pgno"),
        max: r.u32("most pages"),
      };
      break;
    case "pragma": {
      const id = r.u32("id");
      const hasValue = r.u8("value flag") !== 0;
      const name = r.string("name");
      request = { op, id, name, value: hasValue ? r.string("value") : null };
      break;
    }
    case "writeLock": {
      const id = r.u32("id");
      const lock = r.u32("lock");
      const level = WRITE_LOCK_LEVELS[lock];
      if (level === undefined) {
        throw new RangeError(`Malformed pipe message: unknown lock ${lock}`);
      }
      request = { op, id, level };
      break;
    }
    case "write": {
      const id = r.u32("id");
      const offset = Number(r.i64("offset"));
      request = { op, id, offset, data: r.rest() };
      break;
    }
    case "truncate":
      request = { op, id: r.u32("id"), size: Number(r.i64("size")) };
      break;
    default:
      throw new RangeError(`Malformed pipe message: unknown operation ${code}`);
  }
  r.end();
  return request;
}

/**
 * Encodes the answer to an operation, its length in front.
 *
 * @param op The operation answered.
 * @param answer Its results (code 0), or a failure.
 * @returns The whole message.
 *
 * @example A failed open
 * ```ts
 * import { encodeAnswer } from "./protocol.ts";
 * import { SQLITE_CANTOPEN } from "../sqlite/constants.ts";
 * import assert from "node:assert/strict";
 *
 * const message = encodeAnswer("open", { code: SQLITE_CANTOPEN, message: "No" });
 * assert.deepEqual([...message], [6, 0, 0, 0, 14, 0, 0, 0, 78, 111]);
 * ```
 */
export function encodeAnswer<O extends Op>(
  op: O,
  answer: Answer<O>,
): Uint8Array {
  const w = new Writer().i32(answer.code);
  if (answer.code !== SQLITE_OK) {
    return w.bytes(encoder.encode((answer as Failure).message)).finish();
  }
  const ok = answer as Results[Op];
  switch (op) {
    case "open": {
      const { id, pageSize, flags } = ok as Results["open"];
      return w.u32(id).u32(pageSize).u32(flags).finish();
    }
    case "beginRead": {
      const { version, local, size } = ok as Results["beginRead"];
      return w.u64(version).u32(local).i64(BigInt(size)).finish();
    }
    case "fileSize":
      return w.i64(BigInt((ok as Results["fileSize"]).size)).finish();
    case "readPages": {
      const { first, count, pages } = ok as Results["readPages"];
      return w.u32(first).u32(count).bytes(pages).finish();
    }
    case "pragma": {
      const { result } = ok as Results["pragma"];
      if (result === null) return w.u8(0).finish();
      return w.u8(1).bytes(encoder.encode(result)).finish();
    }
    case "localMap":
      return w.bytes((ok as Results["localMap"]).map).finish();
    case "commit":
      return w.u64((ok as Results["commit"]).version).finish();
    default:
      return w.finish();
  }
}

/**
 * Decodes an answer's body (the message without its length): the other
 * half of {@linkcode encodeAnswer}, for clients of the engine child written
 * in TypeScript and for tests.
 *
 * @param op The operation the answer is for.
 * @param body The body.
 * @returns The results, or the failure.
 * @throws {RangeError} When the body is not a well-formed answer.
 *
 * @example Round trip
 * ```ts
 * import { decodeAnswer, encodeAnswer, FRAME_HEADER_SIZE } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * const message = encodeAnswer("beginRead", {
 *   code: 0,
 *   version: 42n,
 *   local: 0,
 *   size: 4096,
 * });
 * assert.deepEqual(
 *   decodeAnswer("beginRead", message.subarray(FRAME_HEADER_SIZE)),
 *   { code: 0, version: 42n, local: 0, size: 4096 },
 * );
 * ```
 */
export function decodeAnswer<O extends Op>(
  op: O,
  body: Uint8Array,
): Answer<O> {
  const r = new Reader(body);
  const code = r.i32("result code");
  if (code !== SQLITE_OK) {
    return { code, message: decoder.decode(r.rest()) };
  }
  let results: Results[Op];
  switch (op) {
    case "open":
      results = {
        id: r.u32("id"),
        pageSize: r.u32("page size"),
        flags: r.u32("flags"),
      };
      break;
    case "beginRead":
      results = {
        version: r.u64("version"),
        local: r.u32("local map generation"),
        size: Number(r.i64("size")),
      };
      break;
    case "fileSize":
      results = { size: Number(r.i64("size")) };
      break;
    case "readPages": {
      const first = r.u32("first page");
      const count = r.u32("page count");
      results = { first, count, pages: r.rest() };
      break;
    }
    case "pragma":
      results = {
        result: r.u8("result flag") === 0 ? null : decoder.decode(r.rest()),
      };
      break;
    case "localMap":
      results = { map: r.rest() };
      break;
    case "commit":
      results = { version: r.u64("version") };
      break;
    default:
      results = {};
  }
  r.end();
  return { code: 0, ...results } as Answer<O>;
}

/** The answer a pragma gives when it is not the engine's. */
export const NOT_FOUND: Failure = Object.freeze({
  code: SQLITE_NOTFOUND,
  message: "",
});
