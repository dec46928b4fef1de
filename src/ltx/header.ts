/**
 * The 100-byte LTX file header: its fields (as the spec table lists them),
 * encoding, decoding and validation. Decoding checks only the length and the
 * magic number; {@linkcode validateHeader} holds the rules (ltx.go
 * `Header.Validate`).
 *
 * @module
 */

import { CHECKSUM_FLAG } from "./checksum.ts";
import {
  HEADER_FLAG_MASK,
  HEADER_FLAG_NO_CHECKSUM,
  HEADER_SIZE,
  MAGIC,
  MAX_PAGE_SIZE,
  MIN_PAGE_SIZE,
} from "./constants.ts";
import { InvalidHeaderError, TruncatedFileError } from "./errors.ts";

/** The fields of an LTX header, in the order of the spec table. */
export interface Header {
  /** Header flags; only {@linkcode HEADER_FLAG_NO_CHECKSUM} is valid. */
  flags: number;
  /** Database page size, in bytes. */
  pageSize: number;
  /** Database size after applying the file, in pages. */
  commit: number;
  /** Minimum transaction ID. */
  minTxid: bigint;
  /** Maximum transaction ID. */
  maxTxid: bigint;
  /** Milliseconds since the Unix epoch. */
  timestamp: number;
  /** Database checksum before applying the file; zero for snapshots. */
  preApplyChecksum: bigint;
  /** Offset in the original WAL, in bytes; zero for a journal. */
  walOffset: bigint;
  /** Size of the original WAL segment, in bytes; zero for a journal. */
  walSize: bigint;
  /** First WAL salt; zero for a journal or a compaction. */
  walSalt1: number;
  /** Second WAL salt; zero for a journal or a compaction. */
  walSalt2: number;
  /** ID of the node that created the file; zero if unset. */
  nodeId: bigint;
}

const MAGIC_BYTES = new TextEncoder().encode(MAGIC);
const MAX_U32 = 0xffffffff;
const MAX_U64 = 0xffffffffffffffffn;
const MAX_I64 = 0x7fffffffffffffffn;

/**
 * Reports whether a header describes a snapshot: a file that starts at the
 * first transaction and therefore holds every page of the database.
 *
 * @param header The header.
 * @returns `true` if `header.minTxid` is 1.
 *
 * @example Usage
 * ```ts
 * import { isSnapshot } from "./header.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isSnapshot({ minTxid: 1n }), true);
 * assert.equal(isSnapshot({ minTxid: 2n }), false);
 * ```
 */
export function isSnapshot(header: Pick<Header, "minTxid">): boolean {
  return header.minTxid === 1n;
}

/**
 * Reports whether a header turns database checksum tracking off
 * ({@linkcode HEADER_FLAG_NO_CHECKSUM}).
 *
 * @param header The header.
 * @returns `true` if the pre-apply and post-apply checksums are not tracked.
 *
 * @example Usage
 * ```ts
 * import { hasNoChecksum } from "./header.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(hasNoChecksum({ flags: 0x2 }), true);
 * ```
 */
export function hasNoChecksum(header: Pick<Header, "flags">): boolean {
  return (header.flags & HEADER_FLAG_NO_CHECKSUM) !== 0;
}

/**
 * Encodes a header into its 100 bytes (the reserved tail is zero). It does not
 * apply the header rules; call {@linkcode validateHeader} for those.
 *
 * @param header The header.
 * @returns The encoded header.
 * @throws {RangeError} If a field does not fit its width in the file.
 *
 * @example Usage
 * ```ts
 * import { decodeHeader, encodeHeader, type Header } from "./header.ts";
 * import assert from "node:assert/strict";
 *
 * const header: Header = {
 *   flags: 0, pageSize: 4096, commit: 2, minTxid: 1n, maxTxid: 1n,
 *   timestamp: 0, preApplyChecksum: 0n, walOffset: 0n, walSize: 0n,
 *   walSalt1: 0, walSalt2: 0, nodeId: 0n,
 * };
 * const bytes = encodeHeader(header);
 * assert.equal(bytes.length, 100);
 * assert.deepEqual(decodeHeader(bytes, "a.ltx"), header);
 * ```
 */
export function encodeHeader(header: Header): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  const view = new DataView(out.buffer);
  out.set(MAGIC_BYTES, 0);
  view.setUint32(4, u32(header.flags, "flags"));
  view.setUint32(8, u32(header.pageSize, "pageSize"));
  view.setUint32(12, u32(header.commit, "commit"));
  view.setBigUint64(16, u64(header.minTxid, "minTxid"));
  view.setBigUint64(24, u64(header.maxTxid, "maxTxid"));
  if (!Number.isSafeInteger(header.timestamp)) {
    throw new RangeError(
      `Cannot encode LTX header: timestamp ${header.timestamp} is not a safe integer`,
    );
  }
  view.setBigInt64(32, BigInt(header.timestamp));
  view.setBigUint64(40, u64(header.preApplyChecksum, "preApplyChecksum"));
  view.setBigInt64(48, i64(header.walOffset, "walOffset"));
  view.setBigInt64(56, i64(header.walSize, "walSize"));
  view.setUint32(64, u32(header.walSalt1, "walSalt1"));
  view.setUint32(68, u32(header.walSalt2, "walSalt2"));
  view.setBigUint64(72, u64(header.nodeId, "nodeId"));
  return out;
}

function u32(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_U32) {
    throw new RangeError(
      `Cannot encode LTX header: ${field} ${value} is not an unsigned 32-bit integer`,
    );
  }
  return value;
}

function u64(value: bigint, field: string): bigint {
  if (typeof value !== "bigint" || value < 0n || value > MAX_U64) {
    throw new RangeError(
      `Cannot encode LTX header: ${field} ${value} is not an unsigned 64-bit integer`,
    );
  }
  return value;
}

function i64(value: bigint, field: string): bigint {
  if (typeof value !== "bigint" || value < -MAX_I64 - 1n || value > MAX_I64) {
    throw new RangeError(
      `Cannot encode LTX header: ${field} ${value} is not a signed 64-bit integer`,
    );
  }
  return value;
}

/**
 * Decodes a header from the first 100 bytes of `bytes`. Checks the length and
 * the magic number only (and that the timestamp fits a JavaScript number);
 * call {@linkcode validateHeader} for the rules.
 *
 * @param bytes The start of the file, at least 100 bytes.
 * @param file The file name, for error messages.
 * @returns The header.
 * @throws {TruncatedFileError} If `bytes` is shorter than 100 bytes.
 * @throws {InvalidHeaderError} If the magic number is not `LTX1` or the
 * timestamp is beyond ±2^53 ms.
 *
 * @example Usage
 * ```ts
 * import { decodeHeader, TruncatedFileError } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => decodeHeader(new Uint8Array(40), "a.ltx"), TruncatedFileError);
 * ```
 */
export function decodeHeader(bytes: Uint8Array, file: string): Header {
  if (bytes.length < HEADER_SIZE) {
    throw new TruncatedFileError(
      file,
      `expected ${HEADER_SIZE} header bytes, found ${bytes.length}`,
    );
  }
  for (let i = 0; i < MAGIC_BYTES.length; i++) {
    if (bytes[i] !== MAGIC_BYTES[i]) {
      throw new InvalidHeaderError(
        file,
        `expected magic "${MAGIC}", found ${showMagic(bytes.subarray(0, 4))}`,
      );
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  const timestamp = view.getBigInt64(32);
  if (
    timestamp > BigInt(Number.MAX_SAFE_INTEGER) ||
    timestamp < BigInt(Number.MIN_SAFE_INTEGER)
  ) {
    throw new InvalidHeaderError(
      file,
      `timestamp ${timestamp} is out of range`,
    );
  }
  return {
    flags: view.getUint32(4),
    pageSize: view.getUint32(8),
    commit: view.getUint32(12),
    minTxid: view.getBigUint64(16),
    maxTxid: view.getBigUint64(24),
    timestamp: Number(timestamp),
    preApplyChecksum: view.getBigUint64(40),
    walOffset: view.getBigInt64(48),
    walSize: view.getBigInt64(56),
    walSalt1: view.getUint32(64),
    walSalt2: view.getUint32(68),
    nodeId: view.getBigUint64(72),
  };
}

function showMagic(bytes: Uint8Array): string {
  const printable = bytes.every((b) => b >= 0x20 && b < 0x7f);
  if (printable) return `"${String.fromCharCode(...bytes)}"`;
  return `0x${
    Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

/**
 * Reports whether a number is a valid database page size: a power of two
 * from 512 to 65536.
 *
 * @param pageSize The candidate page size.
 * @returns `true` if it is valid.
 *
 * @example Usage
 * ```ts
 * import { isValidPageSize } from "./header.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isValidPageSize(4096), true);
 * assert.equal(isValidPageSize(1000), false);
 * ```
 */
export function isValidPageSize(pageSize: number): boolean {
  for (let size = MIN_PAGE_SIZE; size <= MAX_PAGE_SIZE; size *= 2) {
    if (pageSize === size) return true;
  }
  return false;
}

/**
 * Checks a header against the rules of ltx.go `Header.Validate`: only known
 * flags; a page size that is a power of two from 512 to 65536; non-zero TXIDs
 * in order; non-negative WAL offset and size, a WAL offset wherever a WAL
 * salt or size is set; a zero pre-apply checksum on snapshots and when
 * checksums are not tracked, otherwise a non-zero one with its flag bit set.
 * It also checks that every field fits its width in the file.
 *
 * @param header The header.
 * @param file The file name, for error messages.
 * @throws {InvalidHeaderError} Naming the first rule the header breaks.
 *
 * @example Usage
 * ```ts
 * import { InvalidHeaderError, validateHeader, type Header } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const header: Header = {
 *   flags: 0, pageSize: 1000, commit: 2, minTxid: 1n, maxTxid: 1n,
 *   timestamp: 0, preApplyChecksum: 0n, walOffset: 0n, walSize: 0n,
 *   walSalt1: 0, walSalt2: 0, nodeId: 0n,
 * };
 * assert.throws(() => validateHeader(header, "a.ltx"), InvalidHeaderError);
 * ```
 */
export function validateHeader(header: Header, file: string): void {
  const fail = (detail: string): never => {
    throw new InvalidHeaderError(file, detail);
  };
  const isU32 = (v: number) => Number.isInteger(v) && v >= 0 && v <= MAX_U32;
  const isU64 = (v: bigint) => typeof v === "bigint" && v >= 0n && v <= MAX_U64;

  if (!isU32(header.flags) || (header.flags & ~HEADER_FLAG_MASK) !== 0) {
    fail(`flags ${hex32(header.flags)} are not valid; only 0x00000002 is`);
  }
  if (!isValidPageSize(header.pageSize)) {
    fail(
      `page size ${header.pageSize} is not a power of two from ${MIN_PAGE_SIZE} to ${MAX_PAGE_SIZE}`,
    );
  }
  if (!isU32(header.commit)) {
    fail(`commit ${header.commit} is not an unsigned 32-bit integer`);
  }
  if (!isU64(header.minTxid) || !isU64(header.maxTxid)) {
    fail(
      `TXIDs (${header.minTxid}, ${header.maxTxid}) are not unsigned 64-bit integers`,
    );
  }
  if (header.minTxid === 0n) fail("minimum TXID is zero; it is required");
  if (header.maxTxid === 0n) fail("maximum TXID is zero; it is required");
  if (header.minTxid > header.maxTxid) {
    fail(
      `TXIDs out of order: minimum ${header.minTxid} is above maximum ${header.maxTxid}`,
    );
  }
  if (!Number.isSafeInteger(header.timestamp)) {
    fail(`timestamp ${header.timestamp} is not a safe integer`);
  }
  for (const field of ["walOffset", "walSize"] as const) {
    const value = header[field];
    if (typeof value !== "bigint" || value > MAX_I64) {
      fail(`${field} ${value} is not a signed 64-bit integer`);
    }
    if (value < 0n) fail(`${field} ${value} is negative`);
  }
  if (!isU32(header.walSalt1) || !isU32(header.walSalt2)) {
    fail(
      `WAL salts (${header.walSalt1}, ${header.walSalt2}) are not unsigned 32-bit integers`,
    );
  }
  if (
    (header.walSalt1 !== 0 || header.walSalt2 !== 0) && header.walOffset === 0n
  ) {
    fail("walOffset is zero but a WAL salt is set; a WAL offset is required");
  }
  if (header.walOffset === 0n && header.walSize !== 0n) {
    fail(
      `walOffset is zero but walSize is ${header.walSize}; a WAL offset is required`,
    );
  }
  if (!isU64(header.nodeId)) {
    fail(`nodeId ${header.nodeId} is not an unsigned 64-bit integer`);
  }
  const pre = header.preApplyChecksum;
  if (!isU64(pre)) {
    fail(`pre-apply checksum ${pre} is not an unsigned 64-bit integer`);
  }
  if (isSnapshot(header)) {
    if (pre !== 0n) {
      fail(
        `pre-apply checksum is ${hex64(pre)}; it must be zero on a snapshot`,
      );
    }
  } else if (hasNoChecksum(header)) {
    if (pre !== 0n) {
      fail(
        `pre-apply checksum is ${
          hex64(pre)
        }; it must be zero when checksums are not tracked`,
      );
    }
  } else if (pre === 0n) {
    fail("pre-apply checksum is zero; it is required on a non-snapshot file");
  } else if ((pre & CHECKSUM_FLAG) === 0n) {
    fail(`pre-apply checksum ${hex64(pre)} lacks its flag bit (bit 63)`);
  }
}

function hex32(v: number): string {
  return Number.isInteger(v) && v >= 0
    ? `0x${v.toString(16).padStart(8, "0")}`
    : String(v);
}

function hex64(v: bigint): string {
  return `"${v.toString(16).padStart(16, "0")}"`;
}
