/**
 * xxHash32, the checksum of the LZ4 frame format (header, block and content
 * checksums), written from the xxHash specification.
 *
 * @module
 */

const PRIME_1 = 0x9e3779b1;
const PRIME_2 = 0x85ebca77;
const PRIME_3 = 0xc2b2ae3d;
const PRIME_4 = 0x27d4eb2f;
const PRIME_5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function readU32(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, PRIME_2)) | 0, 13), PRIME_1);
}

/**
 * Computes the xxHash32 of `bytes[start, end)`.
 *
 * @param bytes The input.
 * @param seed The seed, an unsigned 32-bit integer.
 * @param start The first byte to hash.
 * @param end One past the last byte to hash.
 * @returns The hash, an unsigned 32-bit integer.
 *
 * @example Usage
 * ```ts
 * import { xxhash32 } from "./_xxhash32.ts";
 * import assert from "node:assert/strict";
 *
 * const abc = new TextEncoder().encode("abc");
 * assert.equal(xxhash32(abc, 0, 0, abc.length), 0x32d153ff);
 * ```
 */
export function xxhash32(
  bytes: Uint8Array,
  seed: number,
  start: number,
  end: number,
): number {
  let i = start;
  let acc: number;
  if (end - start >= 16) {
    let v1 = (seed + PRIME_1 + PRIME_2) | 0;
    let v2 = (seed + PRIME_2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME_1) | 0;
    const limit = end - 16;
    while (i <= limit) {
      v1 = round(v1, readU32(bytes, i));
      v2 = round(v2, readU32(bytes, i + 4));
      v3 = round(v3, readU32(bytes, i + 8));
      v4 = round(v4, readU32(bytes, i + 12));
      i += 16;
    }
    acc = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    acc = (seed + PRIME_5) | 0;
  }
  acc = (acc + (end - start)) | 0;
  while (i + 4 <= end) {
    acc = Math.imul(
      rotl((acc + Math.imul(readU32(bytes, i), PRIME_3)) | 0, 17),
      PRIME_4,
    );
    i += 4;
  }
  while (i < end) {
    acc = Math.imul(
      rotl((acc + Math.imul(bytes[i], PRIME_5)) | 0, 11),
      PRIME_1,
    );
    i++;
  }
  acc = Math.imul(acc ^ (acc >>> 15), PRIME_2);
  acc = Math.imul(acc ^ (acc >>> 13), PRIME_3);
  return (acc ^ (acc >>> 16)) >>> 0;
}
