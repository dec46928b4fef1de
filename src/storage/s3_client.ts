/**
 * The `s3://` backend: a replica in an S3 bucket or an S3-compatible service,
 * through `@aws-sdk/client-s3`. It is asynchronous and runs in the storage
 * worker (ARCHITECTURE.md); the engine reaches it through
 * {@linkcode WorkerReplicaClient}.
 *
 * URL: `s3://bucket/path?endpoint=...&region=...&forcePathStyle=true`, with
 * the query parameters Litestream accepts (`endpoint`, `region`,
 * `forcePathStyle`/`force-path-style`, `skipVerify`/`skip-verify`,
 * `signPayload`, `requireContentMD5`, `concurrency`, `partSize`,
 * `storageClass`, `sse*`; those that only matter for uploads are accepted and
 * ignored here). Credentials: `LITESTREAM_ACCESS_KEY_ID` /
 * `LITESTREAM_SECRET_ACCESS_KEY`, else the AWS SDK's default chain
 * (`AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, `~/.aws/credentials`, ...). Endpoint
 * from the URL, else `LITESTREAM_S3_ENDPOINT`; region from the URL, else
 * `AWS_REGION`, else `us-east-1`.
 *
 * @module
 */

import {
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { formatFileName } from "../ltx/mod.ts";
import { readVariables } from "./_env.ts";
import {
  accessKeys,
  boolOption,
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

/**
 * The environment variables the URL settings come from (the AWS SDK reads
 * its own, `AWS_*`, for the default credential chain).
 */
export const S3_VARIABLES: readonly string[] = [
  "LITESTREAM_S3_ENDPOINT",
  "LITESTREAM_ACCESS_KEY_ID",
  "LITESTREAM_SECRET_ACCESS_KEY",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
];

/** Region used when neither the URL nor the environment names one. */
export const DEFAULT_S3_REGION = "us-east-1";

/** Settings parsed from an `s3://` replica URL and the environment. */
export interface S3Settings {
  /** The bucket name. */
  bucket: string;
  /** The replica's key prefix, without leading or trailing slash ("" for the bucket root). */
  path: string;
  /** Region to sign for. */
  region: string;
  /** Custom endpoint (`http://host:port`), for S3-compatible services. */
  endpoint?: string;
  /** Address buckets as `endpoint/bucket` rather than `bucket.endpoint`. */
  forcePathStyle: boolean;
  /** Accept any TLS certificate (self-signed test servers). */
  skipVerify: boolean;
  /**
   * Keys from the environment (`LITESTREAM_ACCESS_KEY_ID` and
   * `LITESTREAM_SECRET_ACCESS_KEY`, else `AWS_ACCESS_KEY_ID`,
   * `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`); absent means the SDK's
   * default chain.
   */
  credentials?: {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
  };
}

/**
 * Parses an `s3://` replica URL as Litestream does.
 *
 * @param url The replica URL.
 * @param env Environment to read (default: {@linkcode S3_VARIABLES} from the
 * process).
 * @returns The settings.
 * @throws {ReplicaUrlError} When the URL has no bucket or a bad option.
 *
 * @example Parse an URL for a local S3-compatible server
 * ```ts
 * import { parseS3Url } from "./s3_client.ts";
 * import assert from "node:assert/strict";
 * const s = parseS3Url("s3://b/db?endpoint=127.0.0.1:9000", {});
 * assert.equal(s.endpoint, "http://127.0.0.1:9000");
 * assert.equal(s.forcePathStyle, true);
 * ```
 */
export function parseS3Url(
  url: string,
  env: Record<string, string | undefined> = readVariables(S3_VARIABLES),
): S3Settings {
  const parsed = parseReplicaUrl(url);
  const query = parsed.searchParams;
  const invalid = (problem: string) =>
    new ReplicaUrlError(`Replica URL "${redactUrl(url)}": ${problem}`);
  let bucket = decodeURIComponent(parsed.hostname);
  let endpoint: string | undefined;
  let forcePathStyle = false;
  let region: string | undefined;
  // `s3://bucket.host:port/path`: a MinIO-style host names the endpoint.
  if (parsed.port !== "" && !parsed.hostname.endsWith(".com")) {
    const dot = parsed.hostname.indexOf(".");
    if (dot < 0) {
      throw new ReplicaUrlError(
        `Replica URL "${
          redactUrl(url)
        }" has no bucket: write "s3://bucket/path?endpoint=http://host:port"`,
      );
    }
    bucket = parsed.hostname.slice(0, dot);
    endpoint = `http://${parsed.hostname.slice(dot + 1)}:${parsed.port}`;
    forcePathStyle = true;
  } else {
    const aws = /^(.+)\.s3(?:[.-]([a-z0-9-]+))?\.amazonaws\.com$/.exec(bucket);
    if (aws) {
      bucket = aws[1];
      region = aws[2];
    }
  }
  if (bucket === "") {
    throw new ReplicaUrlError(
      `Replica URL "${redactUrl(url)}" has no bucket: write "s3://bucket/path"`,
    );
  }
  const explicitPathStyle = boolOption(query, [
    "forcePathStyle",
    "force-path-style",
  ], invalid);
  const qEndpoint = query.get("endpoint");
  if (qEndpoint) {
    endpoint = endpointWithScheme(qEndpoint);
    if (explicitPathStyle !== false) forcePathStyle = true;
  }
  if (query.get("region")) region = query.get("region")!;
  if (explicitPathStyle !== undefined) forcePathStyle = explicitPathStyle;
  if (endpoint === undefined && env.LITESTREAM_S3_ENDPOINT) {
    endpoint = endpointWithScheme(env.LITESTREAM_S3_ENDPOINT);
    if (explicitPathStyle === undefined) forcePathStyle = true;
  }
  const skipVerify =
    boolOption(query, ["skipVerify", "skip-verify"], invalid) ?? false;
  // Accepted for compatibility; they matter only to uploads.
  checkWholeNumbers(query, UPLOAD_NUMBER_OPTIONS, invalid);
  region ??= env.AWS_REGION || env.AWS_DEFAULT_REGION || DEFAULT_S3_REGION;
  // Keys from the environment are handed to the SDK, so its default chain
  // (profiles, ~/.aws, instance metadata; more variables, more permissions)
  // runs only when there are none.
  const keys = accessKeys(env, {
    id: "AWS_ACCESS_KEY_ID",
    secret: "AWS_SECRET_ACCESS_KEY",
    token: "AWS_SESSION_TOKEN",
  });
  const settings: S3Settings = {
    bucket,
    path: urlPath(parsed),
    region,
    endpoint,
    forcePathStyle,
    skipVerify,
  };
  if (keys !== undefined) {
    settings.credentials = keys.token !== undefined
      ? {
        accessKeyId: keys.id,
        secretAccessKey: keys.secret,
        sessionToken: keys.token,
      }
      : { accessKeyId: keys.id, secretAccessKey: keys.secret };
  }
  return settings;
}

/** The level folders of the two layouts Litestream writes (see listFiles). */
const LAYOUTS: readonly Layout[] = [LTX_LAYOUT, HEX_LAYOUT];

/** Options for {@linkcode S3ReplicaClient}. */
export interface S3ClientOptions {
  /** Bound on the total time one operation spends retrying, in ms. */
  retryBudgetMs?: number;
  /** Timeout of one HTTP request, in ms. */
  requestTimeoutMs?: number;
  /** Environment to read (default: {@linkcode S3_VARIABLES} from the process). */
  env?: Record<string, string | undefined>;
}

/** A replica in an S3 bucket (or S3-compatible service). */
export class S3ReplicaClient implements ReplicaClient {
  /** The replica URL, redacted. */
  readonly url: string;
  /** Parsed settings. */
  readonly settings: S3Settings;
  #s3: S3Client;
  /** The layouts listed, and where each listed file lies (see listFiles). */
  #layouts = new LayoutListing(LAYOUTS.length);
  #retryBudgetMs: number;
  #requestTimeoutMs: number;

  /**
   * @param url An `s3://` replica URL.
   * @param options Retry bound, request timeout, environment.
   * @throws {ReplicaUrlError} When the URL is malformed.
   */
  constructor(url: string, options: S3ClientOptions = {}) {
    this.url = redactUrl(url);
    this.settings = parseS3Url(url, options.env);
    ({
      retryBudgetMs: this.#retryBudgetMs,
      requestTimeoutMs: this.#requestTimeoutMs,
    } = retryLimits(options));
    const s = this.settings;
    this.#s3 = new S3Client({
      region: s.region,
      endpoint: s.endpoint,
      forcePathStyle: s.forcePathStyle,
      credentials: s.credentials,
      // Retries are ours: bounded by time, classified by us.
      maxAttempts: 1,
      requestHandler: {
        requestTimeout: this.#requestTimeoutMs,
        connectionTimeout: this.#requestTimeoutMs,
        // The storage worker bounds the requests in flight (`maxInFlight`,
        // default 64). The SDK's own default of 50 sockets would queue the
        // tail of a larger batch behind the first answers: one more round
        // trip at open.
        httpAgent: { keepAlive: true, maxSockets: Infinity },
        httpsAgent: {
          keepAlive: true,
          maxSockets: Infinity,
          rejectUnauthorized: !s.skipVerify,
        },
      },
      // s3rver and many S3-compatible services do not send CRC checksums.
      responseChecksumValidation: "WHEN_REQUIRED",
      requestChecksumCalculation: "WHEN_REQUIRED",
    });
  }

  #key(rest: string): string {
    return underPrefix(this.settings.path, rest);
  }

  /**
   * {@inheritDoc ReplicaClient.listFiles}
   *
   * Litestream has laid levels out two ways on object storage: under
   * `ltx/<level>/` (its `LTXLevelDir`, as on every other backend) and, in
   * v0.5.17 among others, under `<level as 4 hex digits>/`. Until files
   * are found, and again once a minute, both prefixes are listed, in
   * parallel; in between, only the layouts files were found in. A file is
   * read where it was found.
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
      const out: ListObjectsV2CommandOutput = await this.#retry(
        `list "${prefix}"`,
        (signal) =>
          this.#s3.send(
            new ListObjectsV2Command({
              Bucket: this.settings.bucket,
              Prefix: prefix,
              ContinuationToken: token,
            }),
            { abortSignal: signal },
          ),
        options,
      );
      for (const obj of out.Contents ?? []) {
        const txids = ltxNameUnder(prefix, obj.Key ?? "");
        if (txids === undefined) continue;
        found.push({
          file: {
            level,
            ...txids,
            size: obj.Size ?? 0,
            createdAt: obj.LastModified?.getTime() ?? 0,
          },
          where: obj.Key!,
        });
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  /**
   * Where a file not listed yet lies: in Litestream's hex layout if only
   * that one has files, else under `ltx/`.
   */
  #newKey(file: LtxFileName): string {
    return this.#key(
      `${LAYOUTS[this.#layouts.writeCandidate](file.level)}${
        formatFileName(file.minTxid, file.maxTxid)
      }`,
    );
  }

  /**
   * {@inheritDoc ReplicaClient.createFile}
   *
   * A PutObject with `If-None-Match: *`, in the layout the replica's files
   * are in (`ltx/<level>/` for a new one). A 412 after a retry may be the
   * retried write's own first attempt: the object is read back, and the
   * same bytes count as written.
   */
  async createFile(
    file: LtxFileName,
    bytes: Uint8Array,
    options: RetryOptions = {},
  ): Promise<void> {
    const key = this.#newKey(file);
    await createOnly(bytes, {
      write: () =>
        this.#retry(`write "${key}"`, (signal) =>
          this.#s3.send(
            new PutObjectCommand({
              Bucket: this.settings.bucket,
              Key: key,
              Body: bytes,
              IfNoneMatch: "*",
            }),
            { abortSignal: signal },
          ), options),
      isConflict: (error) =>
        ((error as StorageError).cause as
          | { $metadata?: { httpStatusCode?: number } }
          | undefined)?.$metadata?.httpStatusCode === 412,
      readBack: () => {
        this.#layouts.place(file, key);
        return this.readRange(
          { ...file, size: bytes.length, createdAt: 0 },
          0,
          bytes.length,
        );
      },
      message:
        `"${key}" in bucket "${this.settings.bucket}" exists: another writer made it first`,
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
    return this.#retry(`read "${key}"`, async (signal) => {
      const out = await this.#s3.send(
        new GetObjectCommand({
          Bucket: this.settings.bucket,
          Key: key,
          // Explicit ranges only: some servers get suffix ranges wrong.
          Range: `bytes=${offset}-${offset + length - 1}`,
        }),
        { abortSignal: signal },
      );
      const body = await out.Body!.transformToByteArray();
      if (body.length !== length) {
        throw new StorageError(
          `Short read of "${key}": wanted ${length} bytes at offset ${offset}, got ${body.length}`,
        );
      }
      return body;
    });
  }

  /** Releases the SDK's connections. */
  close(): void {
    this.#s3.destroy();
  }

  #retry<T>(
    what: string,
    op: (signal: AbortSignal) => Promise<T>,
    options: RetryOptions = {},
  ): Promise<T> {
    return retryWithin(op, {
      budgetMs: options.retryBudgetMs ?? this.#retryBudgetMs,
      requestTimeoutMs: this.#requestTimeoutMs,
      classify: (error) => this.#classify(what, error),
    });
  }

  #classify(what: string, error: unknown): StorageError {
    if (error instanceof StorageError) return error;
    const e = error as {
      name?: string;
      code?: string;
      message?: string;
      $metadata?: { httpStatusCode?: number };
      $retryable?: unknown;
    };
    const status = e?.$metadata?.httpStatusCode;
    const name = e?.name ?? e?.code ?? "";
    const where =
      `S3 ${what} in bucket "${this.settings.bucket}" (${this.url})`;
    const cause = error;
    if (name === "NoSuchBucket") {
      return new StorageError(
        `${where}: no such bucket; check the bucket name and the endpoint/region`,
        { cause },
      );
    }
    if (
      status === 403 ||
      /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|CredentialsProviderError|ExpiredToken/
        .test(name)
    ) {
      return new StorageError(
        `${where}: access denied (${
          name || status
        }); check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, LITESTREAM_ACCESS_KEY_ID/LITESTREAM_SECRET_ACCESS_KEY or AWS_PROFILE) and the bucket policy`,
        { cause },
      );
    }
    if (status === 404 || name === "NoSuchKey" || name === "NotFound") {
      return new StorageError(
        `${where}: not found (deleted by compaction or retention?)`,
        // As on file://: a vanished file is what compaction looks like.
        { cause, retryable: name === "NoSuchKey" },
      );
    }
    if (
      status === 301 || status === 307 || name === "PermanentRedirect"
    ) {
      return new StorageError(
        `${where}: the bucket is in another region; set region= in the URL or AWS_REGION`,
        { cause },
      );
    }
    const transient = (status !== undefined &&
      (status >= 500 || status === 429 || status === 408)) ||
      /Throttl|SlowDown|RequestTimeout|TimeoutError|AbortError|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|socket hang up|NetworkingError|connection/i
        .test(`${name} ${e?.code ?? ""} ${e?.message ?? ""}`);
    const detail = status !== undefined
      ? `HTTP ${status}${name ? ` ${name}` : ""}`
      : /AbortError/.test(name)
      ? `no answer within ${this.#requestTimeoutMs} ms`
      : (e?.message ?? String(error)).replace(/https?:\/\/\S+/g, "<url>");
    return new StorageError(`${where}: ${detail}`, {
      cause,
      retryable: transient,
    });
  }
}
