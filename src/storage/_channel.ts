/**
 * The wire format between the engine thread and the storage worker: two
 * SharedArrayBuffers, a small control block of Int32 slots and a growable
 * data buffer. One request is in flight at a time (the engine thread blocks
 * until its answer), so no framing beyond a length is needed.
 *
 * Data buffer, both ways: u32 length of a JSON header, the header, then raw
 * bytes (range reads, concatenated in request order).
 *
 * @module
 */

/** Control slot: sequence number of the latest request (engine writes). */
export const REQUEST_SEQ = 0;
/** Control slot: sequence number of the latest answer (worker writes). */
export const RESPONSE_SEQ = 1;
/** Number of Int32 control slots. */
export const CONTROL_SLOTS = 4;

/** Initial size of the data buffer. */
export const INITIAL_DATA_BYTES = 1 << 20;
/** Largest the data buffer may grow: one answer must fit. */
export const MAX_DATA_BYTES = 1 << 30;

/** An LTX file as it crosses the channel (bigints as decimal strings). */
export interface WireFile {
  level: number;
  minTxid: string;
  maxTxid: string;
  size: number;
  createdAt: number;
}

/** One range read of a batch. */
export interface WireRead {
  file: WireFile;
  offset: number;
  length: number;
}

/** Requests the engine sends. */
export type WireRequest =
  | { op: "open"; id: number; url: string; options?: Record<string, unknown> }
  | { op: "list"; id: number; level: number }
  | { op: "listAll"; id: number; retryBudgetMs?: number }
  | { op: "poll"; id: number; intervalMs: number; seen: number }
  | { op: "read"; id: number; reads: WireRead[]; maxInFlight: number }
  | { op: "close"; id: number }
  | { op: "cache"; id: number; file: WireFile; path: string; maxBytes: number }
  /** The file's bytes follow the header. */
  | {
    op: "create";
    id: number;
    file: WireFile;
    length: number;
    retryBudgetMs?: number;
  };

/** Answers the worker sends: a header, and for reads, bytes after it. */
export type WireResponse =
  | {
    ok: true;
    files?: WireFile[];
    lengths?: number[];
    /** Polls: which listing this is (files come only when it is not `seen`). */
    generation?: number;
    /** Polls: how old the listing is, in ms. */
    ageMs?: number;
  }
  | { ok: false; message: string; retryable: boolean; name: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Writes a header and payloads into the data buffer, growing it as needed.
 *
 * @param data The shared data buffer (growable).
 * @param header The JSON header.
 * @param payloads Raw byte payloads, written after the header.
 */
export function writeMessage(
  data: SharedArrayBuffer,
  header: unknown,
  payloads: readonly Uint8Array[] = [],
): void {
  const json = encoder.encode(JSON.stringify(header));
  let total = 4 + json.length;
  for (const p of payloads) total += p.length;
  if (total > data.byteLength) {
    if (total > data.maxByteLength) {
      throw new RangeError(
        `Storage message too large: ${total} bytes, at most ${data.maxByteLength}`,
      );
    }
    data.grow(
      Math.min(data.maxByteLength, Math.max(total, data.byteLength * 2)),
    );
  }
  const bytes = new Uint8Array(data);
  new DataView(data).setUint32(0, json.length, true);
  bytes.set(json, 4);
  let at = 4 + json.length;
  for (const p of payloads) {
    bytes.set(p, at);
    at += p.length;
  }
}

/**
 * Reads a header from the data buffer.
 *
 * @param data The shared data buffer.
 * @returns The header and the offset where payloads begin.
 */
export function readMessage<T>(
  data: SharedArrayBuffer,
): { header: T; payloadAt: number } {
  const length = new DataView(data).getUint32(0, true);
  // TextDecoder cannot read a shared view: copy first.
  const json = new Uint8Array(data, 4, length).slice();
  return { header: JSON.parse(decoder.decode(json)), payloadAt: 4 + length };
}
