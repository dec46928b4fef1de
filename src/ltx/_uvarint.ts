/**
 * Go `encoding/binary` Uvarint (unsigned LEB128) for the page index. Values are
 * handled with arithmetic, never 32-bit bitwise operators, so offsets past
 * 2 GiB survive; values above `Number.MAX_SAFE_INTEGER` are reported as such
 * by the reader and refused by the writer.
 *
 * @module
 */

/** Longest Uvarint of a 64-bit value, in bytes (Go `MaxVarintLen64`). */
export const MAX_UVARINT_LENGTH = 10;

/** Returns how many bytes the Uvarint of `value` takes. */
export function uvarintLength(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    n++;
  }
  return n;
}

/**
 * Writes the Uvarint of `value` at `pos` in `out`.
 *
 * @returns The position after the last byte written.
 * @throws {RangeError} If `value` is not a safe non-negative integer.
 */
export function writeUvarint(
  out: Uint8Array,
  pos: number,
  value: number,
): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot encode Uvarint: ${value} is not a safe non-negative integer`,
    );
  }
  while (value >= 0x80) {
    out[pos++] = (value % 0x80) + 0x80;
    value = Math.floor(value / 0x80);
  }
  out[pos++] = value;
  return pos;
}

/** Result of {@linkcode readUvarint}. */
export interface UvarintResult {
  /** The value; above `Number.MAX_SAFE_INTEGER` it is approximate. */
  value: number;
  /**
   * Bytes consumed; 0 if `bytes` ends before the value does; -1 if the value
   * overflows 64 bits (as Go's `ReadUvarint` refuses it).
   */
  length: number;
}

/** Reads a Uvarint at `pos` in `bytes`, never past `end`. */
export function readUvarint(
  bytes: Uint8Array,
  pos: number,
  end: number = bytes.length,
): UvarintResult {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_UVARINT_LENGTH; i++) {
    if (pos + i >= end) return { value: 0, length: 0 };
    const b = bytes[pos + i];
    if (b < 0x80) {
      if (i === MAX_UVARINT_LENGTH - 1 && b > 1) {
        return { value: 0, length: -1 };
      }
      return { value: value + b * scale, length: i + 1 };
    }
    value += (b - 0x80) * scale;
    scale *= 0x80;
  }
  return { value: 0, length: -1 };
}
