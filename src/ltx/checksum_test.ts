import assert from "node:assert/strict";
import {
  CHECKSUM_FLAG,
  Crc64,
  crc64,
  databaseChecksum,
  formatChecksum,
  lockPgno,
  pageChecksum,
  parseChecksum,
} from "./checksum.ts";

const CHECK_INPUT = new TextEncoder().encode("123456789");
const CHECK_VALUE = 0xb90956c775a41001n;

/** CRC-64/ISO one bit at a time, on bigints: slow and obviously right. */
function referenceCrc64(bytes: Uint8Array): bigint {
  const mask = (1n << 64n) - 1n;
  let crc = mask;
  for (const byte of bytes) {
    crc ^= BigInt(byte);
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 1n ? (crc >> 1n) ^ 0xd800000000000000n : crc >> 1n;
    }
  }
  return crc ^ mask;
}

function randomBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x;
  }
  return bytes;
}

function bigEndianPgno(pgno: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, pgno);
  return bytes;
}

Deno.test("crc64() gives the CRC-64/GO-ISO check value", () => {
  assert.equal(crc64(CHECK_INPUT), CHECK_VALUE);
  assert.equal(referenceCrc64(CHECK_INPUT), CHECK_VALUE);
});

Deno.test("crc64() of no bytes is 0", () => {
  assert.equal(crc64(new Uint8Array()), 0n);
});

Deno.test("crc64() matches a bit-by-bit reference on random input", () => {
  const lengths = [1, 2, 7, 8, 9, 15, 16, 17, 63, 100, 511, 4096, 4100];
  for (const [i, length] of lengths.entries()) {
    const bytes = randomBytes(length, i + 1);
    assert.equal(crc64(bytes), referenceCrc64(bytes), `length ${length}`);
  }
  const big = randomBytes(70_000, 99);
  assert.equal(crc64(big), referenceCrc64(big));
});

Deno.test("crc64() reads only the view it is given", () => {
  const bytes = randomBytes(200, 7);
  for (const [start, end] of [[1, 200], [3, 131], [5, 6], [7, 7]]) {
    const view = bytes.subarray(start, end);
    assert.equal(crc64(view), referenceCrc64(bytes.slice(start, end)));
  }
});

Deno.test("Crc64.update() in pieces equals one call", () => {
  const bytes = randomBytes(1000, 3);
  for (const cut of [0, 1, 5, 8, 13, 999, 1000]) {
    const crc = new Crc64()
      .update(bytes.subarray(0, cut))
      .update(bytes.subarray(cut));
    assert.equal(crc.digest(), crc64(bytes), `cut at ${cut}`);
  }
  const crc = new Crc64();
  for (const byte of CHECK_INPUT) crc.update(new Uint8Array([byte]));
  assert.equal(crc.digest(), CHECK_VALUE);
});

Deno.test("Crc64.digest() does not end the CRC", () => {
  const crc = new Crc64().update(CHECK_INPUT.subarray(0, 4));
  crc.digest();
  crc.update(CHECK_INPUT.subarray(4));
  assert.equal(crc.digest(), CHECK_VALUE);
  assert.equal(crc.digest(), CHECK_VALUE);
});

Deno.test("Crc64.reset() starts over", () => {
  const crc = new Crc64().update(randomBytes(50, 5));
  crc.reset();
  assert.equal(crc.digest(), 0n);
  assert.equal(crc.update(CHECK_INPUT).digest(), CHECK_VALUE);
});

Deno.test("pageChecksum() is the flagged CRC of the big-endian pgno and page", () => {
  const page = randomBytes(4096, 11);
  for (const pgno of [0, 1, 2, 255, 256, 0x12345678, 0xffffffff]) {
    const input = new Uint8Array(4 + page.length);
    input.set(bigEndianPgno(pgno));
    input.set(page, 4);
    assert.equal(
      pageChecksum(pgno, page),
      referenceCrc64(input) | CHECKSUM_FLAG,
      `pgno ${pgno}`,
    );
  }
});

Deno.test("pageChecksum() rejects a page number that is not a u32", () => {
  for (const pgno of [-1, 1.5, 2 ** 32, NaN]) {
    assert.throws(() => pageChecksum(pgno, new Uint8Array(512)), RangeError);
  }
});

Deno.test("lockPgno() gives the page holding byte 0x40000000", () => {
  assert.equal(lockPgno(512), 2097153);
  assert.equal(lockPgno(1024), 1048577);
  assert.equal(lockPgno(4096), 262145);
  assert.equal(lockPgno(65536), 16385);
  assert.throws(() => lockPgno(0), RangeError);
});

Deno.test("databaseChecksum() XORs page checksums and sets the flag", () => {
  const pageSize = 512;
  const pages: [number, Uint8Array][] = [1, 2, 3, 4].map((
    pgno,
  ) => [pgno, randomBytes(pageSize, pgno)]);
  for (let n = 1; n <= pages.length; n++) {
    let want = 0n;
    for (const [pgno, page] of pages.slice(0, n)) {
      want = CHECKSUM_FLAG | (want ^ pageChecksum(pgno, page));
    }
    assert.equal(databaseChecksum(pages.slice(0, n), pageSize), want, `${n}`);
  }
});

Deno.test("databaseChecksum() does not depend on page order", () => {
  const pages: [number, Uint8Array][] = [5, 1, 3].map((
    pgno,
  ) => [pgno, randomBytes(1024, pgno)]);
  assert.equal(
    databaseChecksum(pages, 1024),
    databaseChecksum([...pages].reverse(), 1024),
  );
});

Deno.test("databaseChecksum() leaves out the lock page", () => {
  const pageSize = 65536;
  const lock = lockPgno(pageSize);
  const before = randomBytes(pageSize, 1);
  const after = randomBytes(pageSize, 2);
  const withLock = databaseChecksum(
    [[lock - 1, before], [lock, randomBytes(pageSize, 3)], [lock + 1, after]],
    pageSize,
  );
  assert.equal(
    withLock,
    databaseChecksum([[lock - 1, before], [lock + 1, after]], pageSize),
  );
});

Deno.test("databaseChecksum() of no pages is 0", () => {
  assert.equal(databaseChecksum([], 4096), 0n);
});

Deno.test("databaseChecksum() accepts any iterable", () => {
  const page = randomBytes(512, 9);
  function* pages(): Generator<readonly [number, Uint8Array]> {
    yield [1, page];
  }
  assert.equal(databaseChecksum(pages(), 512), pageChecksum(1, page));
  assert.equal(
    databaseChecksum(new Map([[1, page]]), 512),
    pageChecksum(1, page),
  );
});

Deno.test("databaseChecksum() rejects a page of the wrong size", () => {
  assert.throws(
    () => databaseChecksum([[1, new Uint8Array(512)]], 4096),
    { name: "RangeError", message: /page 1: it has 512 bytes, expected 4096/ },
  );
});

Deno.test("formatChecksum() writes 16 lowercase hex digits", () => {
  assert.equal(formatChecksum(0n), "0000000000000000");
  assert.equal(formatChecksum(CHECK_VALUE), "b90956c775a41001");
  assert.equal(formatChecksum(0xffffffffffffffffn), "ffffffffffffffff");
  assert.equal(formatChecksum(CHECKSUM_FLAG | 0xabn), "80000000000000ab");
  assert.throws(() => formatChecksum(-1n), RangeError);
  assert.throws(() => formatChecksum(1n << 64n), RangeError);
});

Deno.test("parseChecksum() reads what formatChecksum() writes", () => {
  for (const c of [0n, 1n, CHECK_VALUE, CHECKSUM_FLAG, (1n << 64n) - 1n]) {
    assert.equal(parseChecksum(formatChecksum(c)), c);
  }
});

Deno.test("parseChecksum() rejects anything but 16 lowercase hex digits", () => {
  const bad = [
    "",
    "b90956c775a4100",
    "b90956c775a410011",
    "B90956C775A41001",
    "0xb90956c775a410",
    "b90956c775a4100g",
    " b90956c775a4100",
    "b90956c775a41001\n",
    "-b90956c775a4100",
  ];
  for (const s of bad) {
    assert.throws(
      () => parseChecksum(s),
      { name: "SyntaxError", message: /^Cannot parse checksum/ },
      JSON.stringify(s),
    );
  }
});
