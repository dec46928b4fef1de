/**
 * The `gs://` backend: a replica in a Google Cloud Storage bucket, through
 * `@google-cloud/storage`. It is asynchronous and runs in the storage worker
 * (ARCHITECTURE.md); the engine reaches it through
 * {@linkcode WorkerReplicaClient}.
 *
 * URL: `gs://bucket/path`, as Litestream takes it (its `gs` client reads no
 * query parameters). Credentials: Application Default Credentials, as
 * Litestream documents them: `GOOGLE_APPLICATION_CREDENTIALS` names a
 * service-account key file (else gcloud's application-default login, else
 * the metadata server on Google Cloud). A service-account key signs its
 * own JWTs, as Google's Go SDK (and so Litestream) does, so no token
 * exchange is needed.
 *
 * Another address: `STORAGE_EMULATOR_HOST` (`host:port` or a URL), as
 * Google's SDKs take it, means an emulator, reached without credentials;
 * the `endpoint` URL option (an lsvfs addition: Litestream's `gs` client
 * has none) means another address of the real API (a Private Service
 * Connect endpoint, a proxy), reached with credentials.
 *
 * @module
 */

import { Storage } from "@google-cloud/storage";
import {
  decodeHeader,
  formatFileName,
  HEADER_SIZE,
  ltxDir,
} from "../ltx/mod.ts";
import { readVariables } from "./_env.ts";
import { parseReplicaUrl, underPrefix, urlPath } from "./_options.ts";
import { createOnly } from "./_create_only.ts";
import { byMinTxid, ltxNameUnder } from "./_layouts.ts";
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
 * The environment variables the settings come from. Google's SDK reads
 * these itself too, and, for Application Default Credentials without a key
 * file, gcloud's configuration folder and the metadata server's variables.
 */
export const GCS_VARIABLES: readonly string[] = [
  "GOOGLE_APPLICATION_CREDENTIALS",
  "STORAGE_EMULATOR_HOST",
];

/** Metadata key of an LTX file's timestamp, as Litestream writes it (RFC 3339). */
export const GCS_TIMESTAMP_METADATA_KEY = "litestream-timestamp";

/** Settings parsed from a `gs://` replica URL and the environment. */
export interface GcsSettings {
  /** The bucket name. */
  bucket: string;
  /** The replica's object prefix, without leading or trailing slash ("" for the bucket root). */
  path: string;
  /**
   * Where the JSON API is (`http://host:port`), when not at Google's
   * default address: from the `endpoint` URL option, else
   * `STORAGE_EMULATOR_HOST`.
   */
  endpoint?: string;
  /**
   * Whether requests carry credentials: false for an emulator
   * (`STORAGE_EMULATOR_HOST`, as Google's SDKs do), true otherwise.
   */
  authenticated: boolean;
  /** The service-account key file `GOOGLE_APPLICATION_CREDENTIALS` names, if set. */
  credentialsFile?: string;
}

/**
 * Parses a `gs://` replica URL as Litestream does.
 *
 * @param url The replica URL.
 * @param env Environment to read (default: {@linkcode GCS_VARIABLES} from
 * the process).
 * @returns The settings.
 * @throws {ReplicaUrlError} When the URL has no bucket or a bad endpoint.
 *
 * @example Parse an URL for an emulator
 * ```ts
 * import { parseGcsUrl } from "./gs_client.ts";
 * import assert from "node:assert/strict";
 * const s = parseGcsUrl("gs://b/db", { STORAGE_EMULATOR_HOST: "127.0.0.1:9199" });
 * assert.equal(s.endpoint, "http://127.0.0.1:9199");
 * assert.equal(s.authenticated, false);
 * ```
 */
export function parseGcsUrl(
  url: string,
  env: Record<string, string | undefined> = readVariables(GCS_VARIABLES),
): GcsSettings {
  const parsed = parseReplicaUrl(url);
  if (parsed.protocol !== "gs:") {
    throw new ReplicaUrlError(
      `Replica URL "${
        redactUrl(url)
      }" is not a GCS URL: write "gs://bucket/path"`,
    );
  }
  const bucket = decodeURIComponent(parsed.hostname);
  if (bucket === "" || parsed.port !== "") {
    throw new ReplicaUrlError(
      `Replica URL "${
        redactUrl(url)
      }" has no bucket: write "gs://bucket/path" (an emulator's address goes in STORAGE_EMULATOR_HOST, another API address in "?endpoint=")`,
    );
  }
  const settings: GcsSettings = {
    bucket,
    path: urlPath(parsed),
    authenticated: true,
  };
  const endpoint = parsed.searchParams.get("endpoint");
  if (endpoint) {
    settings.endpoint = endpointUrl(url, "endpoint", endpoint);
  } else if (env.STORAGE_EMULATOR_HOST) {
    settings.endpoint = endpointUrl(
      url,
      "STORAGE_EMULATOR_HOST",
      env.STORAGE_EMULATOR_HOST,
    );
    settings.authenticated = false;
  }
  if (env.GOOGLE_APPLICATION_CREDENTIALS) {
    settings.credentialsFile = env.GOOGLE_APPLICATION_CREDENTIALS;
  }
  return settings;
}

function endpointUrl(url: string, name: string, value: string): string {
  const withScheme = /^https?:\/\//i.test(value) ? value : `http://${value}`;
  try {
    const endpoint = new URL(withScheme);
    if (endpoint.pathname !== "/" || endpoint.search !== "") {
      throw new TypeError("a path or query");
    }
    return endpoint.origin;
  } catch (cause) {
    throw new ReplicaUrlError(
      `Replica URL "${
        redactUrl(url)
      }": ${name} must be "host:port" or "http(s)://host:port", got "${value}"`,
      { cause },
    );
  }
}

/**
 * The creation time of an object, as Litestream reads it: its
 * `litestream-timestamp` metadata (RFC 3339, up to nanoseconds), else the
 * object's `timeCreated`.
 *
 * @param metadata An object's metadata from a listing.
 * @returns Milliseconds since the epoch; 0 when neither is there.
 *
 * @example The metadata wins over the object's time
 * ```ts
 * import { objectTime } from "./gs_client.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   objectTime({
 *     timeCreated: "2025-01-02T00:00:00Z",
 *     metadata: { "litestream-timestamp": "2025-01-01T00:00:00.123456789Z" },
 *   }),
 *   Date.UTC(2025, 0, 1, 0, 0, 0, 123),
 * );
 * ```
 */
export function objectTime(metadata: {
  timeCreated?: string;
  metadata?: Record<string, unknown> | null;
}): number {
  const stamp = metadata.metadata?.[GCS_TIMESTAMP_METADATA_KEY];
  if (typeof stamp === "string") {
    // Go's RFC3339Nano: up to 9 fractional digits; Date.parse wants 3.
    const ms = Date.parse(
      stamp.replace(/(\.\d{3})\d+/, "$1"),
    );
    if (!Number.isNaN(ms)) return ms;
  }
  const created = Date.parse(metadata.timeCreated ?? "");
  return Number.isNaN(created) ? 0 : created;
}

/** An HTTP answer that is not a success, with Google's message. */
class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
  }
}

/** HTTP status of a failed request, if it got an answer. */
function statusOf(error: unknown): number | undefined {
  return error instanceof HttpError ? error.status : undefined;
}

/**
 * What is wrong with the credentials, said without quoting the SDK: its
 * messages can quote the key file's content (a JSON parse error shows the
 * bytes it choked on).
 *
 * @returns A short reason, or undefined when the error is not about
 * credentials.
 */
function credentialsProblem(message: string): string | undefined {
  if (/client_email|private_key/i.test(message)) {
    return "the key file lacks client_email or private_key";
  }
  if (/PEM|DECODER|asn1|key format/i.test(message)) {
    return "the key file's private_key is not a PEM key";
  }
  if (!/credential/i.test(message)) return undefined;
  if (/ENOENT|does not exist/i.test(message)) {
    return "the key file does not exist";
  }
  if (/EACCES|EPERM|permission/i.test(message)) {
    return "the key file cannot be read";
  }
  if (/Could not load the default credentials/i.test(message)) {
    return "none found";
  }
  if (/Unexpected token|Unexpected end|JSON/i.test(message)) {
    return "the key file is not JSON";
  }
  return "the SDK cannot use them";
}

/** Options for {@linkcode GcsReplicaClient}. */
export interface GcsClientOptions {
  /** Bound on the total time one operation spends retrying, in ms. */
  retryBudgetMs?: number;
  /** Timeout of one HTTP request, in ms. */
  requestTimeoutMs?: number;
  /** Objects asked for per page of a listing (Google's default: 1000). */
  pageSize?: number;
  /**
   * Environment to read (default: {@linkcode GCS_VARIABLES} from the
   * process). Google's SDK reads the process's own
   * `GOOGLE_APPLICATION_CREDENTIALS`, whatever this says.
   */
  env?: Record<string, string | undefined>;
}

/** One object of a JSON API listing, as far as it is read here. */
interface ListedObject {
  name: string;
  size?: string;
  timeCreated?: string;
  metadata?: Record<string, unknown>;
}

/**
 * A replica in a Google Cloud Storage bucket.
 *
 * `@google-cloud/storage` gives it the API's address and, through its own
 * auth client, the credentials of every request (Application Default
 * Credentials, scoped for Cloud Storage). The requests themselves are
 * `fetch`es of the same JSON API URLs the SDK uses, with a signal that
 * ends them: the SDK's own requests (teeny-request over node-fetch 3)
 * drop its `timeout` option and take no abort signal, so a server that
 * accepts and never answers would hold a call for ever (seen here), and
 * its streamed downloads print a MaxListenersExceededWarning on every read
 * under Deno.
 */
export class GcsReplicaClient implements ReplicaClient {
  /** The replica URL, redacted. */
  readonly url: string;
  /** Parsed settings. */
  readonly settings: GcsSettings;
  #storage: Storage;
  #apiUrl: string;
  #uploadUrl: string;
  #retryBudgetMs: number;
  #requestTimeoutMs: number;
  #pageSize: number | undefined;

  /**
   * @param url A `gs://` replica URL.
   * @param options Retry bound, request timeout, page size, environment.
   * @throws {ReplicaUrlError} When the URL is malformed.
   */
  constructor(url: string, options: GcsClientOptions = {}) {
    this.url = redactUrl(url);
    this.settings = parseGcsUrl(url, options.env);
    ({
      retryBudgetMs: this.#retryBudgetMs,
      requestTimeoutMs: this.#requestTimeoutMs,
    } = retryLimits(options));
    this.#pageSize = options.pageSize;
    const s = this.settings;
    this.#storage = new Storage({
      ...(s.endpoint === undefined ? {} : { apiEndpoint: s.endpoint }),
      useAuthWithCustomEndpoint: s.authenticated,
    });
    // A service-account key signs its own JWTs, as the Go SDK does (and as
    // Google's generated clients do): no token exchange with Google's
    // OAuth server.
    this.#storage.authClient.useJWTAccessWithScope = true;
    // Not the SDK's baseUrl: it takes STORAGE_EMULATOR_HOST from the
    // process as it is, and "host:port", as Google's Go SDK (and so
    // Litestream) takes it, is no URL.
    const origin = s.endpoint ?? this.#storage.apiEndpoint;
    const bucket = encodeURIComponent(s.bucket);
    this.#apiUrl = `${origin}/storage/v1/b/${bucket}/o`;
    this.#uploadUrl = `${origin}/upload/storage/v1/b/${bucket}/o`;
  }

  #key(rest: string): string {
    return underPrefix(this.settings.path, rest);
  }

  #name(file: LtxFileName): string {
    return this.#key(
      `${ltxDir(file.level)}/${formatFileName(file.minTxid, file.maxTxid)}`,
    );
  }

  /**
   * One request with the SDK's credentials (none for an emulator), ended
   * after the request timeout, credentials included.
   *
   * @throws {HttpError} When the answer is not a 2xx.
   */
  async #fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const signal = AbortSignal.timeout(this.#requestTimeoutMs);
    const headers = new Headers(init.headers);
    if (this.settings.authenticated) {
      const auth = await new Promise<Headers>((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
        this.#storage.authClient.getRequestHeaders(url).then(
          (h) => resolve(new Headers(h)),
          reject,
        ).finally(() => signal.removeEventListener("abort", onAbort));
      });
      for (const [name, value] of auth) headers.set(name, value);
    }
    const response = await fetch(url, { ...init, headers, signal });
    if (response.ok) return response;
    const text = await response.text().catch(() => "");
    let message = text.slice(0, 200);
    try {
      message = JSON.parse(text).error?.message ?? message;
    } catch {
      // Not Google's JSON error: keep the text.
    }
    throw new HttpError(response.status, message);
  }

  /**
   * {@inheritDoc ReplicaClient.listFiles}
   *
   * Litestream's `gs` client keeps each level under `<path>/ltx/<level>/`
   * (its `LTXLevelDir`); the listing follows `nextPageToken` to the end.
   */
  async listFiles(
    level: number,
    options: RetryOptions = {},
  ): Promise<LtxFileInfo[]> {
    const prefix = this.#key(`${ltxDir(level)}/`);
    const files: LtxFileInfo[] = [];
    let pageToken: string | undefined;
    do {
      const query = new URLSearchParams({ prefix });
      if (pageToken !== undefined) query.set("pageToken", pageToken);
      if (this.#pageSize !== undefined) {
        query.set("maxResults", String(this.#pageSize));
      }
      const page = await this.#retry(
        `list "${prefix}"`,
        async () =>
          (await (await this.#fetch(`${this.#apiUrl}?${query}`)).json()) as {
            items?: ListedObject[];
            nextPageToken?: string;
          },
        options,
      );
      for (const object of page.items ?? []) {
        const txids = ltxNameUnder(prefix, object.name);
        if (txids === undefined) continue;
        files.push({
          level,
          ...txids,
          size: Number(object.size ?? 0),
          createdAt: objectTime(object),
        });
      }
      pageToken = page.nextPageToken || undefined;
    } while (pageToken);
    return files.sort(byMinTxid);
  }

  /**
   * {@inheritDoc ReplicaClient.createFile}
   *
   * One multipart upload with `ifGenerationMatch=0`, which Google refuses
   * (412) when the object exists. The object gets Litestream's
   * `litestream-timestamp` metadata from the LTX header. A 412 after a
   * retry may be the retried write's own first attempt: the object is read
   * back, and the same bytes count as written.
   */
  async createFile(
    file: LtxFileName,
    bytes: Uint8Array,
    options: RetryOptions = {},
  ): Promise<void> {
    const name = this.#name(file);
    const metadata: Record<string, string> = {};
    if (bytes.length >= HEADER_SIZE) {
      try {
        const { timestamp } = decodeHeader(bytes, name);
        metadata[GCS_TIMESTAMP_METADATA_KEY] = new Date(timestamp)
          .toISOString();
      } catch {
        // Not an LTX file (tests write any bytes): no timestamp to keep.
      }
    }
    const boundary = `lsvfs-${crypto.randomUUID()}`;
    const head = new TextEncoder().encode(
      `--${boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n${
        JSON.stringify({
          name,
          contentType: "application/octet-stream",
          metadata,
        })
      }\r\n--${boundary}\r\ncontent-type: application/octet-stream\r\n\r\n`,
    );
    const tail = new TextEncoder().encode(`\r\n--${boundary}--\r\n`);
    const body = new Uint8Array(head.length + bytes.length + tail.length);
    body.set(head);
    body.set(bytes, head.length);
    body.set(tail, head.length + bytes.length);
    await createOnly(bytes, {
      write: () =>
        this.#retry(
          `write "${name}"`,
          async () => {
            const response = await this.#fetch(
              `${this.#uploadUrl}?uploadType=multipart&ifGenerationMatch=0`,
              {
                method: "POST",
                headers: {
                  "content-type": `multipart/related; boundary=${boundary}`,
                },
                body,
              },
            );
            await response.body?.cancel();
          },
          options,
        ),
      isConflict: (error) => statusOf((error as StorageError).cause) === 412,
      readBack: () =>
        this.readRange(
          { ...file, size: bytes.length, createdAt: 0 },
          0,
          bytes.length,
        ),
      message:
        `GCS object "${name}" in bucket "${this.settings.bucket}" exists: another writer made it first`,
    });
  }

  /** {@inheritDoc ReplicaClient.readRange} */
  readRange(
    file: LtxFileInfo,
    offset: number,
    length: number,
  ): Promise<Uint8Array> {
    const name = this.#name(file);
    if (length === 0) return Promise.resolve(new Uint8Array(0));
    const url = `${this.#apiUrl}/${encodeURIComponent(name)}?alt=media`;
    return this.#retry(`read "${name}"`, async () => {
      const response = await this.#fetch(url, {
        headers: { range: `bytes=${offset}-${offset + length - 1}` },
      });
      let body = new Uint8Array(await response.arrayBuffer());
      // A server that ignores Range answers 200 with the whole object.
      if (response.status === 200) {
        body = body.subarray(offset, offset + length);
      }
      if (body.length !== length) {
        throw new StorageError(
          `GCS read "${name}" in bucket "${this.settings.bucket}" (${this.url}): short read: wanted ${length} bytes at offset ${offset}, got ${body.length}`,
        );
      }
      return body;
    });
  }

  /** Nothing to release: requests hold no connection between calls. */
  close(): void {}

  #retry<T>(
    what: string,
    op: () => Promise<T>,
    options: RetryOptions = {},
  ): Promise<T> {
    // #fetch ends each request after the request timeout itself.
    return retryWithin(op, {
      budgetMs: options.retryBudgetMs ?? this.#retryBudgetMs,
      classify: (error) => this.#classify(what, error),
    });
  }

  #classify(what: string, error: unknown): StorageError {
    if (error instanceof StorageError) return error;
    const e = error as {
      name?: string;
      code?: unknown;
      message?: string;
      cause?: { message?: string; code?: string };
    };
    const status = statusOf(error);
    // fetch's "fetch failed" says why in its cause.
    const message = [e?.message ?? String(error), e?.cause?.message]
      .filter(Boolean).join(": ");
    const code = typeof e?.code === "string" ? e.code : e?.cause?.code ?? "";
    const bucket = this.settings.bucket;
    const where = `GCS ${what} in bucket "${bucket}" (${this.url})`;
    const cause = error;
    const credentials = this.settings.credentialsFile === undefined
      ? "set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file"
      : "check the service-account key file GOOGLE_APPLICATION_CREDENTIALS names";
    if (status === 404 && /bucket/i.test(message)) {
      return new StorageError(
        `${where}: no such bucket "${bucket}"; check the bucket name${
          this.settings.endpoint === undefined ? "" : " and the endpoint"
        }`,
        { cause },
      );
    }
    if (status === 401) {
      return new StorageError(
        `${where}: not authenticated (HTTP 401); ${credentials}`,
        { cause },
      );
    }
    if (status === 403) {
      return new StorageError(
        `${where}: access denied (HTTP 403); the service account needs the Storage Object Viewer role on the bucket (Storage Object Creator to write)`,
        { cause },
      );
    }
    const problem = status === undefined
      ? credentialsProblem(`${message} ${code}`)
      : undefined;
    if (problem !== undefined) {
      return new StorageError(
        `${where}: no usable credentials (${problem}); ${credentials}`,
        { cause },
      );
    }
    if (status === 404) {
      return new StorageError(
        `${where}: not found (deleted by compaction or retention?)`,
        // As on file://: a vanished file is what compaction looks like.
        { cause, retryable: true },
      );
    }
    if (status === 412) {
      return new StorageError(`${where}: the object exists (HTTP 412)`, {
        cause,
      });
    }
    const transient = (status !== undefined &&
      (status >= 500 || status === 429 || status === 408)) ||
      (status === undefined &&
        /Timeout|Abort|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|socket hang up|network|connect|connection|error sending request|fetch failed|premature close|terminated|reset/i
          .test(`${e?.name ?? ""} ${code} ${message}`));
    const detail = status !== undefined
      ? `HTTP ${status}${
        message ? ` ${message.replace(/https?:\/\/\S+/g, "<url>")}` : ""
      }`
      : /Timeout|Abort/.test(e?.name ?? "")
      ? `no answer within ${this.#requestTimeoutMs} ms`
      : message.replace(/https?:\/\/\S+/g, "<url>");
    return new StorageError(`${where}: ${detail}`, {
      cause,
      retryable: transient,
    });
  }
}
