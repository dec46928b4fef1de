import assert from "node:assert/strict";
import { LtxMemoryCache } from "./_ltx_memory_cache.ts";

Deno.test("LtxMemoryCache keeps files by recent use within its byte bound", () => {
  const cache = new LtxMemoryCache(100);
  cache.set("a", new Uint8Array(40));
  cache.set("b", new Uint8Array(40));
  assert.ok(cache.get("a"));
  cache.set("c", new Uint8Array(40));
  assert.deepEqual(
    [cache.has("a"), cache.has("b"), cache.has("c")],
    [true, false, true],
  );
  assert.equal(cache.bytes, 80);
  // Too big to keep at all, and it evicts nothing.
  cache.set("huge", new Uint8Array(101));
  assert.equal(cache.has("huge"), false);
  assert.equal(cache.bytes, 80);
  // Setting a name again replaces it.
  cache.set("a", new Uint8Array(10));
  assert.equal(cache.bytes, 50);
  cache.delete("a");
  assert.equal(cache.bytes, 40);
  cache.clear();
  assert.equal(cache.bytes, 0);
});
