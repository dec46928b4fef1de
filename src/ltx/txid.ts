/**
 * Transaction IDs in the fixed 16-digit hexadecimal form LTX file names use,
 * and the replica-relative paths of LTX files (`ltx/<level>/<min>-<max>.ltx`).
 * Storage backends join these paths to their own root.
 *
 * @module
 */

import { SNAPSHOT_LEVEL } from "./constants.ts";

const MAX_U64 = 0xffffffffffffffffn;
const TXID_PATTERN = /^[0-9a-f]{16}$/;
const FILE_NAME_PATTERN = /^([0-9a-f]{16})-([0-9a-f]{16})\.ltx$/;

/**
 * Formats a transaction ID as LTX does: 16 lowercase hexadecimal digits.
 *
 * @param txid The transaction ID, an unsigned 64-bit integer.
 * @returns The formatted transaction ID.
 * @throws {RangeError} If `txid` is not an unsigned 64-bit integer.
 *
 * @example Usage
 * ```ts
 * import { formatTxid } from "./txid.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatTxid(255n), "00000000000000ff");
 * ```
 */
export function formatTxid(txid: bigint): string {
  if (typeof txid !== "bigint" || txid < 0n || txid > MAX_U64) {
    throw new RangeError(
      `Cannot format TXID ${txid}: it is not an unsigned 64-bit integer`,
    );
  }
  return txid.toString(16).padStart(16, "0");
}

/**
 * Parses a transaction ID written as exactly 16 lowercase hexadecimal digits.
 *
 * @param s The formatted transaction ID.
 * @returns The transaction ID.
 * @throws {SyntaxError} If `s` is not exactly 16 lowercase hexadecimal digits.
 *
 * @example Usage
 * ```ts
 * import { parseTxid } from "./txid.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseTxid("00000000000000ff"), 255n);
 * assert.throws(() => parseTxid("ff"), SyntaxError);
 * ```
 */
export function parseTxid(s: string): bigint {
  if (!TXID_PATTERN.test(s)) {
    throw new SyntaxError(
      `Cannot parse TXID "${s}": expected 16 lowercase hexadecimal digits`,
    );
  }
  return BigInt(`0x${s}`);
}

/**
 * Formats the name of the LTX file holding a TXID range:
 * `<min>-<max>.ltx`, each TXID in 16 hexadecimal digits.
 *
 * @param minTxid The first transaction ID in the file.
 * @param maxTxid The last transaction ID in the file.
 * @returns The file name.
 * @throws {RangeError} If a TXID is not an unsigned 64-bit integer.
 *
 * @example Usage
 * ```ts
 * import { formatFileName } from "./txid.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatFileName(1n, 2n), "0000000000000001-0000000000000002.ltx");
 * ```
 */
export function formatFileName(minTxid: bigint, maxTxid: bigint): string {
  return `${formatTxid(minTxid)}-${formatTxid(maxTxid)}.ltx`;
}

/**
 * Parses an LTX file name (`<min>-<max>.ltx`, lowercase hexadecimal, as
 * ltx `ParseFilename` accepts it). Directory parts are not accepted.
 *
 * @param name The file name.
 * @returns The TXID range, or `undefined` if `name` is not an LTX file name.
 *
 * @example Usage
 * ```ts
 * import { parseFileName } from "./txid.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseFileName("0000000000000001-0000000000000002.ltx"), {
 *   minTxid: 1n,
 *   maxTxid: 2n,
 * });
 * assert.equal(parseFileName("notes.txt"), undefined);
 * ```
 */
export function parseFileName(
  name: string,
): { minTxid: bigint; maxTxid: bigint } | undefined {
  const match = FILE_NAME_PATTERN.exec(name);
  if (match === null) return undefined;
  return { minTxid: BigInt(`0x${match[1]}`), maxTxid: BigInt(`0x${match[2]}`) };
}

/**
 * Returns the replica-relative directory of one compaction level:
 * `ltx/<level>`.
 *
 * @param level The level, 0 to {@linkcode SNAPSHOT_LEVEL}.
 * @returns The directory path.
 * @throws {RangeError} If `level` is not an integer from 0 to 9.
 *
 * @example Usage
 * ```ts
 * import { ltxDir } from "./txid.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(ltxDir(9), "ltx/9");
 * ```
 */
export function ltxDir(level: number): string {
  if (!Number.isInteger(level) || level < 0 || level > SNAPSHOT_LEVEL) {
    throw new RangeError(
      `Cannot name LTX directory: level ${level} is not an integer from 0 to ${SNAPSHOT_LEVEL}`,
    );
  }
  return `ltx/${level}`;
}

/**
 * Returns the replica-relative path of an LTX file:
 * `ltx/<level>/<min>-<max>.ltx`.
 *
 * @param level The level, 0 to {@linkcode SNAPSHOT_LEVEL}.
 * @param minTxid The first transaction ID in the file.
 * @param maxTxid The last transaction ID in the file.
 * @returns The file path.
 * @throws {RangeError} If the level or a TXID is out of range.
 *
 * @example Usage
 * ```ts
 * import { ltxPath } from "./txid.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(ltxPath(0, 3n, 3n), "ltx/0/0000000000000003-0000000000000003.ltx");
 * ```
 */
export function ltxPath(
  level: number,
  minTxid: bigint,
  maxTxid: bigint,
): string {
  return `${ltxDir(level)}/${formatFileName(minTxid, maxTxid)}`;
}
