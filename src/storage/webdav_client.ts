/**
 * The `webdav://` and `webdavs://` backend: a replica in a collection of a
 * WebDAV server, through npm `webdav`. It is asynchronous and runs in the
 * storage worker (ARCHITECTURE.md); the engine reaches it through
 * {@linkcode WorkerReplicaClient}.
 *
 * URL: `webdav://[user[:password]@]host[:port]/path` (plain HTTP) or
 * `webdavs://...` (HTTPS), as Litestream writes it; Litestream takes no query
 * parameters for WebDAV, and none are read here. Credentials: the URL's user
 * info, else `LITESTREAM_WEBDAV_USERNAME` / `LITESTREAM_WEBDAV_PASSWORD` (the
 * names Litestream's own WebDAV tests read). Basic or digest authentication,
 * whichever the server asks for: as Litestream's client (gowebdav) does, no
 * credentials are sent before the server has said which scheme it wants, so
 * a password never travels in the clear to a digest server.
 *
 * Layout: Litestream's `<path>/ltx/<level>/<min>-<max>.ltx` (its
 * `LTXFilePath`), one collection per level.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { AuthType, WebDAVClient } from "webdav";
import { formatFileName, ltxDir, parseFileName } from "../ltx/mod.ts";
import { readVariables } from "./_env.ts";
import { parseReplicaUrl, urlPath } from "./_options.ts";
import { confirmWritten } from "./_create_only.ts";
import { byMinTxid } from "./_layouts.ts";
import { retryLimits, retryWithin } from "./_retry.ts";
import { FileExistsError, ReplicaUrlError, StorageError } from "./errors.ts";
import type {
  LtxFileInfo,
  LtxFileName,
  ReplicaClient,
  RetryOptions,
} from "./replica_client.ts";
import { redactUrl } from "./replica_url.ts";

/** The environment variables the credentials may come from. */
export const WEBDAV_VARIABLES: readonly string[] = [
  "LITESTREAM_WEBDAV_USERNAME",
  "LITESTREAM_WEBDAV_PASSWORD",
];

/**
 * How old a create-only upload's lock collection must be, by the server's
 * clock, to count as left by a writer that died, in ms.
 */
export const WEBDAV_STALE_LOCK_MS = 30_000;

/** Settings parsed from a `webdav://` replica URL and the environment. */
export interface WebDavSettings {
  /** The server: `http://host:port` or `https://host:port`. */
  endpoint: string;
  /** The replica's collection, decoded, without leading or trailing slash. */
  path: string;
  /** User name, from the URL or `LITESTREAM_WEBDAV_USERNAME`. */
  username?: string;
  /** Password, from the URL or `LITESTREAM_WEBDAV_PASSWORD`. */
  password?: string;
}

/**
 * Parses a `webdav://` or `webdavs://` replica URL as Litestream does.
 *
 * @param url The replica URL.
 * @param env Environment to read (default: {@linkcode WEBDAV_VARIABLES} from
 * the process).
 * @returns The settings.
 * @throws {ReplicaUrlError} When the URL is malformed or has no host.
 *
 * @example Parse a URL with credentials
 * ```ts
 * import { parseWebDavUrl } from "./webdav_client.ts";
 * import assert from "node:assert/strict";
 * const s = parseWebDavUrl("webdavs://me:pw@dav.example:8443/backups/db", {});
 * assert.equal(s.endpoint, "https://dav.example:8443");
 * assert.equal(s.path, "backups/db");
 * assert.equal(s.username, "me");
 * ```
 */
export function parseWebDavUrl(
  url: string,
  env: Record<string, string | undefined> = readVariables(WEBDAV_VARIABLES),
): WebDavSettings {
  const parsed = parseReplicaUrl(url);
  const scheme = parsed.protocol.replace(/:$/, "").toLowerCase();
  if (scheme !== "webdav" && scheme !== "webdavs") {
    throw new ReplicaUrlError(
      `Replica URL "${
        redactUrl(url)
      }" is not a WebDAV URL: write "webdav://host:port/path" or "webdavs://host:port/path"`,
    );
  }
  if (parsed.hostname === "") {
    throw new ReplicaUrlError(
      `Replica URL "${
        redactUrl(url)
      }" has no host: write "webdav://host:port/path"`,
    );
  }
  const settings: WebDavSettings = {
    endpoint: `${scheme === "webdavs" ? "https" : "http"}://${parsed.host}`,
    path: urlPath(parsed),
  };
  const fromUrl = parsed.username !== "";
  const username = fromUrl
    ? decodeURIComponent(parsed.username)
    : env.LITESTREAM_WEBDAV_USERNAME;
  const password = fromUrl
    ? decodeURIComponent(parsed.password)
    : env.LITESTREAM_WEBDAV_PASSWORD;
  if (username) settings.username = username;
  if (password) settings.password = password;
  return settings;
}

/** Options for {@linkcode WebDavReplicaClient}. */
export interface WebDavClientOptions {
  /** Bound on the total time one operation spends retrying, in ms. */
  retryBudgetMs?: number;
  /** Timeout of one HTTP request, in ms. */
  requestTimeoutMs?: number;
  /**
   * Environment to read (default: {@linkcode WEBDAV_VARIABLES} from the
   * process).
   */
  env?: Record<string, string | undefined>;
}

/** What one request answered, read whole. */
interface Answer {
  status: number;
  headers: { get(name: string): string | null };
  body: Uint8Array;
}

/** A request for {@linkcode WebDavReplicaClient}'s transport. */
interface Call {
  method: string;
  /** Server path, decoded, with a leading slash. */
  path: string;
  headers?: Record<string, string>;
  data?: Uint8Array | string;
}

/**
 * npm `webdav`, loaded on first use: its minimatch reads an environment
 * variable when it loads (`__MINIMATCH_TESTING_PLATFORM__`), which would
 * fail every backend of the storage worker under narrow `--allow-env`
 * unless a WebDAV replica is opened.
 */
let webdavModule: Promise<typeof import("webdav")> | undefined;

function loadWebdav(): Promise<typeof import("webdav")> {
  webdavModule ??= import("webdav");
  return webdavModule;
}

/** A status answered where another was wanted, with the answer kept. */
class StatusError extends Error {
  readonly status: number;
  constructor(answer: Answer) {
    super(`HTTP ${answer.status}`);
    this.status = answer.status;
  }
}

/** A replica in a WebDAV collection. */
export class WebDavReplicaClient implements ReplicaClient {
  /** The replica URL, redacted. */
  readonly url: string;
  /** Parsed settings. */
  readonly settings: WebDavSettings;
  #retryBudgetMs: number;
  #requestTimeoutMs: number;
  #httpAgent = new HttpAgent({ keepAlive: true, maxSockets: Infinity });
  #httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: Infinity });
  /** The client, once the authentication scheme is known. */
  #client: Promise<WebDAVClient> | undefined;
  /** "digest" or "basic" once negotiated; undefined before, or without user. */
  #scheme: "basic" | "digest" | undefined;

  /**
   * @param url A `webdav://` or `webdavs://` replica URL.
   * @param options Retry bound, request timeout, environment.
   * @throws {ReplicaUrlError} When the URL is malformed.
   */
  constructor(url: string, options: WebDavClientOptions = {}) {
    this.url = redactUrl(url);
    this.settings = parseWebDavUrl(url, options.env);
    ({
      retryBudgetMs: this.#retryBudgetMs,
      requestTimeoutMs: this.#requestTimeoutMs,
    } = retryLimits(options));
  }

  /** The authentication scheme in use, once the server has asked for one. */
  get authScheme(): "basic" | "digest" | undefined {
    return this.#scheme;
  }

  #path(rest: string): string {
    const p = this.settings.path;
    return `/${p === "" ? rest : `${p}/${rest}`}`;
  }

  #make(
    dav: typeof import("webdav"),
    authType: AuthType,
  ): WebDAVClient {
    const s = this.settings;
    const none = authType === dav.AuthType.None;
    return dav.createClient(s.endpoint, {
      authType,
      username: none ? undefined : s.username,
      password: none ? undefined : s.password ?? "",
      httpAgent: this.#httpAgent,
      httpsAgent: this.#httpsAgent,
    });
  }

  /**
   * The client, after one request without credentials that tells which
   * scheme the server wants (when there are credentials to send). A digest
   * client makes one more request, so that parallel requests after it all
   * carry the server's nonce instead of each being refused once.
   */
  #connect(signal: AbortSignal): Promise<WebDAVClient> {
    if (this.#client === undefined) {
      this.#client = (async () => {
        const dav = await loadWebdav();
        if (this.settings.username === undefined) {
          return this.#make(dav, dav.AuthType.None);
        }
        const probe: Call = {
          method: "PROPFIND",
          path: this.#path(""),
          headers: { Depth: "0" },
        };
        const bare = await this.#raw(
          this.#make(dav, dav.AuthType.None),
          probe,
          signal,
        );
        const challenge = bare.headers.get("www-authenticate") ?? "";
        if (bare.status === 401 && /^\s*digest\b/i.test(challenge)) {
          const client = this.#make(dav, dav.AuthType.Digest);
          this.#scheme = "digest";
          await this.#raw(client, probe, signal);
          return client;
        }
        this.#scheme = "basic";
        return this.#make(dav, dav.AuthType.Password);
      })();
      this.#client.catch(() => this.#client = undefined);
    }
    return this.#client;
  }

  async #raw(
    client: WebDAVClient,
    call: Call,
    signal: AbortSignal,
  ): Promise<Answer> {
    let response: {
      status: number;
      headers: { get(name: string): string | null };
      arrayBuffer(): Promise<ArrayBuffer>;
    };
    try {
      response = await client.customRequest(
        call.path,
        {
          method: call.method,
          headers: call.headers,
          // The package sends a Buffer as it is, but a plain Uint8Array as JSON.
          data: call.data instanceof Uint8Array
            ? Buffer.from(
              call.data.buffer,
              call.data.byteOffset,
              call.data.length,
            )
            : call.data,
          signal,
        } as Parameters<WebDAVClient["customRequest"]>[1],
      );
    } catch (error) {
      // The package throws on statuses >= 400 (except a digest 401), with
      // the response attached: statuses are judged here.
      const answered = (error as { response?: typeof response }).response;
      if (answered === undefined) throw error;
      response = answered;
    }
    const body = new Uint8Array(await response.arrayBuffer());
    return { status: response.status, headers: response.headers, body };
  }

  /** One request, retried within the budget; any status is returned. */
  #request(
    what: string,
    call: Call,
    expect: (status: number) => boolean,
    options: RetryOptions = {},
  ): Promise<Answer> {
    return this.#retry(what, async (signal) => {
      const answer = await this.#raw(
        await this.#connect(signal),
        call,
        signal,
      );
      if (!expect(answer.status)) throw new StatusError(answer);
      return answer;
    }, options);
  }

  /**
   * {@inheritDoc ReplicaClient.listFiles}
   *
   * A PROPFIND of depth 1 on the level's collection; a collection that does
   * not exist has no files. Empty entries are left out: a server that
   * makes a file before its bytes have arrived lists it empty.
   */
  async listFiles(
    level: number,
    options: RetryOptions = {},
  ): Promise<LtxFileInfo[]> {
    const dir = `${this.#path(ltxDir(level))}/`;
    const answer = await this.#request(
      `list "${dir}"`,
      { method: "PROPFIND", path: dir, headers: { Depth: "1" } },
      (status) => status === 207 || status === 404,
      options,
    );
    if (answer.status === 404) return [];
    const dav = await loadWebdav();
    const files: LtxFileInfo[] = [];
    let result;
    try {
      result = await dav.parseXML(new TextDecoder().decode(answer.body));
    } catch (cause) {
      throw new StorageError(
        `WebDAV list "${dir}" (${this.url}): the server's PROPFIND answer is not a WebDAV multistatus`,
        { cause },
      );
    }
    for (const item of result.multistatus.response) {
      const href = String(item.href ?? "");
      const props = (item as { propstat?: { prop?: unknown } }).propstat?.prop;
      if (href.endsWith("/") || props === undefined) continue;
      const name = decodeURIComponent(href.slice(href.lastIndexOf("/") + 1));
      const txids = parseFileName(name);
      if (txids === undefined) continue;
      const stat = dav.prepareFileFromProps(
        props as Parameters<typeof dav.prepareFileFromProps>[0],
        name,
      );
      if (stat.type !== "file" || !(stat.size > 0)) continue;
      const modified = Date.parse(stat.lastmod);
      files.push({
        level,
        ...txids,
        size: stat.size,
        createdAt: Number.isNaN(modified) ? 0 : modified,
      });
    }
    return files.sort(byMinTxid);
  }

  /**
   * {@inheritDoc ReplicaClient.readRange}
   *
   * A GET with a `Range` header (npm `webdav`'s own range option is
   * ignored by the package): the server must answer 206 with exactly the
   * bytes asked for.
   */
  async readRange(
    file: LtxFileInfo,
    offset: number,
    length: number,
  ): Promise<Uint8Array> {
    if (length === 0) return new Uint8Array(0);
    const path = this.#filePath(file);
    const answer = await this.#request(
      `read "${path}"`,
      {
        method: "GET",
        path,
        headers: { Range: `bytes=${offset}-${offset + length - 1}` },
      },
      (status) => status === 206 || status === 200,
    );
    // A 200 is the whole file: right only when that is what was asked for.
    if (
      answer.status === 200 && (offset !== 0 || answer.body.length < length)
    ) {
      throw new StorageError(
        `WebDAV read "${path}" (${this.url}): the server ignored the Range header (HTTP 200 for bytes ${offset}-${
          offset + length - 1
        }); lsvfs needs a WebDAV server with range requests`,
      );
    }
    const body = answer.status === 200
      ? answer.body.subarray(0, length)
      : answer.body;
    if (body.length !== length) {
      throw new StorageError(
        `WebDAV read "${path}" (${this.url}): short read, wanted ${length} bytes at offset ${offset}, got ${body.length}`,
      );
    }
    return body;
  }

  #filePath(file: LtxFileName): string {
    return this.#path(
      `${ltxDir(file.level)}/${formatFileName(file.minTxid, file.maxTxid)}`,
    );
  }

  /**
   * {@inheritDoc ReplicaClient.createFile}
   *
   * The bytes go to a temporary name beside the file (`.lsvfs-<uuid>.tmp`,
   * which no listing takes for an LTX file). Then the writer takes the
   * name's lock, a collection `<file>.lock/` made with MKCOL (one mkdir on
   * the server: of two writers, exactly one makes it), MOVEs the bytes to
   * the name with `Overwrite: F` (412 when it exists), and removes the
   * lock. Neither a PUT with `If-None-Match: *` nor a MOVE alone is
   * enough: Apache's mod_dav checks the condition, then writes, and two
   * racing requests both pass the check; its LOCKs of unmapped names race
   * the same way. Missing collections are made level by level (MKCOL). A
   * name that holds the same bytes (a retried write's own first attempt)
   * counts as written.
   */
  async createFile(
    file: LtxFileName,
    bytes: Uint8Array,
    options: RetryOptions = {},
  ): Promise<void> {
    const path = this.#filePath(file);
    const temp = `${
      path.slice(0, path.lastIndexOf("/"))
    }/.lsvfs-${crypto.randomUUID()}.tmp`;
    await this.#withCollections(temp, options, () =>
      this.#request(
        `write "${temp}"`,
        {
          method: "PUT",
          path: temp,
          headers: { "Content-Type": "application/octet-stream" },
          data: bytes,
        },
        (s) => s === 200 || s === 201 || s === 204,
        options,
      ));
    const lock = `${path}.lock/`;
    try {
      if (!await this.#acquire(lock, options)) {
        throw new FileExistsError(
          `WebDAV "${path}" (${this.url}) is being created by another writer (it holds "${lock}")`,
        );
      }
    } catch (error) {
      await this.#remove(temp);
      throw error;
    }
    let moved: Answer;
    try {
      moved = await this.#request(
        `move "${temp}" to "${path}"`,
        {
          method: "MOVE",
          path: temp,
          headers: {
            Destination: `${this.settings.endpoint}${encodePath(path)}`,
            Overwrite: "F",
          },
        },
        // 404: the source is gone, moved by an attempt whose answer was lost.
        (s) => s === 201 || s === 204 || s === 412 || s === 404,
        options,
      );
    } catch (error) {
      await this.#remove(temp);
      throw error;
    } finally {
      await this.#remove(lock);
    }
    if (moved.status === 201 || moved.status === 204) return;
    if (moved.status === 412) await this.#remove(temp);
    await confirmWritten(
      bytes,
      () =>
        this.readRange(
          { ...file, size: bytes.length, createdAt: 0 },
          0,
          bytes.length,
        ),
      () =>
        new FileExistsError(
          `WebDAV "${path}" (${this.url}) exists: another writer made it first`,
        ),
    );
  }

  /**
   * Takes the lock collection of a name (MKCOL, which servers carry out as
   * one mkdir: of two writers, one makes it). A lock older than
   * {@linkcode WEBDAV_STALE_LOCK_MS} by the server's clock was left by a
   * writer that died: it is removed and taken once more.
   *
   * @returns False when another writer holds it.
   */
  async #acquire(lock: string, options: RetryOptions): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const made = await this.#request(
        `lock "${lock}"`,
        { method: "MKCOL", path: lock },
        (s) => s === 201 || s === 405 || s === 403,
        options,
      );
      if (made.status === 201) return true;
      const stat = await this.#request(
        `check lock "${lock}"`,
        { method: "PROPFIND", path: lock, headers: { Depth: "0" } },
        (s) => s === 207 || s === 404,
        options,
      );
      if (stat.status === 404) continue; // Released meanwhile: try again.
      const now = Date.parse(stat.headers.get("date") ?? "") || Date.now();
      const since = /getlastmodified>([^<]+)</i.exec(
        new TextDecoder().decode(stat.body),
      )?.[1];
      const age = now - (Date.parse(since ?? "") || now);
      if (age < WEBDAV_STALE_LOCK_MS) return false;
      await this.#remove(lock);
    }
    return false;
  }

  /** Deletes a temporary file, best effort: a stray one is never listed. */
  async #remove(path: string): Promise<void> {
    await this.#request(
      `delete "${path}"`,
      { method: "DELETE", path },
      () => true,
      { retryBudgetMs: 0 },
    ).catch(() => {});
  }

  /** Runs `op`; on 409 (a parent collection is missing), makes them and runs it again. */
  async #withCollections(
    path: string,
    options: RetryOptions,
    op: () => Promise<Answer>,
  ): Promise<Answer> {
    try {
      return await op();
    } catch (error) {
      if (!(error instanceof StorageError && statusOf(error) === 409)) {
        throw error;
      }
    }
    const parts = path.split("/").filter((p) => p !== "").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = `/${parts.slice(0, i).join("/")}/`;
      // 405: it exists (RFC 4918); 301: a redirect to the same; 403:
      // Apache, when another writer made it a moment ago, or forbidden.
      const made = await this.#request(
        `make collection "${dir}"`,
        { method: "MKCOL", path: dir },
        (s) =>
          s === 201 || s === 200 || s === 204 || s === 405 || s === 301 ||
          s === 403,
        options,
      );
      if (made.status === 403) {
        await this.#request(
          `make collection "${dir}"`,
          { method: "PROPFIND", path: dir, headers: { Depth: "0" } },
          (s) => s === 207,
          options,
        );
      }
    }
    return await op();
  }

  /** Releases the connections. */
  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
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
    const where = `WebDAV ${what} (${this.url})`;
    const cause = error;
    if (error instanceof StatusError) {
      const status = error.status;
      const user = this.settings.username;
      if (status === 401) {
        return new StorageError(
          user === undefined
            ? `${where}: HTTP 401, the server wants credentials: put them in the URL (webdav://user:password@host/path) or set LITESTREAM_WEBDAV_USERNAME and LITESTREAM_WEBDAV_PASSWORD`
            : `${where}: HTTP 401, the server refused user "${user}"${
              this.#scheme ? ` (${this.#scheme} authentication)` : ""
            }: check the user name and password (in the URL, or LITESTREAM_WEBDAV_USERNAME and LITESTREAM_WEBDAV_PASSWORD)`,
          { cause },
        );
      }
      if (status === 403) {
        return new StorageError(
          `${where}: HTTP 403, access denied${
            user === undefined ? "" : ` to user "${user}"`
          }: check the server's permissions for this path`,
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
      if (status === 405 || status === 501) {
        return new StorageError(
          `${where}: HTTP ${status}, the server does not allow this method here: is WebDAV enabled for this path?`,
          { cause },
        );
      }
      if (status === 416) {
        return new StorageError(
          `${where}: HTTP 416, the range is past the end of the file`,
          { cause },
        );
      }
      return new StorageError(`${where}: HTTP ${status}`, {
        cause,
        retryable: status >= 500 || status === 429 || status === 408,
      });
    }
    const e = error as { name?: string; code?: string; message?: string };
    const text = `${e?.name ?? ""} ${e?.code ?? ""} ${e?.message ?? ""}`;
    const aborted = /AbortError|aborted/i.test(text);
    const transient = aborted ||
      /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|socket hang up|network|connection|FetchError|premature close/i
        .test(text);
    const detail = aborted
      ? `no answer within ${this.#requestTimeoutMs} ms`
      : (e?.message ?? String(error)).replace(/https?:\/\/\S+/g, "<url>");
    return new StorageError(`${where}: ${detail}`, {
      cause,
      retryable: transient,
    });
  }
}

/** A decoded server path, percent-encoded segment by segment. */
function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

function statusOf(error: StorageError): number | undefined {
  return error.cause instanceof StatusError ? error.cause.status : undefined;
}
