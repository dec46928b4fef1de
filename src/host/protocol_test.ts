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
import {
  SQLITE_CORRUPT,
  SQLITE_IOERR_READ,
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
  ];
  for (const request of requests) {
    assert.deepEqual(decodeRequest(body(encodeRequest(request))), request);
  }
});

Deno.test("encodeAnswer() and decodeAnswer() round-trip results and failures", () => {
  const pages = new Uint8Array(2 * 512).map((_, i) => i & 0xff);
  const answers: [Op, Answer<Op>][] = [
    ["open", { code: 0, id: 9, pageSize: 65536 }],
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
