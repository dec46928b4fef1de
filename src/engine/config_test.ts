import assert from "node:assert/strict";
import { parseDuration, resolveConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";

Deno.test("parseDuration() reads Go durations", () => {
  assert.equal(parseDuration("1s", "x"), 1000);
  assert.equal(parseDuration("500ms", "x"), 500);
  assert.equal(parseDuration("1m30s", "x"), 90_000);
  assert.equal(parseDuration("1.5h", "x"), 5_400_000);
  assert.equal(parseDuration("0", "x"), 0);
});

Deno.test("parseDuration() rejects other text, naming the setting", () => {
  for (const text of ["", "1", "s", "1x", "1s junk", "-1s"]) {
    assert.throws(
      () => parseDuration(text, "poll_interval"),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message.startsWith(`Invalid poll_interval "${text}"`),
      text,
    );
  }
});

Deno.test("resolveConfig() prefers URI parameters over the environment", () => {
  const env = new Map([
    ["LITESTREAM_REPLICA_URL", "file:///env"],
    ["LITESTREAM_POLL_INTERVAL", "3s"],
  ]);
  const lookup = (name: string) => env.get(name);
  assert.deepEqual(resolveConfig(new Map(), lookup), {
    replicaUrl: "file:///env",
    pollIntervalMs: 3000,
  });
  assert.deepEqual(
    resolveConfig(
      new Map([["replica_url", "file:///uri"], ["poll_interval", "2s"]]),
      lookup,
    ),
    { replicaUrl: "file:///uri", pollIntervalMs: 2000 },
  );
});

Deno.test("resolveConfig() without a replica URL says where to put one", () => {
  assert.throws(
    () => resolveConfig(new Map(), () => undefined),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message.includes("LITESTREAM_REPLICA_URL"),
  );
});
