/**
 * The `abs://` backend: a replica in an Azure Blob Storage container (or
 * Azurite), through `@azure/storage-blob`. It is asynchronous and runs in
 * the storage worker (ARCHITECTURE.md); the engine reaches it through
 * {@linkcode WorkerReplicaClient}.
 *
 * URL: `abs://[account@]container/path?endpoint=...`, as Litestream writes
 * it (the account in the user part), with Litestream's `endpoint` setting
 * as a query parameter (`http://127.0.0.1:10000/devstoreaccount1` for
 * Azurite). Files lie where Litestream's abs client puts them:
 * `<path>/ltx/<level>/<min>-<max>.ltx`, with the LTX timestamp in the
 * blob metadata `litestreamtimestamp`.
 *
 * Credentials, first found wins: `LITESTREAM_AZURE_SAS_TOKEN`, then
 * `LITESTREAM_AZURE_ACCOUNT_KEY` (Litestream's order: SAS token before
 * account key), then `AZURE_STORAGE_CONNECTION_STRING` (its key or SAS, and
 * its account and endpoint unless the URL names them), then Azure's
 * `AZURE_STORAGE_SAS_TOKEN` and `AZURE_STORAGE_KEY`; none means anonymous
 * access (a public container). The account: the URL's user part, else the
 * connection string's (when its credentials are used), else
 * `AZURE_STORAGE_ACCOUNT`, else the connection string's, else the first
 * path segment of an Azurite-style endpoint (or the first label of
 * `<account>.blob.<suffix>`). The endpoint: the URL's `endpoint`, else the
 * connection string's (for its account), else
 * `https://<account>.blob.core.windows.net`.
 *
 * @module
 */

import type {
  ContainerClient,
  ContainerListBlobFlatSegmentResponse,
} from "@azure/storage-blob";
import { decodeHeader, formatFileName, ltxDir, ltxPath } from "../ltx/mod.ts";
import { readVariables } from "./_env.ts";
import { parseReplicaUrl, underPrefix } from "./_options.ts";
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

/** The environment variables the Azure backend reads. */
export const ABS_VARIABLES: readonly string[] = [
  "LITESTREAM_AZURE_SAS_TOKEN",
  "LITESTREAM_AZURE_ACCOUNT_KEY",
  "AZURE_STORAGE_CONNECTION_STRING",
  "AZURE_STORAGE_ACCOUNT",
  "AZURE_STORAGE_SAS_TOKEN",
  "AZURE_STORAGE_KEY",
];

/** Blob metadata key Litestream stores an LTX file's timestamp under. */
export const ABS_TIMESTAMP_METADATA = "litestreamtimestamp";

/** How the client proves who it is to Azure. */
export type AbsCredential =
  | {
    /** A shared-key signature with the account key. */
    kind: "key";
    /** The account key (base64). */
    accountKey: string;
    /** The variable it came from, for messages. */
    source: string;
  }
  | {
    /** A shared access signature appended to every request. */
    kind: "sas";
    /** The SAS token, without a leading `?`. */
    sasToken: string;
    /** The variable it came from, for messages. */
    source: string;
  }
  | {
    /** No credentials: only a public container can be read. */
    kind: "anonymous";
  };

/** Settings parsed from an `abs://` replica URL and the environment. */
export interface AbsSettings {
  /** The container name. */
  container: string;
  /** The replica's blob-name prefix, without leading or trailing slash ("" for the container root). */
  path: string;
  /** The storage account name ("" when only an endpoint names it). */
  account: string;
  /** The blob service endpoint, `https://<account>.blob.core.windows.net` unless set. */
  endpoint: string;
  /** The credential to use. */
  credential: AbsCredential;
}

/**
 * Parses an `abs://` replica URL as Litestream does, with credentials from
 * the environment.
 *
 * @param url The replica URL.
 * @param env Environment to read (default: {@linkcode ABS_VARIABLES} from
 * the process).
 * @returns The settings.
 * @throws {ReplicaUrlError} When the URL has no container, no account can
 * be found, or the connection string is malformed.
 *
 * @example Parse a URL for Azurite
 * ```ts
 * import { parseAbsUrl } from "./abs_client.ts";
 * import assert from "node:assert/strict";
 * const s = parseAbsUrl(
 *   "abs://replicas/db?endpoint=http://127.0.0.1:10000/devstoreaccount1",
 *   { LITESTREAM_AZURE_ACCOUNT_KEY: "a2V5" },
 * );
 * assert.equal(s.account, "devstoreaccount1");
 * assert.equal(s.credential.kind, "key");
 * ```
 */
export function parseAbsUrl(
  url: string,
  env: Record<string, string | undefined> = readVariables(ABS_VARIABLES),
): AbsSettings {
  const shown = redactUrl(url);
  const parsed = parseReplicaUrl(url, shown);
  const container = decodeURIComponent(parsed.hostname);
  if (container === "") {
    throw new ReplicaUrlError(
      `Replica URL "${shown}" has no container: write "abs://[account@]container/path"`,
    );
  }
  const path = decodeURIComponent(parsed.pathname).split("/")
    .filter((part) => part !== "" && part !== ".").join("/");
  const connection = env.AZURE_STORAGE_CONNECTION_STRING
    ? parseConnectionString(env.AZURE_STORAGE_CONNECTION_STRING, shown)
    : undefined;

  let credential: AbsCredential = { kind: "anonymous" };
  let fromConnection = false;
  if (env.LITESTREAM_AZURE_SAS_TOKEN) {
    credential = sas(
      env.LITESTREAM_AZURE_SAS_TOKEN,
      "LITESTREAM_AZURE_SAS_TOKEN",
    );
  } else if (env.LITESTREAM_AZURE_ACCOUNT_KEY) {
    credential = key(
      env.LITESTREAM_AZURE_ACCOUNT_KEY,
      "LITESTREAM_AZURE_ACCOUNT_KEY",
    );
  } else if (connection !== undefined) {
    fromConnection = true;
    if (connection.SharedAccessSignature) {
      credential = sas(
        connection.SharedAccessSignature,
        "AZURE_STORAGE_CONNECTION_STRING",
      );
    } else if (connection.AccountKey) {
      credential = key(
        connection.AccountKey,
        "AZURE_STORAGE_CONNECTION_STRING",
      );
    }
  } else if (env.AZURE_STORAGE_SAS_TOKEN) {
    credential = sas(env.AZURE_STORAGE_SAS_TOKEN, "AZURE_STORAGE_SAS_TOKEN");
  } else if (env.AZURE_STORAGE_KEY) {
    credential = key(env.AZURE_STORAGE_KEY, "AZURE_STORAGE_KEY");
  }

  let endpoint = parsed.searchParams.get("endpoint") || undefined;
  if (endpoint !== undefined) endpoint = ensureScheme(endpoint, shown);
  let account = decodeURIComponent(parsed.username) ||
    (fromConnection ? connection!.AccountName : undefined) ||
    env.AZURE_STORAGE_ACCOUNT || connection?.AccountName || "";
  if (
    endpoint === undefined && connection !== undefined &&
    (fromConnection || account === connection.AccountName)
  ) {
    endpoint = connectionEndpoint(connection, shown);
  }
  if (account === "" && endpoint !== undefined) {
    account = accountOfEndpoint(endpoint) ?? "";
  }
  if (endpoint === undefined) {
    if (account === "") {
      throw new ReplicaUrlError(
        `Replica URL "${shown}" names no storage account: write "abs://ACCOUNT@${container}/${path}", set AZURE_STORAGE_ACCOUNT, or give an endpoint= URL`,
      );
    }
    endpoint = `https://${account}.blob.core.windows.net`;
  } else if (account !== "" && isAddress(endpoint) && pathOf(endpoint) === "") {
    // Azurite and other IP-style endpoints name the account in the path.
    endpoint = `${endpoint}/${account}`;
  }
  if (credential.kind === "key" && account === "") {
    throw new ReplicaUrlError(
      `Replica URL "${shown}": an account key (${credential.source}) needs the account name: write "abs://ACCOUNT@${container}/${path}" or set AZURE_STORAGE_ACCOUNT`,
    );
  }
  return { container, path, account, endpoint, credential };
}

function sas(token: string, source: string): AbsCredential {
  return { kind: "sas", sasToken: token.replace(/^\?/, ""), source };
}

function key(accountKey: string, source: string): AbsCredential {
  return { kind: "key", accountKey, source };
}

/** The fields of an Azure Storage connection string, by name. */
function parseConnectionString(
  value: string,
  shown: string,
): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const part of value.split(";")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) {
      throw new ReplicaUrlError(
        `Replica URL "${shown}": AZURE_STORAGE_CONNECTION_STRING is malformed: expected "Name=value" pairs separated by ";"`,
      );
    }
    fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  if (/^true$/i.test(fields.UseDevelopmentStorage ?? "")) {
    throw new ReplicaUrlError(
      `Replica URL "${shown}": AZURE_STORAGE_CONNECTION_STRING "UseDevelopmentStorage=true" is not supported: give AccountName, AccountKey and BlobEndpoint`,
    );
  }
  return fields;
}

function connectionEndpoint(
  fields: Record<string, string>,
  shown: string,
): string | undefined {
  if (fields.BlobEndpoint) return ensureScheme(fields.BlobEndpoint, shown);
  if (!fields.AccountName) return undefined;
  const protocol = fields.DefaultEndpointsProtocol || "https";
  const suffix = fields.EndpointSuffix || "core.windows.net";
  return ensureScheme(
    `${protocol}://${fields.AccountName}.blob.${suffix}`,
    shown,
  );
}

/** An endpoint with its scheme, checked: Litestream's S3 rule, http for local hosts. */
function ensureScheme(endpoint: string, shown: string): string {
  const trimmed = endpoint.replace(/\/+$/, "");
  const local = /^(localhost|127\.|\[::1\])/i.test(trimmed);
  const full = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)
    ? trimmed
    : `${local ? "http" : "https"}://${trimmed}`;
  let url: URL | undefined;
  try {
    url = new URL(full);
  } catch {
    // Reported below.
  }
  if (url === undefined || !/^https?:$/.test(url.protocol) || url.search) {
    throw new ReplicaUrlError(
      `Replica URL "${shown}": endpoint "${
        endpoint.replace(/\?.*$/, "")
      }" is not an http(s) URL: write "endpoint=https://ACCOUNT.blob.core.windows.net" or "endpoint=http://127.0.0.1:10000/devstoreaccount1"`,
    );
  }
  return full;
}

function isAddress(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === "localhost" || /^\d+\.\d+\.\d+\.\d+$/.test(host) ||
    host.startsWith("[");
}

function pathOf(endpoint: string): string {
  return new URL(endpoint).pathname.replace(/^\/+|\/+$/g, "");
}

function accountOfEndpoint(endpoint: string): string | undefined {
  const url = new URL(endpoint);
  if (isAddress(endpoint)) return pathOf(endpoint).split("/")[0] || undefined;
  const account = /^([a-z0-9]+)\.blob\./i.exec(url.hostname)?.[1];
  return account?.toLowerCase();
}

/** Options for {@linkcode AbsReplicaClient}. */
export interface AbsClientOptions {
  /** Bound on the total time one operation spends retrying, in ms. */
  retryBudgetMs?: number;
  /** Timeout of one HTTP request, with its body, in ms. */
  requestTimeoutMs?: number;
  /** Environment to read (default: {@linkcode ABS_VARIABLES} from the process). */
  env?: Record<string, string | undefined>;
  /** Blobs per page of a listing (default: the service's, 5000 on Azure). */
  listPageSize?: number;
}

/** A replica in an Azure Blob Storage container. */
export class AbsReplicaClient implements ReplicaClient {
  /** The replica URL, redacted. */
  readonly url: string;
  /** Parsed settings. */
  readonly settings: AbsSettings;
  #container: Promise<ContainerClient> | undefined;
  #retryBudgetMs: number;
  #requestTimeoutMs: number;
  #listPageSize: number | undefined;

  /**
   * @param url An `abs://` replica URL.
   * @param options Retry bound, request timeout, environment.
   * @throws {ReplicaUrlError} When the URL is malformed or names no account.
   */
  constructor(url: string, options: AbsClientOptions = {}) {
    this.url = redactUrl(url);
    this.settings = parseAbsUrl(url, options.env);
    ({
      retryBudgetMs: this.#retryBudgetMs,
      requestTimeoutMs: this.#requestTimeoutMs,
    } = retryLimits(options));
    this.#listPageSize = options.listPageSize;
  }

  /**
   * The SDK's client for the container, made on first use: the SDK is
   * loaded only when an `abs://` replica is used (it and its dependencies
   * read the environment as they load), never for the other backends.
   */
  #containerClient(): Promise<ContainerClient> {
    this.#container ??= (async () => {
      const sdk = await import("@azure/storage-blob");
      const s = this.settings;
      const pipeline = {
        // Retries are ours: bounded by time, classified by us.
        retryOptions: { maxTries: 1 },
        userAgentOptions: { userAgentPrefix: "lsvfs" },
      };
      const service = s.credential.kind === "key"
        ? new sdk.BlobServiceClient(
          s.endpoint,
          new sdk.StorageSharedKeyCredential(
            s.account,
            s.credential.accountKey,
          ),
          pipeline,
        )
        : new sdk.BlobServiceClient(
          s.credential.kind === "sas"
            ? `${s.endpoint}?${s.credential.sasToken}`
            : s.endpoint,
          new sdk.AnonymousCredential(),
          pipeline,
        );
      return service.getContainerClient(s.container);
    })();
    return this.#container;
  }

  #blobName(rest: string): string {
    return underPrefix(this.settings.path, rest);
  }

  /**
   * {@inheritDoc ReplicaClient.listFiles}
   *
   * Lists the blobs under `<path>/ltx/<level>/`, page by page (each page
   * retried on its own), with their metadata: a file's `createdAt` is its
   * `litestreamtimestamp`, else the blob's creation time.
   */
  async listFiles(
    level: number,
    options: RetryOptions = {},
  ): Promise<LtxFileInfo[]> {
    const prefix = this.#blobName(`${ltxDir(level)}/`);
    const files: LtxFileInfo[] = [];
    let token: string | undefined;
    do {
      const page: ContainerListBlobFlatSegmentResponse = await this.#retry(
        `list "${prefix}"`,
        async (container, signal) => {
          const pages = container
            .listBlobsFlat({
              prefix,
              includeMetadata: true,
              abortSignal: signal,
            })
            .byPage({
              continuationToken: token,
              maxPageSize: this.#listPageSize,
            });
          const next = await pages.next();
          return next.value as ContainerListBlobFlatSegmentResponse;
        },
        options,
      );
      for (const blob of page.segment.blobItems) {
        const txids = ltxNameUnder(prefix, blob.name);
        if (txids === undefined) continue;
        files.push({
          level,
          ...txids,
          size: blob.properties.contentLength ?? 0,
          createdAt: createdAt(blob.metadata, blob.properties),
        });
      }
      token = page.continuationToken || undefined;
    } while (token);
    return files.sort(byMinTxid);
  }

  /**
   * {@inheritDoc ReplicaClient.createFile}
   *
   * A Put Blob with `If-None-Match: *` (Azure answers 409
   * BlobAlreadyExists when the blob is there), with the LTX header's
   * timestamp in the `litestreamtimestamp` metadata, as Litestream writes
   * it. A 409 after a retry may be the retried write's own first attempt:
   * the blob is read back, and the same bytes count as written.
   */
  async createFile(
    file: LtxFileName,
    bytes: Uint8Array,
    options: RetryOptions = {},
  ): Promise<void> {
    const name = this.#blobName(
      ltxPath(file.level, file.minTxid, file.maxTxid),
    );
    const metadata: Record<string, string> = {};
    try {
      const header = decodeHeader(
        bytes,
        formatFileName(file.minTxid, file.maxTxid),
      );
      metadata[ABS_TIMESTAMP_METADATA] = new Date(header.timestamp)
        .toISOString();
    } catch {
      // Not an LTX file (tests write a few bytes): no timestamp to keep.
    }
    await createOnly(bytes, {
      write: () =>
        this.#retry(
          `write "${name}"`,
          (container, signal) =>
            container.getBlockBlobClient(name).upload(
              bytes,
              bytes.length,
              {
                conditions: { ifNoneMatch: "*" },
                metadata,
                blobHTTPHeaders: {
                  blobContentType: "application/octet-stream",
                },
                abortSignal: signal,
              },
            ),
          options,
        ),
      isConflict: (error) => {
        const status = ((error as StorageError).cause as
          | { statusCode?: number }
          | undefined)?.statusCode;
        return status === 409 || status === 412;
      },
      readBack: () =>
        this.readRange(
          { ...file, size: bytes.length, createdAt: 0 },
          0,
          bytes.length,
        ),
      message:
        `Azure blob "${name}" in container "${this.settings.container}" exists: another writer made it first`,
    });
  }

  /** {@inheritDoc ReplicaClient.readRange} */
  readRange(
    file: LtxFileInfo,
    offset: number,
    length: number,
  ): Promise<Uint8Array> {
    const name = this.#blobName(
      ltxPath(file.level, file.minTxid, file.maxTxid),
    );
    if (length === 0) return Promise.resolve(new Uint8Array(0));
    return this.#retry(`read "${name}"`, async (container, signal) => {
      const out = await container.getBlobClient(name).download(
        offset,
        length,
        { abortSignal: signal },
      );
      const body = await readBody(out.readableStreamBody, signal);
      if (body.length !== length) {
        throw new StorageError(
          `Azure short read of "${name}" in container "${this.settings.container}" (${this.url}): wanted ${length} bytes at offset ${offset}, got ${body.length}`,
        );
      }
      return body;
    });
  }

  /** Nothing to release: the SDK's connections close when idle. */
  close(): void {}

  async #retry<T>(
    what: string,
    op: (container: ContainerClient, signal: AbortSignal) => Promise<T>,
    options: RetryOptions = {},
  ): Promise<T> {
    const classify = (error: unknown) =>
      classifyAbsError(error, {
        what,
        container: this.settings.container,
        account: this.settings.account,
        url: this.url,
        credential: this.settings.credential,
        requestTimeoutMs: this.#requestTimeoutMs,
      });
    let container: ContainerClient;
    try {
      // Loading the SDK is not part of the budget.
      container = await this.#containerClient();
    } catch (error) {
      throw classify(error);
    }
    return retryWithin((signal) => op(container, signal), {
      budgetMs: options.retryBudgetMs ?? this.#retryBudgetMs,
      requestTimeoutMs: this.#requestTimeoutMs,
      classify,
    });
  }
}

function createdAt(
  metadata: Record<string, string> | undefined,
  properties: { createdOn?: Date; lastModified?: Date },
): number {
  const stamp = metadata?.[ABS_TIMESTAMP_METADATA];
  if (stamp !== undefined) {
    const ms = Date.parse(stamp);
    if (Number.isFinite(ms)) return ms;
  }
  return properties.createdOn?.getTime() ??
    properties.lastModified?.getTime() ??
    0;
}

/** Reads a download's body whole; the signal's abort ends it with an error. */
async function readBody(
  body: NodeJS.ReadableStream | undefined,
  signal: AbortSignal,
): Promise<Uint8Array> {
  if (body === undefined) return new Uint8Array(0);
  const stream = body as NodeJS.ReadableStream & {
    destroy?(error?: Error): void;
  };
  const onAbort = () => {
    const error = new Error("The body did not arrive in time");
    error.name = "AbortError";
    stream.destroy?.(error);
  };
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of stream) {
      const bytes = typeof chunk === "string"
        ? new TextEncoder().encode(chunk)
        : chunk as Uint8Array;
      chunks.push(bytes);
      size += bytes.length;
    }
    if (signal.aborted) onAbort();
    const out = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** What {@linkcode classifyAbsError} says an error happened to. */
export interface AbsErrorContext {
  /** The operation and object: `read "db/ltx/0/...ltx"`. */
  what: string;
  /** The container. */
  container: string;
  /** The storage account ("" when unknown). */
  account: string;
  /** The replica URL, redacted. */
  url: string;
  /** The credential in use, to name where it came from. */
  credential: AbsCredential;
  /** The request timeout, to say what a timeout was. */
  requestTimeoutMs: number;
}

/**
 * Turns an error from the Azure SDK (a `RestError`, an abort, a network
 * error) into a {@linkcode StorageError} that names Azure, the operation,
 * the object and the replica URL, says what to do, and says whether trying
 * again may help. Credentials never appear in it: URLs in the SDK's
 * messages are cut.
 *
 * @param error What the SDK threw.
 * @param context What was being done, and where.
 * @returns The classified error (the original as its `cause`).
 *
 * @example A refused signature
 * ```ts
 * import { classifyAbsError } from "./abs_client.ts";
 * import assert from "node:assert/strict";
 * const e = classifyAbsError(
 *   Object.assign(new Error("denied"), {
 *     statusCode: 403,
 *     code: "AuthorizationFailure",
 *   }),
 *   {
 *     what: 'list "db/ltx/0/"',
 *     container: "c",
 *     account: "a",
 *     url: "abs://a@c/db",
 *     credential: { kind: "anonymous" },
 *     requestTimeoutMs: 5000,
 *   },
 * );
 * assert.match(e.message, /Azure .*refused the credentials/);
 * assert.equal(e.retryable, false);
 * ```
 */
export function classifyAbsError(
  error: unknown,
  context: AbsErrorContext,
): StorageError {
  if (error instanceof StorageError) return error;
  const e = error as {
    name?: string;
    code?: string;
    message?: string;
    statusCode?: number;
  };
  const status = e?.statusCode;
  const code = e?.code ?? "";
  const name = e?.name ?? "";
  const account = context.account ? ` of account "${context.account}"` : "";
  const where =
    `Azure ${context.what} in container "${context.container}"${account} (${context.url})`;
  const cause = error;
  if (code === "ContainerNotFound") {
    return new StorageError(
      `${where}: no such container "${context.container}"; create it, or check the container name, the account and the endpoint`,
      { cause },
    );
  }
  if (
    status === 401 || status === 403 ||
    /^(Authentication|Authorization|InvalidAuthenticationInfo|NoAuthenticationInformation)/
      .test(code)
  ) {
    const used = context.credential.kind === "anonymous"
      ? "no credentials were given: set LITESTREAM_AZURE_ACCOUNT_KEY (with the account name) or LITESTREAM_AZURE_SAS_TOKEN"
      : `check ${context.credential.source}${
        context.credential.kind === "key"
          ? " and the account name"
          : " (its permissions and expiry)"
      }`;
    return new StorageError(
      `${where}: Azure refused the credentials (HTTP ${status ?? "?"}${
        code ? ` ${code}` : ""
      }); ${used}`,
      { cause },
    );
  }
  if (status === 404 || code === "BlobNotFound") {
    // As on file://: a vanished file is what compaction looks like.
    return new StorageError(
      `${where}: not found (deleted by compaction or retention?)`,
      { cause, retryable: code === "BlobNotFound" },
    );
  }
  if (status === undefined && /ENOTFOUND/.test(`${code} ${e?.message ?? ""}`)) {
    return new StorageError(
      `${where}: the endpoint's host name does not resolve; check the account name and the endpoint`,
      { cause },
    );
  }
  const transient = (status !== undefined &&
    (status >= 500 || status === 429 || status === 408)) ||
    (status === undefined &&
      /AbortError|Timeout|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|socket hang up|REQUEST_SEND_ERROR|premature close|aborted|network|connection/i
        .test(`${name} ${code} ${e?.message ?? ""}`));
  const detail = status !== undefined
    ? `HTTP ${status}${code ? ` ${code}` : ""}`
    : /AbortError/.test(name)
    ? `no answer within ${context.requestTimeoutMs} ms`
    : (e?.message ?? String(error)).replace(/https?:\/\/\S+/g, "<url>")
      .replace(/sig=[^&\s]+/gi, "sig=***");
  return new StorageError(`${where}: ${detail}`, {
    cause,
    retryable: transient,
  });
}
