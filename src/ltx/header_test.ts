import assert from "node:assert/strict";
import { CHECKSUM_FLAG } from "./checksum.ts";
import { InvalidHeaderError, TruncatedFileError } from "./errors.ts";
import {
  decodeHeader,
  encodeHeader,
  hasNoChecksum,
  type Header,
  isSnapshot,
  isValidPageSize,
  validateHeader,
} from "./header.ts";
import { assertLtxError, makeHeader } from "./_test_util.ts";

const FILE = "ltx/0/0000000000000002-0000000000000002.ltx";

Deno.test("encodeHeader() lays the fields out as the spec table says", () => {
  const header: Header = {
    flags: 0x2,
    pageSize: 4096,
    commit: 0x01020304,
    minTxid: 0x1112131415161718n,
    maxTxid: 0x2122232425262728n,
    timestamp: 1_700_000_000_123,
    preApplyChecksum: 0n,
    walOffset: 0x3132333435363738n,
    walSize: 0x4142434445464748n,
    walSalt1: 0x51525354,
    walSalt2: 0x61626364,
    nodeId: 0x7172737475767778n,
  };
  const bytes = encodeHeader(header);
  const view = new DataView(bytes.buffer);
  assert.equal(bytes.length, 100);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "LTX1");
  assert.equal(view.getUint32(4), 0x2);
  assert.equal(view.getUint32(8), 4096);
  assert.equal(view.getUint32(12), 0x01020304);
  assert.equal(view.getBigUint64(16), 0x1112131415161718n);
  assert.equal(view.getBigUint64(24), 0x2122232425262728n);
  assert.equal(view.getBigInt64(32), 1_700_000_000_123n);
  assert.equal(view.getBigUint64(40), 0n);
  assert.equal(view.getBigUint64(48), 0x3132333435363738n);
  assert.equal(view.getBigUint64(56), 0x4142434445464748n);
  assert.equal(view.getUint32(64), 0x51525354);
  assert.equal(view.getUint32(68), 0x61626364);
  assert.equal(view.getBigUint64(72), 0x7172737475767778n);
  assert.deepEqual(bytes.subarray(80), new Uint8Array(20));
  assert.deepEqual(decodeHeader(bytes, FILE), header);
});

Deno.test("encodeHeader() rejects values that do not fit their field", () => {
  for (
    const overrides of [
      { flags: -1 },
      { pageSize: 2 ** 32 },
      { commit: 1.5 },
      { minTxid: 1n << 64n },
      { timestamp: 2 ** 60 },
      { walOffset: 1n << 63n },
      { walSalt1: -5 },
      { nodeId: -1n },
    ]
  ) {
    assert.throws(() => encodeHeader(makeHeader(overrides)), RangeError);
  }
});

Deno.test("decodeHeader() reads a header at the start of a longer buffer", () => {
  const header = makeHeader({ minTxid: 5n, maxTxid: 9n, timestamp: -1 });
  const bytes = new Uint8Array(300);
  bytes.set(encodeHeader(header), 0);
  assert.deepEqual(decodeHeader(bytes.subarray(0, 200), FILE), header);
});

Deno.test("decodeHeader() rejects a short buffer", () => {
  const bytes = encodeHeader(makeHeader());
  const err = assertLtxError(
    () => decodeHeader(bytes.subarray(0, 40), FILE),
    TruncatedFileError,
    FILE,
  );
  assert.equal(
    err.message,
    `Truncated LTX file "${FILE}": expected 100 header bytes, found 40`,
  );
});

Deno.test("decodeHeader() rejects a wrong magic number", () => {
  const bytes = encodeHeader(makeHeader());
  bytes[3] = 0x32;
  assertLtxError(
    () => decodeHeader(bytes, FILE),
    InvalidHeaderError,
    FILE,
    'expected magic "LTX1", found "LTX2"',
  );
  bytes.set([0, 1, 2, 3]);
  assertLtxError(
    () => decodeHeader(bytes, FILE),
    InvalidHeaderError,
    FILE,
    "found 0x00010203",
  );
});

Deno.test("decodeHeader() rejects a timestamp beyond a safe integer", () => {
  const bytes = encodeHeader(makeHeader());
  new DataView(bytes.buffer).setBigInt64(32, 1n << 60n);
  assertLtxError(() => decodeHeader(bytes, FILE), InvalidHeaderError, FILE);
});

Deno.test("isSnapshot() is true for files starting at TXID 1", () => {
  assert.equal(isSnapshot(makeHeader({ minTxid: 1n, maxTxid: 7n })), true);
  assert.equal(isSnapshot(makeHeader({ minTxid: 2n, maxTxid: 7n })), false);
});

Deno.test("hasNoChecksum() reads flag 0x2", () => {
  assert.equal(hasNoChecksum(makeHeader({ flags: 0x2 })), true);
  assert.equal(hasNoChecksum(makeHeader({ flags: 0 })), false);
});

Deno.test("isValidPageSize() accepts powers of two from 512 to 65536", () => {
  const valid = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];
  for (const size of valid) assert.equal(isValidPageSize(size), true);
  for (const size of [0, 256, 511, 513, 1000, 4095, 131072, -4096, 4096.5]) {
    assert.equal(isValidPageSize(size), false, String(size));
  }
});

Deno.test("validateHeader() accepts valid headers", () => {
  const good: Partial<Header>[] = [
    {},
    { flags: 0x2 },
    { minTxid: 1n, maxTxid: 100n },
    { minTxid: 2n, maxTxid: 3n, preApplyChecksum: CHECKSUM_FLAG | 5n },
    { minTxid: 2n, maxTxid: 3n, flags: 0x2 },
    { walOffset: 32n, walSize: 4096n, walSalt1: 1, walSalt2: 2 },
    { commit: 0 },
    { nodeId: 0xffffffffffffffffn, timestamp: -5 },
  ];
  for (const overrides of good) validateHeader(makeHeader(overrides), FILE);
});

Deno.test("validateHeader() rejects each rule ltx.go Header.Validate checks", () => {
  const bad: [Partial<Header>, string][] = [
    [{ flags: 0x1 }, "flags 0x00000001"],
    [{ flags: 0x80000002 }, "flags 0x80000002"],
    [{ pageSize: 1000 }, "page size 1000"],
    [{ pageSize: 256 }, "page size 256"],
    [{ pageSize: 131072 }, "page size 131072"],
    [{ minTxid: 0n }, "minimum TXID is zero"],
    [{ maxTxid: 0n }, "maximum TXID is zero"],
    [{ minTxid: 3n, maxTxid: 2n }, "TXIDs out of order"],
    [{ walOffset: -1n }, "walOffset -1 is negative"],
    [{ walOffset: 8n, walSize: -1n }, "walSize -1 is negative"],
    [{ walSalt1: 1 }, "a WAL salt is set"],
    [{ walSalt2: 1 }, "a WAL salt is set"],
    [{ walSize: 4096n }, "walSize is 4096"],
    [{ preApplyChecksum: CHECKSUM_FLAG | 1n }, "must be zero on a snapshot"],
    [
      { minTxid: 2n, maxTxid: 2n, flags: 0x2, preApplyChecksum: CHECKSUM_FLAG },
      "must be zero when checksums are not tracked",
    ],
    [{ minTxid: 2n, maxTxid: 2n }, "pre-apply checksum is zero"],
    [{ minTxid: 2n, maxTxid: 2n, preApplyChecksum: 5n }, "lacks its flag bit"],
    [{ commit: -1 }, "commit -1"],
    [{ minTxid: 1n << 64n, maxTxid: 1n << 64n }, "not unsigned 64-bit"],
    [{ timestamp: 0.5 }, "timestamp 0.5"],
    [{ nodeId: -1n }, "nodeId -1"],
  ];
  for (const [overrides, includes] of bad) {
    assertLtxError(
      () => validateHeader(makeHeader(overrides), FILE),
      InvalidHeaderError,
      FILE,
      includes,
    );
  }
});
