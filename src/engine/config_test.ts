import assert from "node:assert/strict";
import {
  parseBoolean,
  parseDuration,
  parseLogLevel,
  resolveConfig,
} from "./config.ts";
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
    ["LITESTREAM_LOG_LEVEL", "warn"],
    ["LITESTREAM_LOG_FILE", "/tmp/env.log"],
    ["LITESTREAM_MAX_IN_FLIGHT", "8"],
  ]);
  const lookup = (name: string) => env.get(name);
  const fromEnv = resolveConfig(new Map(), lookup);
  assert.equal(fromEnv.replicaUrl, "file:///env");
  assert.equal(fromEnv.pollIntervalMs, 3000);
  assert.equal(fromEnv.logLevel, "WARN");
  assert.equal(fromEnv.logFile, "/tmp/env.log");
  assert.equal(fromEnv.maxInFlight, 8);
  const fromUri = resolveConfig(
    new Map([
      ["replica_url", "file:///uri"],
      ["poll_interval", "2s"],
      ["log_level", "DEBUG"],
      ["cache_size", "4096"],
      ["max_in_flight", "64"],
    ]),
    lookup,
  );
  assert.equal(fromUri.maxInFlight, 64);
  assert.equal(fromUri.replicaUrl, "file:///uri");
  assert.equal(fromUri.pollIntervalMs, 2000);
  assert.equal(fromUri.logLevel, "DEBUG");
  assert.equal(fromUri.cacheSize, 4096);
});

Deno.test("resolveConfig() has Litestream's defaults", () => {
  const config = resolveConfig(
    new Map([["replica_url", "file:///r"]]),
    () => undefined,
  );
  assert.deepEqual(config, {
    replicaUrl: "file:///r",
    pollIntervalMs: 1000,
    cacheSize: 10 * 1024 * 1024,
    maxInFlight: 64,
    logLevel: "INFO",
    logFile: undefined,
    writeEnabled: false,
    syncIntervalMs: 1000,
    bufferPath: undefined,
    hydrationEnabled: false,
    hydrationPath: undefined,
    fastPath: true,
    diskCache: undefined,
    diskCacheSize: 1024 * 1024 * 1024,
    verification: "background",
  });
});

Deno.test("resolveConfig() verifies local replicas and hydration by default, not remote ones", () => {
  const verification = (params: Record<string, string>, variable?: string) =>
    resolveConfig(
      new Map(Object.entries(params)),
      (name) => name === "LSVFS_VERIFY" ? variable : undefined,
    ).verification;
  assert.equal(verification({ replica_url: "/var/replica" }), "background");
  assert.equal(verification({ replica_url: "s3://b/db" }), "off");
  assert.equal(
    verification({ replica_url: "s3://b/db", hydration_enabled: "true" }),
    "background",
  );
  assert.equal(verification({ replica_url: "s3://b/db" }, "Strict"), "strict");
  assert.equal(
    verification({ replica_url: "file:///r", verify: "off" }, "strict"),
    "off",
  );
});

Deno.test("resolveConfig() treats an empty variable as unset", () => {
  const env = new Map([
    ["LITESTREAM_REPLICA_URL", "file:///r"],
    ["LITESTREAM_LOG_LEVEL", ""],
    ["LITESTREAM_WRITE_ENABLED", ""],
  ]);
  const config = resolveConfig(new Map(), (name) => env.get(name));
  assert.equal(config.logLevel, "INFO");
  assert.equal(config.writeEnabled, false);
});

function rejects(
  settings: Record<string, string>,
  uri: Record<string, string>,
  pattern: RegExp,
) {
  const env = new Map(Object.entries(settings));
  assert.throws(
    () =>
      resolveConfig(
        new Map(Object.entries({ replica_url: "file:///r", ...uri })),
        (name) => env.get(name),
      ),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.match(error.message, pattern);
      return true;
    },
  );
}

Deno.test("resolveConfig() rejects invalid values, naming the variable or parameter", () => {
  rejects(
    { LITESTREAM_LOG_LEVEL: "LOUD" },
    {},
    /^Invalid LITESTREAM_LOG_LEVEL "LOUD": use DEBUG, INFO, WARN or ERROR$/,
  );
  rejects({}, { log_level: "trace" }, /^Invalid log_level "trace"/);
  rejects(
    {},
    { verify: "paranoid" },
    /^Invalid verify "paranoid": use off, background or strict/,
  );
  rejects(
    { LITESTREAM_POLL_INTERVAL: "soon" },
    {},
    /^Invalid LITESTREAM_POLL_INTERVAL "soon": use a duration/,
  );
  rejects(
    { LITESTREAM_SYNC_INTERVAL: "1 second" },
    {},
    /^Invalid LITESTREAM_SYNC_INTERVAL "1 second"/,
  );
  rejects({}, { sync_interval: "x" }, /^Invalid sync_interval "x"/);
  rejects(
    { LITESTREAM_WRITE_ENABLED: "maybe" },
    {},
    /^Invalid LITESTREAM_WRITE_ENABLED "maybe": use true or false$/,
  );
  rejects(
    { LITESTREAM_HYDRATION_ENABLED: "2" },
    {},
    /^Invalid LITESTREAM_HYDRATION_ENABLED "2"/,
  );
  rejects(
    {},
    { cache_size: "10MB" },
    /^Invalid cache_size "10MB": use a whole number of bytes/,
  );
  rejects({}, { cache_size: "-1" }, /^Invalid cache_size "-1"/);
  rejects(
    { LITESTREAM_MAX_IN_FLIGHT: "0" },
    {},
    /^Invalid LITESTREAM_MAX_IN_FLIGHT "0": use a whole number from 1 to 1024/,
  );
  rejects({}, { max_in_flight: "many" }, /^Invalid max_in_flight "many"/);
});

Deno.test("resolveConfig() reads the write-mode settings, naming a bad one", () => {
  const env = new Map([
    ["LITESTREAM_WRITE_ENABLED", "true"],
    ["LITESTREAM_SYNC_INTERVAL", "250ms"],
    ["LITESTREAM_BUFFER_PATH", "/tmp/buf"],
  ]);
  const config = resolveConfig(
    new Map([["replica_url", "file:///r"]]),
    (name) => env.get(name),
  );
  assert.equal(config.writeEnabled, true);
  assert.equal(config.syncIntervalMs, 250);
  assert.equal(config.bufferPath, "/tmp/buf");
  // A URI parameter wins over the environment.
  const off = resolveConfig(
    new Map([["replica_url", "file:///r"], ["write_enabled", "0"]]),
    (name) => env.get(name),
  );
  assert.equal(off.writeEnabled, false);
  rejects(
    { LITESTREAM_WRITE_ENABLED: "maybe" },
    {},
    /LITESTREAM_WRITE_ENABLED/,
  );
  rejects({}, { sync_interval: "soon" }, /sync_interval/);
});

Deno.test("parseBoolean() and parseLogLevel() take any case", () => {
  for (const text of ["true", "TRUE", "1", "yes", "On"]) {
    assert.equal(parseBoolean(text, "x"), true);
  }
  for (const text of ["false", "False", "0", "no", "OFF"]) {
    assert.equal(parseBoolean(text, "x"), false);
  }
  assert.equal(parseLogLevel(" Error ", "x"), "ERROR");
});

Deno.test("resolveConfig() without a replica URL says where to put one", () => {
  assert.throws(
    () => resolveConfig(new Map(), () => undefined),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message.includes("LITESTREAM_REPLICA_URL"),
  );
});
