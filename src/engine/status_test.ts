import assert from "node:assert/strict";
import { formatStatus, parseStatus, type ReplicaStatus } from "./status.ts";

Deno.test("formatStatus() writes snake_case JSON that parseStatus() reads back", () => {
  const status = {
    replica: "file:///r",
    txid: "0000000000000003",
    pollError: null,
    cacheHits: 4,
    bytesFetched: 10,
  } as unknown as ReplicaStatus;
  const text = formatStatus(status);
  assert.deepEqual(Object.keys(JSON.parse(text)), [
    "replica",
    "txid",
    "poll_error",
    "cache_hits",
    "bytes_fetched",
  ]);
  assert.deepEqual(parseStatus(text), status);
});
