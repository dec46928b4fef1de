/**
 * The `oss://` backend: a replica in an Alibaba Cloud OSS bucket, through
 * `ali-oss` (V1 request signing). It is asynchronous and runs in the storage
 * worker (ARCHITECTURE.md); the engine reaches it through
 * {@linkcode WorkerReplicaClient}.
 *
 * URL: `oss://bucket/path`, or `oss://bucket.oss-<region>.aliyuncs.com/path`
 * (`-internal` for the internal endpoint), as Litestream parses it, with
 * the settings Litestream's OSS configuration has as query parameters:
 * `region` (default `cn-hangzhou`) and `endpoint` (`oss-<region>.aliyuncs.com`,
 * or `http://host:port` for another service). Credentials:
 * `LITESTREAM_ACCESS_KEY_ID` / `LITESTREAM_SECRET_ACCESS_KEY`, else
 * `OSS_ACCESS_KEY_ID` / `OSS_ACCESS_KEY_SECRET` (and `OSS_SESSION_TOKEN`
 * for STS), the variables Alibaba's SDKs read.
 *
 * Litestream's OSS client lays levels out as `<path>/<level, 4 hex
 * digits>/<min>-<max>.ltx`; the `ltx/<level>/` layout of the other backends
 * is listed too, as on S3.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import process from "node:process";
import { formatFileName } from "../ltx/mod.ts";
import { readVariables } from "./_env.ts";
import {
  accessKeys,
  checkWholeNumbers,
  endpointWithScheme,
  parseReplicaUrl,
  underPrefix,
  UPLOAD_NUMBER_OPTIONS,
  urlPath,
} from "./_options.ts";
import { createOnly } from "./_create_only.ts";
import {
  HEX_LAYOUT,
  type Layout,
  LayoutListing,
  LTX_LAYOUT,
  ltxNameUnder,
  type Placed,
} from "./_layouts.ts";
import { retryLimits, retryWithin } from "./_retry.ts";
import { ReplicaUrlError, StorageError } from "./errors.ts";
import type {
  LtxFileInfo,
  LtxFileName,
  ReplicaClient,
  RetryOptions,
} from "./replica_client.ts";
import { redactUrl } from "./replica_url.ts";

/** The environment variables the credentials come from. */
export const OSS_VARIABLES: readonly string[] = [
  "LITESTREAM_ACCESS_KEY_ID",
  "LITESTREAM_SECRET_ACCESS_KEY",
  "OSS_ACCESS_KEY_ID",
  "OSS_ACCESS_KEY_SECRET",
  "OSS_SESSION_TOKEN",
];

/** Region used when neither the URL nor its endpoint names one (Litestream's). */
export const DEFAULT_OSS_REGION = "cn-hangzhou";

/** Keys a listing page holds at most (OSS's own limit). */
export const OSS_LIST_PAGE_SIZE = 1000;

/** Settings parsed from an `oss://` replica URL and the environment. */
export interface OssSettings {
  /** The bucket name. */
  bucket: string;
  /** The replica's key prefix, without leading or trailing slash ("" for the bucket root). */
  path: string;
  /** The region, without the `oss-` prefix (`cn-hangzhou`). */
  region: string;
  /** The endpoint, with its scheme (`https://oss-cn-hangzhou.aliyuncs.com`). */
  endpoint: string;
  /**
   * Address the bucket in the path (`endpoint/bucket/key`) rather than
   * the host (`bucket.endpoint`): for IP and `localhost` endpoints.
   */
  pathStyle: boolean;
  /**
   * Keys from the environment (`LITESTREAM_ACCESS_KEY_ID` and
   * `LITESTREAM_SECRET_ACCESS_KEY`, else `OSS_ACCESS_KEY_ID`,
   * `OSS_ACCESS_KEY_SECRET` and `OSS_SESSION_TOKEN`); absent when unset.
   */
  credentials?: {
    accessKeyId: string;
    accessKeySecret: string;
    securityToken?: string;
  };
}

/** `oss-<region>[-internal].aliyuncs.com`, optionally after `<bucket>.`. */
const OSS_HOST =
  /^(?:([^.]+)\.)?oss-(.+?)(-internal)?\.aliyuncs\.com(?::\d+)?$/i;

/** Bucket names OSS accepts. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/**
 * Parses an `oss://` replica URL as Litestream does.
 *
 * @param url The replica URL.
 * @param env Environment to read (default: {@linkcode OSS_VARIABLES} from
 * the process).
 * @returns The settings.
 * @throws {ReplicaUrlError} When the URL has no bucket or a bad option.
 *
 * @example Parse an URL with its region in the host
 * ```ts
 * import { parseOssUrl } from "./oss_client.ts";
 * import assert from "node:assert/strict";
 * const s = parseOssUrl("oss://bkt.oss-cn-shanghai.aliyuncs.com/db", {});
 * assert.equal(s.bucket, "bkt");
 * assert.equal(s.region, "cn-shanghai");
 * assert.equal(s.endpoint, "https://oss-cn-shanghai.aliyuncs.com");
 * ```
 */
export function parseOssUrl(
  url: string,
  env: Record<string, string | undefined> = readVariables(OSS_VARIABLES),
): OssSettings {
  const parsed = parseReplicaUrl(url);
  const query = parsed.searchParams;
  let bucket = decodeURIComponent(parsed.hostname);
  let region: string | undefined;
  let internal = false;
  const host = OSS_HOST.exec(bucket);
  if (host) {
    bucket = host[1] ?? "";
    region = host[2];
    internal = host[3] !== undefined;
  }
  if (bucket === "") {
    throw new ReplicaUrlError(
      `Replica URL "${
        redactUrl(url)
      }" has no bucket: write "oss://bucket/path"`,
    );
  }
  if (!BUCKET_NAME.test(bucket)) {
    throw new ReplicaUrlError(
      `Replica URL "${
        redactUrl(url)
      }": "${bucket}" is not an OSS bucket name (3 to 63 lower-case letters, digits and hyphens)`,
    );
  }
  let endpoint: string | undefined;
  const qEndpoint = query.get("endpoint");
  if (qEndpoint) {
    endpoint = endpointWithScheme(qEndpoint);
    const named = OSS_HOST.exec(new URL(endpoint).host);
    if (named && named[1] === undefined) region ??= named[2];
  }
  const qRegion = query.get("region");
  if (qRegion) region = qRegion.replace(/^oss-/, "");
  region ??= DEFAULT_OSS_REGION;
  if (!/^[a-z0-9-]+$/.test(region)) {
    throw new ReplicaUrlError(
      `Replica URL "${
        redactUrl(url)
      }": "${region}" is not an OSS region (such as "cn-hangzhou")`,
    );
  }
  endpoint ??= `https://oss-${region}${
    internal ? "-internal" : ""
  }.aliyuncs.com`;
  checkWholeNumbers(
    query,
    UPLOAD_NUMBER_OPTIONS,
    (problem) =>
      new ReplicaUrlError(`Replica URL "${redactUrl(url)}": ${problem}`),
  );
  const hostname = new URL(endpoint).hostname;
  const pathStyle = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\]|localhost)$/i
    .test(hostname);
  const keys = accessKeys(env, {
    id: "OSS_ACCESS_KEY_ID",
    secret: "OSS_ACCESS_KEY_SECRET",
    token: "OSS_SESSION_TOKEN",
  });
  const settings: OssSettings = {
    bucket,
    path: urlPath(parsed),
    region,
    endpoint,
    pathStyle,
  };
  if (keys !== undefined) {
    settings.credentials = keys.token !== undefined
      ? {
        accessKeyId: keys.id,
        accessKeySecret: keys.secret,
        securityToken: keys.token,
      }
      : { accessKeyId: keys.id, accessKeySecret: keys.secret };
  }
  return settings;
}

/** What a request error of `ali-oss` carries. */
interface OssSdkError {
  name?: string;
  code?: string;
  status?: number;
  message?: string;
}

/**
 * Turns an `ali-oss` failure into a {@linkcode StorageError} that says what
 * failed and what to do, and whether trying again may help: network
 * failures, timeouts, throttling and 5xx are transient; access, missing
 * buckets and bad requests are not. A missing object counts as transient,
 * as on the other backends: compaction deletes files a listing named.
 *
 * @param where What failed: backend, operation, object, bucket and URL.
 * @param error The SDK's error.
 * @param timeoutMs The request timeout, for the message of one that fired.
 * @returns The error to throw; never with credentials or signed URLs.
 *
 * @example A throttled request is worth retrying
 * ```ts
 * import { classifyOssError } from "./oss_client.ts";
 * import assert from "node:assert/strict";
 * const e = classifyOssError("OSS read", { status: 503, code: "ServiceUnavailable" }, 5000);
 * assert.equal(e.retryable, true);
 * ```
 */
export function classifyOssError(
  where: string,
  error: unknown,
  timeoutMs: number,
): StorageError {
  if (error instanceof StorageError) return error;
  const e = (error ?? {}) as OssSdkError;
  const status = typeof e.status === "number" ? e.status : undefined;
  const code = e.code ?? "";
  const name = e.name ?? "";
  const cause = error;
  // The SDK's network errors go on with the request URL and its agent's
  // state: keep what happened.
  const firstLine = (e.message ?? String(error)).split("\n")[0]
    .replace(/,? (GET|PUT|HEAD|POST|DELETE) https?:\/\/.*$/, "")
    .replace(/https?:\/\/\S+/g, "<url>");
  if (code === "NoSuchBucket") {
    return new StorageError(
      `${where}: no such bucket; check the bucket name and the region/endpoint`,
      { cause },
    );
  }
  if (
    code === "AccessDenied" && /must be addressed using the specified endpoint/i
      .test(e.message ?? "")
  ) {
    return new StorageError(
      `${where}: the bucket is in another region; set region= or endpoint= in the URL`,
      { cause },
    );
  }
  if (code === "RequestTimeTooSkewed") {
    return new StorageError(
      `${where}: refused, this machine's clock is more than 15 minutes off; set the clock right`,
      { cause },
    );
  }
  if (
    status === 403 ||
    /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|SecurityToken/
      .test(code)
  ) {
    return new StorageError(
      `${where}: access denied (${
        code || status
      }); check the credentials (OSS_ACCESS_KEY_ID/OSS_ACCESS_KEY_SECRET or LITESTREAM_ACCESS_KEY_ID/LITESTREAM_SECRET_ACCESS_KEY) and the bucket policy`,
      { cause },
    );
  }
  if (status === 404 || code === "NoSuchKey") {
    return new StorageError(
      `${where}: not found (deleted by compaction or retention?)`,
      { cause, retryable: code === "NoSuchKey" },
    );
  }
  const timedOut = /Timeout/i.test(name) || status === -2;
  const transient = timedOut || status === -1 ||
    (status !== undefined && (status >= 500 || status === 429 ||
      status === 408)) ||
    /RequestError|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|socket hang up|ServiceUnavailable|InternalError|Throttl|TooManyRequests/i
      .test(`${name} ${code} ${firstLine}`);
  const detail = timedOut
    ? `no answer within ${timeoutMs} ms`
    : status !== undefined && status > 0
    ? `HTTP ${status}${code ? ` ${code}` : ""}`
    : `${code || name || "Error"}: ${firstLine}`;
  return new StorageError(`${where}: ${detail}`, {
    cause,
    retryable: transient,
  });
}

/** The part of an `ali-oss` client this backend uses. */
interface OssSdkClient {
  listV2(
    query: Record<string, string | number>,
    options: { timeout: number },
  ): Promise<{
    objects: { name: string; size: number; lastModified: string }[];
    isTruncated: boolean;
    nextContinuationToken?: string;
  }>;
  get(
    name: string,
    options: { headers: Record<string, string>; timeout: number },
  ): Promise<{ content: Uint8Array; res: { status: number } }>;
  put(
    name: string,
    content: Buffer,
    options: {
      headers: Record<string, string>;
      mime: string;
      timeout: number;
    },
  ): Promise<unknown>;
}

/** The SDK's client class, as {@linkcode loadSdk} gives it. */
type OssSdkConstructor = new (options: Record<string, unknown>) => unknown;

let sdk: Promise<OssSdkConstructor> | undefined;

/**
 * Loads `ali-oss` on first use, so that the storage worker loads it only
 * for `oss://` replicas. Its `debug` dependency lists every environment
 * variable as it loads (which needs `--allow-env` without a list), unless
 * it believes it runs in an Electron renderer: it is told so for the
 * duration of the import, and then reads `DEBUG` alone.
 */
function loadSdk(): Promise<OssSdkConstructor> {
  sdk ??= (async () => {
    const proc = process as { type?: string };
    const before = proc.type;
    proc.type = "renderer";
    try {
      return (await import("ali-oss")).default as OssSdkConstructor;
    } finally {
      if (before === undefined) delete proc.type;
      else proc.type = before;
    }
  })();
  return sdk;
}

/** The level folders of the two layouts Litestream writes (see listFiles). */
const LAYOUTS: readonly Layout[] = [HEX_LAYOUT, LTX_LAYOUT];

/** Options for {@linkcode OssReplicaClient}. */
export interface OssClientOptions {
  /** Bound on the total time one operation spends retrying, in ms. */
  retryBudgetMs?: number;
  /** Timeout of one HTTP request, in ms. */
  requestTimeoutMs?: number;
  /** Keys per listing page (default {@linkcode OSS_LIST_PAGE_SIZE}). */
  listPageSize?: number;
  /** Environment to read (default: {@linkcode OSS_VARIABLES} from the process). */
  env?: Record<string, string | undefined>;
}

/** A replica in an Alibaba Cloud OSS bucket. */
export class OssReplicaClient implements ReplicaClient {
  /** The replica URL, redacted. */
  readonly url: string;
  /** Parsed settings. */
  readonly settings: OssSettings;
  #oss: Promise<OssSdkClient>;
  #agents: { destroy(): void }[];
  /** The layouts listed, and where each listed file lies (see listFiles). */
  #layouts = new LayoutListing(LAYOUTS.length);
  #retryBudgetMs: number;
  #requestTimeoutMs: number;
  #pageSize: number;

  /**
   * @param url An `oss://` replica URL.
   * @param options Retry bound, request timeout, environment.
   * @throws {ReplicaUrlError} When the URL is malformed.
   * @throws {StorageError} When no credentials are set.
   */
  constructor(url: string, options: OssClientOptions = {}) {
    this.url = redactUrl(url);
    this.settings = parseOssUrl(url, options.env);
    ({
      retryBudgetMs: this.#retryBudgetMs,
      requestTimeoutMs: this.#requestTimeoutMs,
    } = retryLimits(options));
    this.#pageSize = options.listPageSize ?? OSS_LIST_PAGE_SIZE;
    const s = this.settings;
    if (s.credentials === undefined) {
      throw new StorageError(
        `OSS replica "${this.url}": no credentials; set OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET (or LITESTREAM_ACCESS_KEY_ID and LITESTREAM_SECRET_ACCESS_KEY)`,
      );
    }
    // The storage worker bounds the requests in flight; the SDK's shared
    // agents would queue a large batch behind the first answers.
    const agent = new HttpAgent({ keepAlive: true, maxSockets: Infinity });
    const httpsAgent = new HttpsAgent({
      keepAlive: true,
      maxSockets: Infinity,
    });
    this.#agents = [agent, httpsAgent];
    const { accessKeyId, accessKeySecret, securityToken } = s.credentials;
    this.#oss = loadSdk().then((OSS) =>
      new OSS({
        accessKeyId,
        accessKeySecret,
        stsToken: securityToken,
        // No refresh callback: the SDK would otherwise warn on every client.
        refreshSTSTokenInterval: securityToken ? 3_600_000 : 0,
        bucket: s.bucket,
        region: `oss-${s.region}`,
        endpoint: s.endpoint,
        secure: s.endpoint.startsWith("https:"),
        sldEnable: s.pathStyle,
        timeout: this.#requestTimeoutMs,
        // Retries are ours: bounded by time, classified by us.
        retryMax: 0,
        agent,
        httpsAgent,
      }) as OssSdkClient
    );
    // A failure shows in the first operation.
    this.#oss.catch(() => {});
  }

  #key(rest: string): string {
    return underPrefix(this.settings.path, rest);
  }

  /**
   * Where a file not listed yet lies: in the `ltx/` layout if only that
   * one has files, else in Litestream's own for OSS.
   */
  #newKey(file: LtxFileName): string {
    return this.#key(
      `${LAYOUTS[this.#layouts.writeCandidate](file.level)}${
        formatFileName(file.minTxid, file.maxTxid)
      }`,
    );
  }

  /**
   * {@inheritDoc ReplicaClient.listFiles}
   *
   * Litestream's OSS client puts levels under `<level as 4 hex digits>/`;
   * replicas copied from other backends have them under `ltx/<level>/`.
   * Until files are found, and again once a minute, both prefixes are
   * listed, in parallel; in between, only the layouts files were found in.
   * Each prefix is listed with ListObjectsV2, page by page (continuation
   * tokens). A file is read where it was found.
   */
  listFiles(
    level: number,
    options: RetryOptions = {},
  ): Promise<LtxFileInfo[]> {
    return this.#layouts.list((i) =>
      this.#listPrefix(this.#key(LAYOUTS[i](level)), level, options)
    );
  }

  async #listPrefix(
    prefix: string,
    level: number,
    options: RetryOptions,
  ): Promise<Placed[]> {
    const found: Placed[] = [];
    let token: string | undefined;
    do {
      const query: Record<string, string | number> = {
        prefix,
        "max-keys": this.#pageSize,
      };
      if (token !== undefined) query["continuation-token"] = token;
      const page = await this.#retry(
        `list "${prefix}"`,
        async () =>
          (await this.#oss).listV2(query, { timeout: this.#requestTimeoutMs }),
        options,
      );
      for (const obj of page.objects) {
        const txids = ltxNameUnder(prefix, obj.name);
        if (txids === undefined) continue;
        const createdAt = Date.parse(obj.lastModified);
        found.push({
          file: {
            level,
            ...txids,
            size: obj.size,
            createdAt: Number.isNaN(createdAt) ? 0 : createdAt,
          },
          where: obj.name,
        });
      }
      token = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (token);
    return found;
  }

  /**
   * {@inheritDoc ReplicaClient.createFile}
   *
   * A PutObject with `x-oss-forbid-overwrite: true`, in the layout the
   * replica's files are in (Litestream's `<level as 4 hex digits>/` for a
   * new one). A 409 `FileAlreadyExists` after a retry may be the retried
   * write's own first attempt: the object is read back, and the same bytes
   * count as written.
   */
  async createFile(
    file: LtxFileName,
    bytes: Uint8Array,
    options: RetryOptions = {},
  ): Promise<void> {
    const key = this.#newKey(file);
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    await createOnly(bytes, {
      write: () =>
        this.#retry(
          `write "${key}"`,
          async () =>
            (await this.#oss).put(key, body, {
              headers: { "x-oss-forbid-overwrite": "true" },
              mime: "application/octet-stream",
              timeout: this.#requestTimeoutMs,
            }),
          options,
        ),
      isConflict: (error) => {
        const cause = (error as StorageError).cause as OssSdkError | undefined;
        return cause?.status === 409 || cause?.code === "FileAlreadyExists";
      },
      readBack: () => {
        this.#layouts.place(file, key);
        return this.readRange(
          { ...file, size: bytes.length, createdAt: 0 },
          0,
          bytes.length,
        );
      },
      message:
        `OSS object "${key}" in bucket "${this.settings.bucket}" (${this.url}) exists: another writer made it first`,
    });
    this.#layouts.place(file, key);
  }

  /** {@inheritDoc ReplicaClient.readRange} */
  readRange(
    file: LtxFileInfo,
    offset: number,
    length: number,
  ): Promise<Uint8Array> {
    const key = this.#layouts.where(file) ?? this.#newKey(file);
    if (length === 0) return Promise.resolve(new Uint8Array(0));
    return this.#retry(`read "${key}"`, async () => {
      const out = await (await this.#oss).get(key, {
        headers: {
          Range: `bytes=${offset}-${offset + length - 1}`,
          // A range past the end is an error (416), not the whole object.
          "x-oss-range-behavior": "standard",
        },
        timeout: this.#requestTimeoutMs,
      });
      let body = new Uint8Array(
        out.content.buffer,
        out.content.byteOffset,
        out.content.byteLength,
      );
      // A 200 is the whole object (a server that ignored the range).
      if (out.res.status === 200 && body.length > length) {
        body = body.subarray(offset, offset + length);
      }
      if (body.length !== length) {
        throw new StorageError(
          `OSS short read of "${key}" in bucket "${this.settings.bucket}" (${this.url}): wanted ${length} bytes at offset ${offset}, got ${body.length}`,
        );
      }
      return body;
    });
  }

  /** Releases the client's connections. */
  close(): void {
    for (const agent of this.#agents) agent.destroy();
  }

  #retry<T>(
    what: string,
    op: () => Promise<T>,
    options: RetryOptions = {},
  ): Promise<T> {
    // The SDK times its requests out itself (its `timeout` option).
    return retryWithin(op, {
      budgetMs: options.retryBudgetMs ?? this.#retryBudgetMs,
      classify: (error) =>
        classifyOssError(
          `OSS ${what} in bucket "${this.settings.bucket}" (${this.url})`,
          error,
          this.#requestTimeoutMs,
        ),
    });
  }
}
