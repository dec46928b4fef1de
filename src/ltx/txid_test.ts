import assert from "node:assert/strict";
import {
  formatFileName,
  formatTxid,
  ltxDir,
  ltxPath,
  parseFileName,
  parseTxid,
} from "./txid.ts";

Deno.test("formatTxid() writes 16 lowercase hex digits", () => {
  assert.equal(formatTxid(0n), "0000000000000000");
  assert.equal(formatTxid(0xabcn), "0000000000000abc");
  assert.equal(formatTxid(0xffffffffffffffffn), "ffffffffffffffff");
});

Deno.test("formatTxid() rejects values outside 64 bits", () => {
  assert.throws(() => formatTxid(-1n), RangeError);
  assert.throws(() => formatTxid(1n << 64n), RangeError);
});

Deno.test("parseTxid() round-trips formatTxid()", () => {
  for (const txid of [0n, 1n, 0x123456789abcdefn, 0xffffffffffffffffn]) {
    assert.equal(parseTxid(formatTxid(txid)), txid);
  }
});

Deno.test("parseTxid() is strict", () => {
  for (
    const s of [
      "",
      "1",
      "000000000000001",
      "00000000000000001",
      "000000000000000A",
      "0x00000000000001",
      " 000000000000001",
      "-000000000000001",
      "000000000000000g",
    ]
  ) {
    assert.throws(() => parseTxid(s), SyntaxError, s);
  }
});

Deno.test("formatFileName() joins two TXIDs", () => {
  assert.equal(
    formatFileName(1n, 0x10n),
    "0000000000000001-0000000000000010.ltx",
  );
});

Deno.test("parseFileName() parses LTX file names only", () => {
  assert.deepEqual(parseFileName("00000000000000ab-00000000000000cd.ltx"), {
    minTxid: 0xabn,
    maxTxid: 0xcdn,
  });
  for (
    const name of [
      "00000000000000AB-00000000000000cd.ltx",
      "00000000000000ab-00000000000000cd.ltx.tmp",
      "ltx/0/00000000000000ab-00000000000000cd.ltx",
      "00000000000000ab-00000000000000cd",
      "0000000000000ab-00000000000000cd.ltx",
      "00000000000000ab_00000000000000cd.ltx",
    ]
  ) {
    assert.equal(parseFileName(name), undefined, name);
  }
});

Deno.test("ltxDir() and ltxPath() build replica-relative paths", () => {
  assert.equal(ltxDir(0), "ltx/0");
  assert.equal(ltxDir(9), "ltx/9");
  assert.equal(
    ltxPath(9, 1n, 0x2an),
    "ltx/9/0000000000000001-000000000000002a.ltx",
  );
});

Deno.test("ltxDir() rejects levels outside 0..9", () => {
  for (const level of [-1, 10, 1.5, NaN]) {
    assert.throws(() => ltxDir(level), RangeError);
  }
});
