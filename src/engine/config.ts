/**
 * Engine configuration: URI parameters over environment variables over
 * defaults, with Litestream's names and formats.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";

/** Default interval between polls for new LTX files, as Litestream's VFS. */
export const DEFAULT_POLL_INTERVAL_MS = 1000;

/** What the engine needs to open a replica. */
export interface ReplicaConfig {
  /** Replica URL (`file:///path`, ...). */
  readonly replicaUrl: string;
  /** Minimum time between two polls for new LTX files, in ms. */
  readonly pollIntervalMs: number;
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a duration in Go's syntax (`500ms`, `1s`, `1m30s`, `1.5h`), the
 * format Litestream's VFS takes for `poll_interval` and `sync_interval`.
 *
 * @param text The duration text.
 * @param name The setting's name, for the error message.
 * @returns The duration in milliseconds.
 * @throws {ConfigError} When the text is not a duration.
 *
 * @example Parse durations
 * ```ts
 * import { parseDuration } from "./config.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseDuration("1m30s", "poll_interval"), 90_000);
 * assert.equal(parseDuration("250ms", "poll_interval"), 250);
 * ```
 */
export function parseDuration(text: string, name: string): number {
  const trimmed = text.trim();
  const pattern = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (const match of trimmed.matchAll(pattern)) {
    total += Number(match[1]) * DURATION_UNITS[match[2]];
    end = match.index + match[0].length;
  }
  if (trimmed === "0") return 0;
  if (end === 0 || end !== trimmed.length) {
    throw new ConfigError(
      `Invalid ${name} "${text}": use a duration such as "500ms", "1s" or "1m30s"`,
    );
  }
  return total;
}

/** Where settings come from when a URI parameter does not give them. */
export type EnvLookup = (name: string) => string | undefined;

/**
 * Reads an environment variable, treating one the process may not read as
 * unset, so a program run with narrow `--allow-env` still works.
 *
 * @param name The variable's name.
 * @returns Its value, or `undefined`.
 */
export function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return undefined;
    throw error;
  }
}

/**
 * Resolves the configuration of one database file from its URI parameters
 * (`replica_url`, `poll_interval`), then `LITESTREAM_REPLICA_URL` and
 * `LITESTREAM_POLL_INTERVAL`, then the defaults.
 *
 * @param params The URI parameters SQLite passed to the VFS.
 * @param env Environment lookup, {@linkcode readEnv} by default.
 * @returns The resolved configuration.
 * @throws {ConfigError} When no replica URL is given or a value is malformed.
 *
 * @example Resolve from URI parameters
 * ```ts
 * import { resolveConfig } from "./config.ts";
 * import assert from "node:assert/strict";
 * const config = resolveConfig(
 *   new Map([["replica_url", "file:///r"], ["poll_interval", "5s"]]),
 *   () => undefined,
 * );
 * assert.deepEqual(config, { replicaUrl: "file:///r", pollIntervalMs: 5000 });
 * ```
 */
export function resolveConfig(
  params: ReadonlyMap<string, string>,
  env: EnvLookup = readEnv,
): ReplicaConfig {
  const replicaUrl = params.get("replica_url") ??
    env("LITESTREAM_REPLICA_URL") ?? "";
  if (replicaUrl === "") {
    throw new ConfigError(
      "No replica URL: add replica_url=<url> to the database URI or set LITESTREAM_REPLICA_URL",
    );
  }
  const poll = params.get("poll_interval") ?? env("LITESTREAM_POLL_INTERVAL");
  return {
    replicaUrl,
    pollIntervalMs: poll === undefined
      ? DEFAULT_POLL_INTERVAL_MS
      : parseDuration(poll, "poll_interval"),
  };
}
