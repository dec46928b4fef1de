import assert from "node:assert/strict";
import lz4jsXxh32 from "lz4js/xxh32.js";
import { xxhash32 } from "./_xxhash32.ts";

const encoder = new TextEncoder();

Deno.test("xxhash32() matches published vectors", () => {
  const cases: [string, number, number][] = [
    ["", 0, 0x02cc5d05],
    ["a", 0, 0x550d7456],
    ["abc", 0, 0x32d153ff],
    ["Nobody inspects the spammish repetition", 0, 0xe2293b2f],
  ];
  for (const [text, seed, want] of cases) {
    const bytes = encoder.encode(text);
    assert.equal(xxhash32(bytes, seed, 0, bytes.length), want, text);
  }
});

Deno.test("xxhash32() matches lz4js for every length, seed and offset", () => {
  const bytes = new Uint8Array(300);
  let x = 1;
  for (let i = 0; i < bytes.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  for (const seed of [0, 1, 0x9e3779b1, 0xffffffff]) {
    for (const start of [0, 1, 3]) {
      for (let end = start; end <= 100; end++) {
        assert.equal(
          xxhash32(bytes, seed, start, end),
          lz4jsXxh32.hash(seed, bytes, start, end - start) >>> 0,
          `seed ${seed}, [${start}, ${end})`,
        );
      }
    }
  }
  assert.equal(
    xxhash32(bytes, 0, 0, 300),
    lz4jsXxh32.hash(0, bytes, 0, 300) >>> 0,
  );
});
