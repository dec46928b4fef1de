/**
 * Engine configuration: URI parameters over environment variables over
 * defaults, with Litestream's names and formats (its VFS documentation and
 * PR #1157). `LITESTREAM_POLL_INTERVAL`, `max_in_flight` /
 * `LITESTREAM_MAX_IN_FLIGHT`, and `log_level` and `log_file` as URI
 * parameters, are lsvfs's own additions. `cache_size` has no variable:
 * the shim reads it from the URI.
 *
 * @module
 */

import { DEFAULT_LOG_LEVEL, LOG_LEVELS, type LogLevel } from "../log/mod.ts";
import {
  DEFAULT_DISK_CACHE_SIZE,
  DEFAULT_MAX_IN_FLIGHT,
  isRemoteUrl,
} from "../storage/mod.ts";
import { ConfigError } from "./errors.ts";

/** Default interval between polls for new LTX files, as Litestream's VFS. */
export const DEFAULT_POLL_INTERVAL_MS = 1000;

/** Default interval between write-mode syncs, as Litestream's VFS. */
export const DEFAULT_SYNC_INTERVAL_MS = 1000;

/** Default size of the shim's page cache in bytes, as Litestream's VFS. */
export const DEFAULT_CACHE_SIZE = 10 * 1024 * 1024;

/** Largest `cache_size` accepted: 2^60 bytes (the shim's bound). */
const MAX_CACHE_SIZE = 2 ** 60;

/** What the engine needs to open a replica. */
export interface ReplicaConfig {
  /** Replica URL (`file:///path`, ...). */
  readonly replicaUrl: string;
  /** Minimum time between two polls for new LTX files, in ms. */
  readonly pollIntervalMs: number;
  /** Bytes of decoded pages the shim caches (`cache_size`). */
  readonly cacheSize: number;
  /**
   * Range reads a remote replica runs at once (`max_in_flight`,
   * `LITESTREAM_MAX_IN_FLIGHT`); the first file to open a replica sets it
   * for every file of that replica in the process.
   */
  readonly maxInFlight: number;
  /** Level of the file's log (`log_level`, `LITESTREAM_LOG_LEVEL`). */
  readonly logLevel: LogLevel;
  /** Where the log goes (`log_file`, `LITESTREAM_LOG_FILE`); standard error when unset. */
  readonly logFile?: string;
  /** Write mode (`write_enabled`, `LITESTREAM_WRITE_ENABLED`). */
  readonly writeEnabled: boolean;
  /** Write-mode sync interval in ms (`sync_interval`, `LITESTREAM_SYNC_INTERVAL`). */
  readonly syncIntervalMs: number;
  /** Write-mode buffer file (`buffer_path`, `LITESTREAM_BUFFER_PATH`). */
  readonly bufferPath?: string;
  /** Hydration (`hydration_enabled`, `LITESTREAM_HYDRATION_ENABLED`): restore to a local file in the background and read from it. */
  readonly hydrationEnabled: boolean;
  /** Hydration file (`hydration_path`, `LITESTREAM_HYDRATION_PATH`), kept across runs; a temporary file when unset. */
  readonly hydrationPath?: string;
  /**
   * The fast path (`fast_path`, `LSVFS_FAST_PATH`; on by default): the shim
   * reads and decodes frames that lie in local files itself. Off sends every
   * page read to the engine, for comparison and diagnosis.
   */
  readonly fastPath: boolean;
  /**
   * A directory where whole copies of a remote replica's LTX files are kept
   * (`disk_cache`, `LSVFS_DISK_CACHE`), for the fast path and so that no
   * file is fetched twice; none by default.
   */
  readonly diskCache?: string;
  /** Bound of the disk cache per replica in bytes (`disk_cache_size`, `LSVFS_DISK_CACHE_SIZE`); 1 GiB by default. */
  readonly diskCacheSize: number;
  /**
   * How LTX files are checked against their file checksum (`verify`,
   * `LSVFS_VERIFY`); see {@linkcode Verification}. `background` by default
   * for `file://` replicas and whenever hydration is on, else `off`.
   */
  readonly verification: Verification;
}

/**
 * How the engine checks the LTX files it serves against their file checksum:
 * - `off`: not at all (each frame is still checked to decode to its page);
 * - `background`: every file of the view once, in a worker thread, after
 *   open and as new files arrive; a file that fails is marked bad, and reads
 *   of its pages fail with `SQLITE_CORRUPT` from then on;
 * - `strict`: a file is checked whole before any of its pages is served.
 */
export type Verification = "off" | "background" | "strict";

/** The verification levels, as `verify` takes them. */
export const VERIFICATIONS: readonly Verification[] = [
  "off",
  "background",
  "strict",
];

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

/** One setting: its URI parameter and its environment variable. */
interface Setting {
  readonly param: string;
  readonly variable?: string;
}

const REPLICA_URL: Setting = {
  param: "replica_url",
  variable: "LITESTREAM_REPLICA_URL",
};
const POLL_INTERVAL: Setting = {
  param: "poll_interval",
  variable: "LITESTREAM_POLL_INTERVAL",
};
const CACHE_SIZE: Setting = { param: "cache_size" };
const MAX_IN_FLIGHT: Setting = {
  param: "max_in_flight",
  variable: "LITESTREAM_MAX_IN_FLIGHT",
};
const LOG_LEVEL: Setting = {
  param: "log_level",
  variable: "LITESTREAM_LOG_LEVEL",
};
const LOG_FILE: Setting = {
  param: "log_file",
  variable: "LITESTREAM_LOG_FILE",
};
const WRITE_ENABLED: Setting = {
  param: "write_enabled",
  variable: "LITESTREAM_WRITE_ENABLED",
};
const SYNC_INTERVAL: Setting = {
  param: "sync_interval",
  variable: "LITESTREAM_SYNC_INTERVAL",
};
const BUFFER_PATH: Setting = {
  param: "buffer_path",
  variable: "LITESTREAM_BUFFER_PATH",
};
const HYDRATION_ENABLED: Setting = {
  param: "hydration_enabled",
  variable: "LITESTREAM_HYDRATION_ENABLED",
};
const HYDRATION_PATH: Setting = {
  param: "hydration_path",
  variable: "LITESTREAM_HYDRATION_PATH",
};
const DISK_CACHE: Setting = {
  param: "disk_cache",
  variable: "LSVFS_DISK_CACHE",
};
const DISK_CACHE_SIZE: Setting = {
  param: "disk_cache_size",
  variable: "LSVFS_DISK_CACHE_SIZE",
};
const FAST_PATH: Setting = {
  param: "fast_path",
  variable: "LSVFS_FAST_PATH",
};
const VERIFY: Setting = {
  param: "verify",
  variable: "LSVFS_VERIFY",
};

/** A setting's value and the name it came by, for messages. */
interface Found {
  readonly value: string;
  readonly name: string;
}

/** The URI parameter if present, else the variable if set and not empty. */
function lookup(
  setting: Setting,
  params: ReadonlyMap<string, string>,
  env: EnvLookup,
): Found | undefined {
  const param = params.get(setting.param);
  if (param !== undefined) return { value: param, name: setting.param };
  if (setting.variable === undefined) return undefined;
  const value = env(setting.variable);
  if (value === undefined || value === "") return undefined;
  return { value, name: setting.variable };
}

/**
 * Parses a log level as `LITESTREAM_LOG_LEVEL` takes it: DEBUG, INFO, WARN or
 * ERROR, in any case. (Litestream's extension reads DEBUG and treats
 * anything else as INFO; an unknown level here is an error.)
 *
 * @param text The level.
 * @param name The setting's name, for the error message.
 * @returns The level.
 * @throws {ConfigError} When the text is not a level.
 *
 * @example Parse a level
 * ```ts
 * import { parseLogLevel } from "./config.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseLogLevel("debug", "LITESTREAM_LOG_LEVEL"), "DEBUG");
 * ```
 */
export function parseLogLevel(text: string, name: string): LogLevel {
  const level = text.trim().toUpperCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) {
    return level as LogLevel;
  }
  throw new ConfigError(
    `Invalid ${name} "${text}": use ${LOG_LEVELS.slice(0, -1).join(", ")} or ${
      LOG_LEVELS.at(-1)
    }`,
  );
}

/**
 * Parses a boolean setting: true/false, 1/0, yes/no, on/off, in any case.
 *
 * @param text The value.
 * @param name The setting's name, for the error message.
 * @returns The boolean.
 * @throws {ConfigError} When the text is none of those.
 */
export function parseBoolean(text: string, name: string): boolean {
  switch (text.trim().toLowerCase()) {
    case "true":
    case "1":
    case "yes":
    case "on":
      return true;
    case "false":
    case "0":
    case "no":
    case "off":
      return false;
  }
  throw new ConfigError(`Invalid ${name} "${text}": use true or false`);
}

/**
 * Parses a cache size in bytes (`cache_size`): decimal digits only.
 *
 * @param text The value.
 * @param name The setting's name, for the error message.
 * @returns The size in bytes.
 * @throws {ConfigError} When the text is not a whole number of bytes.
 */
export function parseCacheSize(text: string, name: string): number {
  const bytes = Number(text);
  if (!/^\d+$/.test(text) || !(bytes <= MAX_CACHE_SIZE)) {
    throw new ConfigError(
      `Invalid ${name} "${text}": use a whole number of bytes, such as ${DEFAULT_CACHE_SIZE}`,
    );
  }
  return bytes;
}

/**
 * Parses a count of at least 1 (`max_in_flight`): decimal digits only.
 *
 * @param text The value.
 * @param name The setting's name, for the error message.
 * @returns The count.
 * @throws {ConfigError} When the text is not a whole number from 1 to 1024.
 */
export function parseCount(text: string, name: string): number {
  const count = Number(text);
  if (!/^\d+$/.test(text) || count < 1 || count > 1024) {
    throw new ConfigError(
      `Invalid ${name} "${text}": use a whole number from 1 to 1024, such as ${DEFAULT_MAX_IN_FLIGHT}`,
    );
  }
  return count;
}

/**
 * Parses a verification level: off, background or strict, in any case.
 *
 * @param text The value.
 * @param name The setting's name, for the error message.
 * @returns The level.
 * @throws {ConfigError} When the text is none of those.
 */
export function parseVerification(text: string, name: string): Verification {
  const level = text.trim().toLowerCase();
  if ((VERIFICATIONS as readonly string[]).includes(level)) {
    return level as Verification;
  }
  throw new ConfigError(
    `Invalid ${name} "${text}": use off, background or strict`,
  );
}

/**
 * Resolves the configuration of one database file: each setting from its
 * URI parameter (Litestream's names: `replica_url`, `poll_interval`,
 * `cache_size`, `log_level`, `write_enabled`, ...), else its environment
 * variable (`LITESTREAM_REPLICA_URL`, `LITESTREAM_LOG_LEVEL`, ...; an empty
 * variable counts as unset), else the default. A malformed value is an error
 * naming the parameter or variable it came from.
 *
 * @param params The URI parameters SQLite passed to the VFS.
 * @param env Environment lookup, {@linkcode readEnv} by default.
 * @returns The resolved configuration.
 * @throws {ConfigError} When no replica URL is given, or a value is malformed.
 *
 * @example Resolve from URI parameters
 * ```ts
 * import { resolveConfig } from "./config.ts";
 * import assert from "node:assert/strict";
 * const config = resolveConfig(
 *   new Map([["replica_url", "file:///r"], ["poll_interval", "5s"]]),
 *   () => undefined,
 * );
 * assert.equal(config.replicaUrl, "file:///r");
 * assert.equal(config.pollIntervalMs, 5000);
 * assert.equal(config.logLevel, "INFO");
 * ```
 */
export function resolveConfig(
  params: ReadonlyMap<string, string>,
  env: EnvLookup = readEnv,
): ReplicaConfig {
  const get = (setting: Setting) => lookup(setting, params, env);
  const replicaUrl = get(REPLICA_URL)?.value ?? "";
  if (replicaUrl === "") {
    throw new ConfigError(
      "No replica URL: add replica_url=<url> to the database URI or set LITESTREAM_REPLICA_URL",
    );
  }
  const duration = (setting: Setting, fallback: number) => {
    const found = get(setting);
    return found === undefined
      ? fallback
      : parseDuration(found.value, found.name);
  };
  const flag = (setting: Setting) => {
    const found = get(setting);
    return found !== undefined && parseBoolean(found.value, found.name);
  };
  const cacheSize = get(CACHE_SIZE);
  const maxInFlight = get(MAX_IN_FLIGHT);
  const logLevel = get(LOG_LEVEL);
  const hydrationEnabled = flag(HYDRATION_ENABLED);
  const verify = get(VERIFY);
  const config: ReplicaConfig = {
    replicaUrl,
    pollIntervalMs: duration(POLL_INTERVAL, DEFAULT_POLL_INTERVAL_MS),
    cacheSize: cacheSize === undefined
      ? DEFAULT_CACHE_SIZE
      : parseCacheSize(cacheSize.value, cacheSize.name),
    maxInFlight: maxInFlight === undefined
      ? DEFAULT_MAX_IN_FLIGHT
      : parseCount(maxInFlight.value, maxInFlight.name),
    logLevel: logLevel === undefined
      ? DEFAULT_LOG_LEVEL
      : parseLogLevel(logLevel.value, logLevel.name),
    logFile: get(LOG_FILE)?.value,
    writeEnabled: flag(WRITE_ENABLED),
    syncIntervalMs: duration(SYNC_INTERVAL, DEFAULT_SYNC_INTERVAL_MS),
    bufferPath: get(BUFFER_PATH)?.value,
    hydrationEnabled,
    hydrationPath: get(HYDRATION_PATH)?.value,
    diskCache: get(DISK_CACHE)?.value,
    diskCacheSize: get(DISK_CACHE_SIZE) === undefined
      ? DEFAULT_DISK_CACHE_SIZE
      : parseCacheSize(get(DISK_CACHE_SIZE)!.value, get(DISK_CACHE_SIZE)!.name),
    fastPath: get(FAST_PATH) === undefined ||
      parseBoolean(get(FAST_PATH)!.value, get(FAST_PATH)!.name),
    // Remote replicas: checking a file means downloading all of it.
    verification: verify !== undefined
      ? parseVerification(verify.value, verify.name)
      : !isRemoteUrl(replicaUrl) || hydrationEnabled
      ? "background"
      : "off",
  };
  return config;
}
