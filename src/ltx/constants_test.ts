import assert from "node:assert/strict";
import {
  CHECKSUM_SIZE,
  HEADER_FLAG_MASK,
  HEADER_FLAG_NO_CHECKSUM,
  HEADER_SIZE,
  INDEX_SIZE_FIELD_SIZE,
  MAGIC,
  MAX_PAGE_SIZE,
  MIN_PAGE_SIZE,
  PAGE_HEADER_FLAG_MASK,
  PAGE_HEADER_FLAG_SIZE,
  PAGE_HEADER_SIZE,
  SIZE_PREFIX_SIZE,
  SNAPSHOT_LEVEL,
  TRAILER_CHECKSUM_OFFSET,
  TRAILER_SIZE,
} from "./constants.ts";

Deno.test("constants match the LTX v3 specification", () => {
  assert.equal(MAGIC, "LTX1");
  assert.equal(HEADER_SIZE, 100);
  assert.equal(PAGE_HEADER_SIZE, 6);
  assert.equal(SIZE_PREFIX_SIZE, 4);
  assert.equal(CHECKSUM_SIZE, 8);
  assert.equal(TRAILER_SIZE, 16);
  assert.equal(TRAILER_CHECKSUM_OFFSET, 8);
  assert.equal(INDEX_SIZE_FIELD_SIZE, 8);
  assert.equal(HEADER_FLAG_NO_CHECKSUM, 1 << 1);
  assert.equal(HEADER_FLAG_MASK, 0x2);
  assert.equal(PAGE_HEADER_FLAG_SIZE, 1 << 0);
  assert.equal(PAGE_HEADER_FLAG_MASK, 0x1);
  assert.equal(SNAPSHOT_LEVEL, 9);
  assert.equal(MIN_PAGE_SIZE, 512);
  assert.equal(MAX_PAGE_SIZE, 65536);
});
