/**
 * Reading a replica URL's settings: parsing the URL, its path, its query
 * options (booleans and whole numbers, as Litestream spells them), its
 * endpoint, and access keys from the environment.
 *
 * @module
 */

import { ReplicaUrlError } from "./errors.ts";
import { redactUrl } from "./replica_url.ts";

/** The options every remote backend's client takes. */
export interface ClientOptions {
  /** Bound on the total time one operation spends retrying, in ms. */
  retryBudgetMs?: number;
  /** Timeout of one request, in ms. */
  requestTimeoutMs?: number;
  /**
   * Environment to read (default: the variables the backend names, from
   * the process).
   */
  env?: Record<string, string | undefined>;
}

/**
 * Parses a replica URL.
 *
 * @param url The replica URL.
 * @param shown The URL as messages show it (default: redacted).
 * @returns The parsed URL.
 * @throws {ReplicaUrlError} `Invalid replica URL "..."` when it does not parse.
 *
 * @example
 * ```ts
 * import { parseReplicaUrl } from "./_options.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseReplicaUrl("s3://b/db").hostname, "b");
 * assert.throws(() => parseReplicaUrl("s3://b:x/db"), /Invalid replica URL/);
 * ```
 */
export function parseReplicaUrl(
  url: string,
  shown: string = redactUrl(url),
): URL {
  try {
    return new URL(url);
  } catch (cause) {
    throw new ReplicaUrlError(`Invalid replica URL "${shown}"`, { cause });
  }
}

/**
 * A URL's path as a key prefix: decoded, without leading or trailing
 * slashes ("" for the root).
 *
 * @param url The parsed replica URL.
 * @returns The prefix.
 *
 * @example
 * ```ts
 * import { urlPath } from "./_options.ts";
 * import assert from "node:assert/strict";
 * assert.equal(urlPath(new URL("s3://b//a%20b/db/")), "a b/db");
 * ```
 */
export function urlPath(url: URL): string {
  return decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, "");
}

/**
 * A key under a prefix: `prefix/rest`, or `rest` for the root.
 *
 * @param prefix The replica's prefix ("" for the root).
 * @param rest What lies under it.
 * @returns The key.
 *
 * @example
 * ```ts
 * import { underPrefix } from "./_options.ts";
 * import assert from "node:assert/strict";
 * assert.equal(underPrefix("db", "ltx/0/"), "db/ltx/0/");
 * assert.equal(underPrefix("", "ltx/0/"), "ltx/0/");
 * ```
 */
export function underPrefix(prefix: string, rest: string): string {
  return prefix === "" ? rest : `${prefix}/${rest}`;
}

/**
 * A boolean query option, under the first of its names that is set and
 * not empty: `1`, `t`, `true`, `yes`, `on` (any case) or the opposites.
 *
 * @param query The URL's query.
 * @param names The option's spellings, in order.
 * @param invalid Makes the error for a value that is neither, from
 * `"name" must be true or false, got "value"`.
 * @returns The value, or undefined when unset.
 *
 * @example
 * ```ts
 * import { boolOption } from "./_options.ts";
 * import assert from "node:assert/strict";
 * const q = new URLSearchParams("force-path-style=yes&tls=maybe");
 * const invalid = (problem: string) => new Error(problem);
 * assert.equal(boolOption(q, ["forcePathStyle", "force-path-style"], invalid), true);
 * assert.equal(boolOption(q, ["skipVerify"], invalid), undefined);
 * assert.throws(() => boolOption(q, ["tls"], invalid), /"tls" must be true or false, got "maybe"/);
 * ```
 */
export function boolOption(
  query: URLSearchParams,
  names: readonly string[],
  invalid: (problem: string) => Error,
): boolean | undefined {
  for (const name of names) {
    const v = query.get(name);
    if (v === null || v === "") continue;
    if (/^(1|t|true|yes|on)$/i.test(v)) return true;
    if (/^(0|f|false|no|off)$/i.test(v)) return false;
    throw invalid(`"${name}" must be true or false, got "${v}"`);
  }
  return undefined;
}

/**
 * The upload settings of Litestream's object-store URLs (`concurrency`,
 * `partSize`): accepted, when whole numbers, and ignored by a reader.
 */
export const UPLOAD_NUMBER_OPTIONS: readonly string[] = [
  "concurrency",
  "partSize",
  "part-size",
];

/**
 * Checks that query options are whole numbers when set (those accepted
 * for compatibility and ignored, such as upload settings).
 *
 * @param query The URL's query.
 * @param names The options.
 * @param invalid Makes the error for a bad value, from
 * `"name" must be a whole number, got "value"`.
 *
 * @example
 * ```ts
 * import { checkWholeNumbers } from "./_options.ts";
 * import assert from "node:assert/strict";
 * const invalid = (problem: string) => new Error(problem);
 * checkWholeNumbers(new URLSearchParams("concurrency=4"), ["concurrency"], invalid);
 * assert.throws(
 *   () => checkWholeNumbers(new URLSearchParams("concurrency=x"), ["concurrency"], invalid),
 *   /"concurrency" must be a whole number, got "x"/,
 * );
 * ```
 */
export function checkWholeNumbers(
  query: URLSearchParams,
  names: readonly string[],
  invalid: (problem: string) => Error,
): void {
  for (const name of names) {
    const v = query.get(name);
    if (v !== null && !/^\d+$/.test(v)) {
      throw invalid(`"${name}" must be a whole number, got "${v}"`);
    }
  }
}

/**
 * An endpoint with its scheme, as Litestream's S3 client completes it:
 * `http://` for local and private addresses, `https://` for the rest;
 * without trailing slashes.
 *
 * @param endpoint `host:port` or a URL.
 * @returns The endpoint URL.
 *
 * @example
 * ```ts
 * import { endpointWithScheme } from "./_options.ts";
 * import assert from "node:assert/strict";
 * assert.equal(endpointWithScheme("127.0.0.1:9000/"), "http://127.0.0.1:9000");
 * assert.equal(endpointWithScheme("s3.example.com"), "https://s3.example.com");
 * ```
 */
export function endpointWithScheme(endpoint: string): string {
  if (/^https?:\/\//i.test(endpoint)) return endpoint.replace(/\/+$/, "");
  const host = endpoint.replace(/\/+$/, "");
  const local =
    /^(localhost|127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|\[::1\])/i
      .test(host);
  return `${local ? "http" : "https"}://${host}`;
}

/** Access keys read by {@linkcode accessKeys}. */
export interface AccessKeys {
  /** The key's id. */
  id: string;
  /** Its secret. */
  secret: string;
  /** A session token, for temporary keys. */
  token?: string;
}

/**
 * Access keys from the environment, as Litestream reads them:
 * `LITESTREAM_ACCESS_KEY_ID` and `LITESTREAM_SECRET_ACCESS_KEY` when both
 * are set (without a session token), else the vendor's variables.
 *
 * @param env The environment.
 * @param vendor The vendor's variables for the id, the secret and the token.
 * @returns The keys, or undefined when the id or the secret is missing.
 *
 * @example
 * ```ts
 * import { accessKeys } from "./_options.ts";
 * import assert from "node:assert/strict";
 * const vendor = { id: "AWS_ACCESS_KEY_ID", secret: "AWS_SECRET_ACCESS_KEY", token: "AWS_SESSION_TOKEN" };
 * assert.deepEqual(
 *   accessKeys({ AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "s", AWS_SESSION_TOKEN: "t" }, vendor),
 *   { id: "a", secret: "s", token: "t" },
 * );
 * assert.equal(accessKeys({ AWS_ACCESS_KEY_ID: "a" }, vendor), undefined);
 * ```
 */
export function accessKeys(
  env: Record<string, string | undefined>,
  vendor: { id: string; secret: string; token: string },
): AccessKeys | undefined {
  const fromLitestream = env.LITESTREAM_ACCESS_KEY_ID &&
    env.LITESTREAM_SECRET_ACCESS_KEY;
  const id = fromLitestream ? env.LITESTREAM_ACCESS_KEY_ID : env[vendor.id];
  const secret = fromLitestream
    ? env.LITESTREAM_SECRET_ACCESS_KEY
    : env[vendor.secret];
  const token = fromLitestream ? undefined : env[vendor.token];
  if (!id || !secret) return undefined;
  return token ? { id, secret, token } : { id, secret };
}
