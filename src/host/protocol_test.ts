import assert from "node:assert/strict";
import {
  type Answer,
  decodeAnswer,
  decodeRequest,
  encodeAnswer,
  encodeRequest,
  FRAME_HEADER_SIZE,
  type Op,
  type Request,
} from "./protocol.ts";
import { OPEN_WRITABLE } from "../vfs/port_files.ts";
import {
  SQLITE_BUSY,
  SQLITE_CORRUPT,
  SQLITE_IOERR_FSYNC,
  SQLITE_IOERR_READ,
  SQLITE_LOCK_EXCLUSIVE,
  SQLITE_LOCK_RESERVED,
  SQLITE_LOCK_SHARED,
  SQLITE_NOTFOUND,
} from "../sqlite/constants.ts";

function body(message: Uint8Array): Uint8Array {
  const length = new DataView(message.buffer, message.byteOffset)
    .getUint32(0, true);
  assert.equal(length, message.length - FRAME_HEADER_SIZE);
  return message.subarray(FRAME_HEADER_SIZE);
}

Deno.test("encodeRequest() and decodeRequest() round-trip every operation", () => {
  const requests: Request[] = [
    {
      op: "open",
      name: "/tmp/ünïcode.db",
      params: new TextEncoder().encode("vfs\0litestream\0"),
    },
    { op: "open", name: "", params: new Uint8Array() },
    { op: "close", id: 7, stats: [1n, 2n, 0xffff_ffff_ffff_ffffn] },
    { op: "close", id: 7, stats: [] },
    { op: "beginRead", id: 0x7fff_ffff },
    { op: "endRead", id: 1 },
    { op: "fileSize", id: 2 },
    { op: "readPages", id: 3, pgno: 0xffff_fffe, max: 64 },
    { op: "pragma", id: 4, name: "litestream_time", value: null },
    { op: "pragma", id: 4, name: "litestream_time", value: "" },
    { op: "pragma", id: 4, name: "litestream_time", value: "5 minutes ago" },
    { op: "writeLock", id: 5, level: "shared" },
    { op: "writeLock", id: 5, level: "reserved" },
    { op: "writeLock", id: 5, level: "exclusive" },
    { op: "write", id: 6, offset: 0, data: new Uint8Array([1, 2, 3]) },
    { op: "write", id: 6, offset: 2 ** 40, data: new Uint8Array(65536) },
    { op: "write", id: 6, offset: 4096, data: new Uint8Array() },
    { op: "truncate", id: 7, size: 0 },
    { op: "truncate", id: 7, size: 2 ** 40 + 4096 },
    { op: "commit", id: 8 },
  ];
  for (const request of requests) {
    assert.deepEqual(decodeRequest(body(encodeRequest(request))), request);
  }
});

Deno.test("encodeAnswer() and decodeAnswer() round-trip results and failures", () => {
  const pages = new Uint8Array(2 * 512).map((_, i) => i & 0xff);
  const answers: [Op, Answer<Op>][] = [
    ["open", { code: 0, id: 9, pageSize: 65536, flags: 0 }],
    ["open", { code: 0, id: 9, pageSize: 4096, flags: OPEN_WRITABLE }],
    ["close", { code: 0 }],
    ["beginRead", {
      code: 0,
      version: 0xffff_ffff_ffff_ffffn,
      local: 7,
      size: 123456789,
    }],
    ["endRead", { code: 0 }],
    ["fileSize", { code: 0, size: 2 ** 40 }],
    ["readPages", { code: 0, first: 5, count: 2, pages }],
    ["pragma", { code: 0, result: "0000000000000004" }],
    ["pragma", { code: 0, result: "" }],
    ["pragma", { code: 0, result: null }],
    ["pragma", { code: SQLITE_NOTFOUND, message: "" }],
    ["readPages", { code: SQLITE_IOERR_READ, message: "Cannot read: é" }],
    ["open", { code: SQLITE_CORRUPT, message: "TXID gap" }],
    ["writeLock", { code: 0 }],
    ["writeLock", { code: SQLITE_BUSY, message: "Another writer" }],
    ["write", { code: 0 }],
    ["truncate", { code: 0 }],
    ["commit", { code: 0, version: 0xffff_ffff_ffff_fffen }],
    ["commit", { code: SQLITE_IOERR_FSYNC, message: "fsync: EIO" }],
  ];
  for (const [op, answer] of answers) {
    assert.deepEqual(decodeAnswer(op, body(encodeAnswer(op, answer))), answer);
  }
});

Deno.test("decodeRequest() rejects unknown operations, short and long bodies", () => {
  assert.throws(
    () => decodeRequest(new Uint8Array([99])),
    /unknown operation 99/,
  );
  assert.throws(
    () => decodeRequest(new Uint8Array([3, 1, 0])),
    /id runs past the end of the 3-byte body/,
  );
  assert.throws(
    () => decodeRequest(new Uint8Array([4, 1, 0, 0, 0, 0])),
    /1 bytes left over/,
  );
  assert.throws(
    () => decodeRequest(new Uint8Array([1, 200, 0, 0, 0, 65])),
    /name runs past the end/,
  );
});

Deno.test("encodeRequest() lays write-mode requests out as the shim does", () => {
  // write_lock: u32 id, u32 lock, SQLite's numbers.
  for (
    const [level, code] of [
      ["shared", SQLITE_LOCK_SHARED],
      ["reserved", SQLITE_LOCK_RESERVED],
      ["exclusive", SQLITE_LOCK_EXCLUSIVE],
    ] as const
  ) {
    assert.deepEqual(
      [...body(encodeRequest({ op: "writeLock", id: 3, level }))],
      [9, 3, 0, 0, 0, code, 0, 0, 0],
    );
  }
  // write: u32 id, i64 offset, the bytes to the end.
  assert.deepEqual(
    [...body(encodeRequest({
      op: "write",
      id: 3,
      offset: 0x1_0000_0200,
      data: new Uint8Array([0xaa, 0xbb]),
    }))],
    [10, 3, 0, 0, 0, 0, 2, 0, 0, 1, 0, 0, 0, 0xaa, 0xbb],
  );
  // truncate: u32 id, i64 size.
  assert.deepEqual(
    [...body(encodeRequest({ op: "truncate", id: 3, size: 1024 }))],
    [11, 3, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0],
  );
  assert.deepEqual(
    [...body(encodeRequest({ op: "commit", id: 3 }))],
    [12, 3, 0, 0, 0],
  );
});

Deno.test("encodeAnswer() lays the open and commit answers out as the shim reads them", () => {
  assert.deepEqual(
    [...body(encodeAnswer("open", {
      code: 0,
      id: 2,
      pageSize: 4096,
      flags: OPEN_WRITABLE,
    }))],
    [0, 0, 0, 0, 2, 0, 0, 0, 0, 16, 0, 0, 1, 0, 0, 0],
  );
  assert.deepEqual(
    [...body(encodeAnswer("commit", { code: 0, version: 0x0102n }))],
    [0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0],
  );
});

Deno.test("decodeRequest() rejects malformed write-mode requests", () => {
  assert.throws(
    () => decodeRequest(new Uint8Array([9, 1, 0, 0, 0, 3, 0, 0, 0])),
    /unknown lock 3/,
  );
  assert.throws(
    () => decodeRequest(new Uint8Array([9, 1, 0, 0, 0, 2, 0])),
    /lock runs past the end of the 7-byte body/,
  );
  assert.throws(
    () => decodeRequest(new Uint8Array([10, 1, 0, 0, 0, 0, 0, 0, 0])),
    /offset runs past the end/,
  );
  assert.throws(
    () => decodeRequest(new Uint8Array([11, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
    /size runs past the end/,
  );
  assert.throws(
    () =>
      decodeRequest(
        new Uint8Array([11, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
      ),
    /1 bytes left over/,
  );
  assert.throws(
    () => decodeRequest(new Uint8Array([12, 1, 0, 0, 0, 0])),
    /1 bytes left over/,
  );
});

Deno.test("decodeAnswer() rejects short open and commit answers", () => {
  // An open answer without its flags (the shim before write mode).
  assert.throws(
    () =>
      decodeAnswer(
        "open",
        new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0, 0, 16, 0, 0]),
      ),
    /flags runs past the end/,
  );
  assert.throws(
    () => decodeAnswer("commit", new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0])),
    /version runs past the end/,
  );
});
