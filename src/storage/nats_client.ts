/**
 * The `nats://` backend: a replica in a NATS JetStream object store bucket,
 * through `@nats-io/transport-node` and `@nats-io/obj`. It is asynchronous
 * and runs in the storage worker (ARCHITECTURE.md); the engine reaches it
 * through {@linkcode WorkerReplicaClient}.
 *
 * URL: `nats://[user:password@]host[:port][,host[:port]...]/bucket[/path]`
 * (port 4222 by default). Litestream takes the whole URL path as the bucket
 * and keeps its files at the bucket's root, as `ltx/<level>/<min>-<max>.ltx`;
 * here the first path segment is the bucket and the rest, if any, a prefix
 * before `ltx/` (a bucket name cannot hold a slash, so every URL Litestream
 * accepts means the same here). The bucket must exist (`nats object store
 * add BUCKET`), as Litestream requires.
 *
 * Credentials, as Litestream's replica settings name them, from the URL
 * (its query parameters carry the settings' names) or the environment (the
 * variables of the `nats` CLI), the first found in Litestream's order: a
 * credentials file (`creds=`, `NATS_CREDS`; it holds a user JWT and NKey
 * seed, so Litestream's separate `jwt`/`seed` settings are not needed),
 * user and password (in the URL as Litestream's VFS takes them, or
 * `NATS_USER` and `NATS_PASSWORD`), a token (`token=`, `NATS_TOKEN`).
 * TLS: `tls=true`, `root-cas=` (comma-separated files, `NATS_CA`),
 * `client-cert=` and `client-key=` (`NATS_CERT`, `NATS_KEY`); the server's
 * certificate is checked against the URL's host names or addresses.
 * `timeout=` (a Go duration) bounds one request.
 *
 * The object store has no range reads (an object is a stream of chunks) and
 * no listing by prefix (a listing is the whole bucket's): a listing is
 * filtered here, and a read fetches the whole LTX file once and keeps it in
 * a byte-bounded LRU in memory (64 MiB by default, option `cacheBytes`), so
 * that all the pages of one file cost one download. A file larger than the
 * bound is streamed up to the range asked for, every time. Writes are
 * create-only: a put that expects the object's last revision (0 for a new
 * name, the tombstone's after a delete), so that of two racing writers
 * exactly one wins.
 *
 * @module
 */

import type { Socket } from "node:net";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import {
  credsAuthenticator,
  headers as natsHeaders,
  type MsgHdrs,
  type NatsConnection,
  NatsConnectionImpl,
  type NodeConnectionOptions,
  setTransportFactory,
} from "@nats-io/transport-node";
import {
  nodeResolveHost,
  NodeTransport,
} from "@nats-io/transport-node/lib/node_transport.js";
import { type ObjectStore, Objm } from "@nats-io/obj";
import { decodeHeader, formatFileName, ltxDir } from "../ltx/mod.ts";
import { readVariables } from "./_env.ts";
import { boolOption, underPrefix } from "./_options.ts";
import { confirmWritten } from "./_create_only.ts";
import { byMinTxid, ltxNameUnder } from "./_layouts.ts";
import { LtxMemoryCache } from "./_ltx_memory_cache.ts";
import { Final, retryLimits, retryWithin } from "./_retry.ts";
import { FileExistsError, ReplicaUrlError, StorageError } from "./errors.ts";
import type {
  LtxFileInfo,
  LtxFileName,
  ReplicaClient,
  RetryOptions,
} from "./replica_client.ts";

/** The environment variables the client reads (those of the `nats` CLI, and a token). */
export const NATS_VARIABLES: readonly string[] = [
  "NATS_USER",
  "NATS_PASSWORD",
  "NATS_TOKEN",
  "NATS_CREDS",
  "NATS_CA",
  "NATS_CERT",
  "NATS_KEY",
];

/** Port used when the URL names none. */
export const DEFAULT_NATS_PORT = 4222;

/** Default bound on the LTX files kept whole in memory, in bytes. */
export const DEFAULT_NATS_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * The object header Litestream stores an LTX file's timestamp in (RFC 3339);
 * it is written here too.
 */
export const NATS_TIMESTAMP_HEADER = "Litestream-Timestamp";

/** Settings parsed from a `nats://` replica URL and the environment. */
export interface NatsSettings {
  /** The servers, as `host:port`. */
  servers: string[];
  /** The object store bucket. */
  bucket: string;
  /** The prefix before `ltx/`, without leading or trailing slash ("" for the bucket root, Litestream's layout). */
  path: string;
  /** User name, with {@linkcode NatsSettings.password}. */
  user?: string;
  /** Password (never shown in messages). */
  password?: string;
  /** Token (never shown in messages). */
  token?: string;
  /** A credentials file (user JWT and NKey seed). */
  credsFile?: string;
  /** Whether to require TLS (also implied by any of the TLS files). */
  tls: boolean;
  /** Root CA files (PEM). */
  rootCas: string[];
  /** Client certificate file (PEM), with {@linkcode NatsSettings.clientKey}. */
  clientCert?: string;
  /** Client key file (PEM). */
  clientKey?: string;
  /** Timeout of one request from the URL's `timeout=`, in ms. */
  timeoutMs?: number;
}

/**
 * Removes the password, and query parameters that hold secrets, from a
 * `nats://` URL. Unlike a WHATWG `URL`, it accepts the comma-separated
 * server list NATS URLs may carry.
 *
 * @param url A replica URL.
 * @returns The URL with `***` in place of secrets.
 *
 * @example Redact a password
 * ```ts
 * import { redactNatsUrl } from "./nats_client.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   redactNatsUrl("nats://me:pw@a:4222,b:4222/bucket?token=t"),
 *   "nats://me:***@a:4222,b:4222/bucket?token=***",
 * );
 * ```
 */
export function redactNatsUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*@)?([^?#]*)(\?[^#]*)?(#.*)?$/i
    .exec(url);
  if (m === null) return url.replace(/:[^:@/]*@/, ":***@");
  const [, scheme, userinfo = "", rest, query = "", hash = ""] = m;
  const colon = userinfo.indexOf(":");
  const user = colon < 0 ? userinfo : `${userinfo.slice(0, colon)}:***@`;
  const params = query === "" ? "" : "?" + query.slice(1).split("&").map(
    (pair) => {
      const eq = pair.indexOf("=");
      const key = eq < 0 ? pair : pair.slice(0, eq);
      return /token|pass|secret|seed|jwt|sig/i.test(key) && eq >= 0
        ? `${key}=***`
        : pair;
    },
  ).join("&");
  return `${scheme}${user}${rest}${params}${hash}`;
}

const BUCKET_NAME = /^[-\w]+$/;

/**
 * Parses a `nats://` replica URL as Litestream does, and reads the
 * credentials it does not carry from the environment.
 *
 * @param url The replica URL.
 * @param env Environment to read (default: {@linkcode NATS_VARIABLES} from
 * the process).
 * @returns The settings.
 * @throws {ReplicaUrlError} When the URL has no bucket or a bad option.
 *
 * @example Parse a URL with a prefix
 * ```ts
 * import { parseNatsUrl } from "./nats_client.ts";
 * import assert from "node:assert/strict";
 * const s = parseNatsUrl("nats://127.0.0.1/replicas/app/db", {});
 * assert.deepEqual(s.servers, ["127.0.0.1:4222"]);
 * assert.equal(s.bucket, "replicas");
 * assert.equal(s.path, "app/db");
 * ```
 */
export function parseNatsUrl(
  url: string,
  env: Record<string, string | undefined> = readVariables(NATS_VARIABLES),
): NatsSettings {
  const shown = redactNatsUrl(url);
  const m = /^nats:\/\/(?:([^/?#]*)@)?([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#.*)?$/i
    .exec(url);
  if (m === null) {
    throw new ReplicaUrlError(
      `Invalid NATS replica URL "${shown}": write "nats://host:port/bucket/path"`,
    );
  }
  const [, userinfo, authority, pathname, rawQuery = ""] = m;
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch (cause) {
      throw new ReplicaUrlError(
        `Invalid NATS replica URL "${shown}": bad percent-encoding`,
        { cause },
      );
    }
  };
  const servers = authority === ""
    ? [`127.0.0.1:${DEFAULT_NATS_PORT}`]
    : authority.split(",").map((host) => serverAddress(host, shown));
  const segments = decode(pathname).split("/").filter((s) => s !== "");
  const bucket = segments[0] ?? "";
  if (bucket === "") {
    throw new ReplicaUrlError(
      `NATS replica URL "${shown}" has no bucket: write "nats://host:port/bucket" (or "nats://host:port/bucket/path")`,
    );
  }
  if (!BUCKET_NAME.test(bucket)) {
    throw new ReplicaUrlError(
      `NATS replica URL "${shown}": "${bucket}" is not a bucket name (letters, digits, "-" and "_" only)`,
    );
  }
  const query = new URLSearchParams(rawQuery);
  const settings: NatsSettings = {
    servers,
    bucket,
    path: segments.slice(1).join("/"),
    tls: boolOption(
      query,
      ["tls"],
      (problem) =>
        new ReplicaUrlError(`NATS replica URL "${shown}": ${problem}`),
    ) ?? false,
    rootCas: [],
  };
  if (userinfo !== undefined && userinfo !== "") {
    const colon = userinfo.indexOf(":");
    settings.user = decode(colon < 0 ? userinfo : userinfo.slice(0, colon));
    settings.password = colon < 0
      ? env.NATS_PASSWORD
      : decode(userinfo.slice(colon + 1));
    if (settings.password === undefined) {
      throw new ReplicaUrlError(
        `NATS replica URL "${shown}" names user "${settings.user}" but no password: write "nats://user:password@host/bucket" or set NATS_PASSWORD`,
      );
    }
  } else if (env.NATS_USER && env.NATS_PASSWORD !== undefined) {
    settings.user = env.NATS_USER;
    settings.password = env.NATS_PASSWORD;
  }
  const token = query.get("token") || env.NATS_TOKEN;
  if (token) settings.token = token;
  const creds = query.get("creds") || env.NATS_CREDS;
  if (creds) settings.credsFile = creds;
  const rootCas = query.get("root-cas") ?? query.get("rootCAs") ?? env.NATS_CA;
  if (rootCas) {
    settings.rootCas = rootCas.split(",").map((s) => s.trim()).filter((s) =>
      s !== ""
    );
  }
  const cert = query.get("client-cert") || env.NATS_CERT;
  const key = query.get("client-key") || env.NATS_KEY;
  if (
    (cert === undefined || cert === "") !== (key === undefined || key === "")
  ) {
    throw new ReplicaUrlError(
      `NATS replica URL "${shown}": client-cert and client-key must both be given for mutual TLS`,
    );
  }
  if (cert && key) {
    settings.clientCert = cert;
    settings.clientKey = key;
  }
  if (settings.rootCas.length > 0 || settings.clientCert !== undefined) {
    settings.tls = true;
  }
  const timeout = query.get("timeout");
  if (timeout !== null && timeout !== "") {
    const ms = goDurationMs(timeout);
    if (ms === undefined || ms <= 0) {
      throw new ReplicaUrlError(
        `NATS replica URL "${shown}": "timeout" must be a positive duration such as "10s" or "500ms", got "${timeout}"`,
      );
    }
    settings.timeoutMs = ms;
  }
  return settings;
}

function serverAddress(host: string, shown: string): string {
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d+))?$/i.exec(host);
  if (m === null || (m[2] !== undefined && Number(m[2]) > 65535)) {
    throw new ReplicaUrlError(
      `NATS replica URL "${shown}": "${host}" is not a host[:port]`,
    );
  }
  return `${m[1]}:${m[2] ?? DEFAULT_NATS_PORT}`;
}

const DURATION_UNITS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
  us: 0.001,
  "µs": 0.001,
  ns: 0.000001,
};

/** A Go duration ("10s", "1m30s", "500ms") in ms; undefined if it is not one. */
function goDurationMs(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) {
    return undefined;
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * DURATION_UNITS[p[2]], 0);
}

/**
 * An error listener that stays on a socket after the transport removes its
 * own: under Deno, the server's reset of a connection the transport has
 * already let go of (as after "Authorization Violation") is otherwise an
 * uncaught error that ends the storage worker.
 */
function guardSocket<T extends Socket>(socket: T): T {
  const noop = () => {};
  const removeAll = socket.removeAllListeners.bind(socket);
  socket.removeAllListeners = (...args: [event?: string | symbol]) => {
    // Node tells "no argument" (all events) from an undefined event name.
    removeAll(...args);
    const event = args[0];
    if (event === undefined || event === "error") socket.on("error", noop);
    return socket;
  };
  socket.on("error", noop);
  return socket;
}

class GuardedTransport extends NodeTransport {
  override async dial(hp: { hostname: string; port: number }) {
    return guardSocket(await super.dial(hp));
  }
  override async startTLS() {
    return guardSocket(await super.startTLS());
  }
  override async tlsFirst(hp: { hostname: string; port: number }) {
    return guardSocket(await super.tlsFirst(hp));
  }
}

/**
 * Connects to NATS as `connect()` of `@nats-io/transport-node` does, over a
 * transport whose sockets never raise an uncaught error once the transport
 * is done with them (see the module's source).
 *
 * @param options Connection options.
 * @returns The connection.
 */
export function connectNats(
  options: NodeConnectionOptions,
): Promise<NatsConnection> {
  setTransportFactory({
    factory: () => new GuardedTransport(),
    dnsResolveFn: nodeResolveHost,
  });
  return NatsConnectionImpl.connect(options);
}

/** Options for {@linkcode NatsReplicaClient}. */
export interface NatsClientOptions {
  /** Bound on the total time one operation spends retrying, in ms. */
  retryBudgetMs?: number;
  /** Timeout of one request, in ms (the URL's `timeout=` wins). */
  requestTimeoutMs?: number;
  /** Bound on the LTX files kept whole in memory, in bytes. */
  cacheBytes?: number;
  /** Environment to read (default: {@linkcode NATS_VARIABLES} from the process). */
  env?: Record<string, string | undefined>;
}

/** What a listing keeps of an object. */
interface Listed {
  name: string;
  size: number;
  mtime: string;
  headers?: MsgHdrs | Record<string, string[]>;
}

/** A replica in a NATS JetStream object store bucket. */
export class NatsReplicaClient implements ReplicaClient {
  /** The replica URL, redacted. */
  readonly url: string;
  /** Parsed settings. */
  readonly settings: NatsSettings;
  #retryBudgetMs: number;
  #requestTimeoutMs: number;
  #cache: LtxMemoryCache;
  #connection?: Promise<NatsConnection>;
  #store?: Promise<ObjectStore>;
  /** The connection #store was opened on. */
  #nc?: NatsConnection;
  /** The listing under way, shared by the levels listed at once. */
  #listing?: Promise<Listed[]>;
  /** Whole-file downloads under way, by object name. */
  #downloading = new Map<string, Promise<Uint8Array>>();
  #downloads = 0;
  #listings = 0;
  #closed = false;

  /**
   * @param url A `nats://` replica URL.
   * @param options Retry bound, request timeout, cache bound, environment.
   * @throws {ReplicaUrlError} When the URL is malformed.
   */
  constructor(url: string, options: NatsClientOptions = {}) {
    this.url = redactNatsUrl(url);
    this.settings = parseNatsUrl(url, options.env);
    ({
      retryBudgetMs: this.#retryBudgetMs,
      requestTimeoutMs: this.#requestTimeoutMs,
    } = retryLimits({
      retryBudgetMs: options.retryBudgetMs,
      requestTimeoutMs: this.settings.timeoutMs ?? options.requestTimeoutMs,
    }));
    this.#cache = new LtxMemoryCache(
      options.cacheBytes ?? DEFAULT_NATS_CACHE_BYTES,
    );
  }

  /** How many objects were fetched from the server so far (each a whole stream). */
  get downloads(): number {
    return this.#downloads;
  }

  /** How many times the bucket was listed so far. */
  get listings(): number {
    return this.#listings;
  }

  /** The bytes of LTX files kept in memory now. */
  get cachedBytes(): number {
    return this.#cache.bytes;
  }

  /** The object name of an LTX file: `<path>/ltx/<level>/<min>-<max>.ltx`. */
  objectName(file: LtxFileName): string {
    return `${this.#levelPrefix(file.level)}${
      formatFileName(file.minTxid, file.maxTxid)
    }`;
  }

  #levelPrefix(level: number): string {
    return underPrefix(this.settings.path, `${ltxDir(level)}/`);
  }

  /**
   * {@inheritDoc ReplicaClient.listFiles}
   *
   * The object store lists a whole bucket: levels listed at the same time
   * share one listing, filtered here by prefix.
   */
  async listFiles(
    level: number,
    options: RetryOptions = {},
  ): Promise<LtxFileInfo[]> {
    const prefix = this.#levelPrefix(level);
    const objects = await this.#list(options);
    const files: LtxFileInfo[] = [];
    for (const obj of objects) {
      const txids = ltxNameUnder(prefix, obj.name);
      if (txids === undefined) continue;
      files.push({
        level,
        ...txids,
        size: obj.size,
        createdAt: createdAt(obj),
      });
    }
    return files.sort(byMinTxid);
  }

  #list(options: RetryOptions): Promise<Listed[]> {
    if (this.#listing === undefined) {
      const listing = this.#retry(
        "list",
        underPrefix(this.settings.path, "ltx/"),
        async (os) => {
          this.#listings++;
          return (await os.list()) as Listed[];
        },
        options,
      ).finally(() => {
        if (this.#listing === listing) this.#listing = undefined;
      });
      this.#listing = listing;
    }
    return this.#listing;
  }

  /** {@inheritDoc ReplicaClient.readRange} */
  async readRange(
    file: LtxFileInfo,
    offset: number,
    length: number,
  ): Promise<Uint8Array> {
    if (length === 0) return new Uint8Array(0);
    const name = this.objectName(file);
    let whole = this.#cache.get(name);
    if (whole !== undefined && whole.length !== file.size) {
      this.#cache.delete(name);
      whole = undefined;
    }
    if (whole === undefined && file.size > this.#cache.maxBytes) {
      // Too large to keep: stream it up to the range, every time.
      const bytes = await this.#retry(
        "read",
        name,
        (os) => this.#fetch(os, name, offset, length),
      );
      return this.#checkLength(name, bytes, offset, length);
    }
    whole ??= await this.#whole(name);
    return this.#checkLength(
      name,
      whole.slice(offset, offset + length),
      offset,
      length,
    );
  }

  #checkLength(
    name: string,
    bytes: Uint8Array,
    offset: number,
    length: number,
  ): Uint8Array {
    if (bytes.length !== length) {
      throw new StorageError(
        `NATS short read of "${name}" in bucket "${this.settings.bucket}" (${this.url}): wanted ${length} bytes at offset ${offset}, got ${bytes.length}`,
      );
    }
    return bytes;
  }

  /** A whole file: from the cache, or one download shared by all who ask meanwhile. */
  #whole(name: string): Promise<Uint8Array> {
    let download = this.#downloading.get(name);
    if (download === undefined) {
      download = this.#retry("read", name, (os) => this.#fetch(os, name))
        .then((bytes) => {
          this.#cache.set(name, bytes);
          return bytes;
        })
        .finally(() => this.#downloading.delete(name));
      this.#downloading.set(name, download);
    }
    return download;
  }

  /**
   * Streams an object: all of it, or up to the end of a range (then the
   * stream is cancelled). A stream that stalls for a request timeout fails.
   */
  async #fetch(
    os: ObjectStore,
    name: string,
    offset = 0,
    length?: number,
  ): Promise<Uint8Array> {
    const result = await this.#bounded(
      os.get(name),
      2 * this.#requestTimeoutMs,
    );
    if (result === null) {
      throw new Final(
        new StorageError(
          `NATS read "${name}" in bucket "${this.settings.bucket}" (${this.url}): not found (deleted by compaction or retention?)`,
          // As on file://: a vanished file is what compaction looks like;
          // the engine plans again.
          { retryable: true },
        ),
      );
    }
    // A stream given up early rejects this; nobody else may be listening.
    result.error.catch(() => {});
    this.#downloads++;
    // A whole file is read to its end, where the client checks its digest.
    const whole = length === undefined;
    const end = whole ? result.info.size : offset + length;
    const out = new Uint8Array(Math.max(0, end - offset));
    const reader = result.data.getReader();
    let at = 0;
    let done = false;
    try {
      while (whole || at < end) {
        const chunk = await this.#bounded(
          reader.read(),
          this.#requestTimeoutMs,
        );
        if (chunk.done) {
          done = true;
          break;
        }
        const from = Math.max(offset, at);
        const to = Math.min(end, at + chunk.value.length);
        if (to > from) {
          out.set(chunk.value.subarray(from - at, to - at), from - offset);
        }
        at += chunk.value.length;
      }
    } finally {
      if (!done) reader.cancel().catch(() => {});
      reader.releaseLock();
    }
    if (done) {
      // The digest check's verdict, once the stream is whole.
      const error = await result.error.catch((e: Error) => e);
      if (error) throw error;
    }
    return at >= end ? out : out.subarray(0, Math.max(0, at - offset));
  }

  /**
   * {@inheritDoc ReplicaClient.createFile}
   *
   * A put that expects the object's last revision: 0 for a name never
   * used, the tombstone's for a deleted object, so the JetStream server
   * itself refuses the second of two racing writers ("wrong last
   * sequence"). A refusal after a retry may be the retried write's own
   * first attempt: the object is read back, and the same bytes count as
   * written. The LTX header's timestamp goes into the
   * `Litestream-Timestamp` header, as Litestream writes it.
   */
  async createFile(
    file: LtxFileName,
    bytes: Uint8Array,
    options: RetryOptions = {},
  ): Promise<void> {
    const name = this.objectName(file);
    const meta: { name: string; headers?: MsgHdrs } = { name };
    try {
      const { timestamp } = decodeHeader(bytes, name);
      const h = natsHeaders();
      h.set(NATS_TIMESTAMP_HEADER, new Date(timestamp).toISOString());
      meta.headers = h;
    } catch {
      // Not an LTX file (tests write a few bytes): no timestamp to keep.
    }
    let exists = false;
    try {
      await this.#retry("write", name, async (os) => {
        const info = await os.info(name);
        if (info !== null && !info.deleted) {
          exists = true;
          return;
        }
        try {
          await os.putBlob(meta, bytes, {
            previousRevision: info?.revision ?? 0,
            timeout: this.#requestTimeoutMs,
          });
        } catch (error) {
          if (isWrongLastSequence(error)) {
            exists = true;
            return;
          }
          throw error;
        }
      }, options);
    } finally {
      this.#listing = undefined;
    }
    if (exists) {
      this.#cache.delete(name);
      await confirmWritten(
        bytes,
        () => this.#whole(name),
        () =>
          new FileExistsError(
            `NATS object "${name}" in bucket "${this.settings.bucket}" (${this.url}) exists: another writer made it first`,
          ),
      );
      return;
    }
    this.#cache.set(name, bytes.slice());
  }

  /** Closes the connection and forgets the cached files; idempotent. */
  close(): void {
    this.#closed = true;
    this.#cache.clear();
    const connection = this.#connection;
    this.#connection = undefined;
    this.#store = undefined;
    this.#nc = undefined;
    connection?.then((nc) => nc.close()).catch(() => {});
  }

  #objectStore(): Promise<ObjectStore> {
    if (this.#closed) {
      return Promise.reject(
        new Final(new StorageError(`NATS replica "${this.url}" is closed`)),
      );
    }
    // A connection the client gave up on (it reconnects on its own until
    // then): connect again.
    if (this.#nc?.isClosed()) this.#store = undefined;
    if (this.#store === undefined) {
      const store = this.#connect().then((nc) => {
        this.#nc = nc;
        return new Objm(nc).open(this.settings.bucket);
      });
      store.catch(() => {
        if (this.#store === store) this.#store = undefined;
      });
      this.#store = store;
    }
    return this.#store;
  }

  async #connect(): Promise<NatsConnection> {
    const current = await this.#connection?.catch(() => undefined);
    if (current !== undefined && !current.isClosed()) return current;
    const connection = this.#openConnection();
    connection.catch(() => {
      if (this.#connection === connection) this.#connection = undefined;
    });
    this.#connection = connection;
    return await connection;
  }

  async #openConnection(): Promise<NatsConnection> {
    const s = this.settings;
    const options: NodeConnectionOptions = {
      servers: s.servers,
      name: "lsvfs",
      timeout: this.#requestTimeoutMs,
      // Our retry loop bounds the time an operation waits; in between, the
      // client reconnects on its own, quickly.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: false,
    };
    // Litestream's order: credentials file, user and password, token.
    if (s.credsFile !== undefined) {
      options.authenticator = credsAuthenticator(
        await this.#readFile(s.credsFile, "credentials file"),
      );
    } else if (s.user !== undefined) {
      options.user = s.user;
      options.pass = s.password;
    } else if (s.token !== undefined) {
      options.token = s.token;
    }
    if (s.tls) {
      const tls: NonNullable<NodeConnectionOptions["tls"]> = {};
      if (s.rootCas.length > 0) {
        const cas = await Promise.all(
          s.rootCas.map((f) => this.#readFile(f, "root CA file")),
        );
        tls.ca = cas.map((b) => new TextDecoder().decode(b)).join("\n");
      }
      if (s.clientCert !== undefined && s.clientKey !== undefined) {
        tls.cert = new TextDecoder().decode(
          await this.#readFile(s.clientCert, "client certificate"),
        );
        tls.key = new TextDecoder().decode(
          await this.#readFile(s.clientKey, "client key"),
        );
      }
      // The client names no TLS server for an IP address, and then Node's
      // TLS checks the certificate against "localhost": check it against
      // the hosts of the URL (any of them, for a list of servers).
      const hosts = [
        ...new Set(
          s.servers.map((hp) =>
            hp.replace(/:\d+$/, "").replace(/^\[|\]$/g, "")
          ),
        ),
      ];
      Object.assign(tls, {
        checkServerIdentity: (host: string, cert: PeerCertificate) => {
          const names = host === "localhost" || host === ""
            ? hosts
            : [host, ...hosts];
          let first: Error | undefined;
          for (const name of names) {
            const error = checkServerIdentity(name, cert);
            if (error === undefined) return undefined;
            first ??= error;
          }
          return first;
        },
      });
      options.tls = tls;
    }
    const nc = await connectNats(options);
    if (this.#closed) {
      await nc.close();
      throw new Final(new StorageError(`NATS replica "${this.url}" is closed`));
    }
    return nc;
  }

  async #readFile(path: string, what: string): Promise<Uint8Array> {
    try {
      return await Deno.readFile(path);
    } catch (cause) {
      throw new Final(
        new StorageError(
          `NATS ${what} "${path}" for ${this.url} cannot be read: ${
            (cause as Error).message
          }`,
          { cause },
        ),
      );
    }
  }

  #retry<T>(
    what: string,
    name: string,
    op: (os: ObjectStore) => Promise<T>,
    options: RetryOptions = {},
  ): Promise<T> {
    return retryWithin(async () => {
      // Connecting and opening the bucket: two requests. A read streams,
      // and bounds each wait itself (see #fetch); other operations are
      // a few requests each.
      const os = await this.#bounded(
        this.#objectStore(),
        2 * this.#requestTimeoutMs,
      );
      return await (what === "read"
        ? op(os)
        : this.#bounded(op(os), 2 * this.#requestTimeoutMs));
    }, {
      budgetMs: options.retryBudgetMs ?? this.#retryBudgetMs,
      classify: (error) => this.#classify(what, name, error),
    });
  }

  /** Waits for a promise at most `ms`, then fails with a timeout. */
  async #bounded<T>(promise: Promise<T>, ms: number): Promise<T> {
    // A request left behind by a timeout may still fail later.
    promise.catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new AttemptTimeout(ms)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  #classify(what: string, name: string, error: unknown): StorageError {
    if (error instanceof StorageError) return error;
    const where =
      `NATS ${what} "${name}" in bucket "${this.settings.bucket}" (${this.url})`;
    return classifyNatsError(where, error, this.#requestTimeoutMs);
  }
}

class AttemptTimeout extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "AttemptTimeout";
  }
}

function createdAt(obj: Listed): number {
  const h = obj.headers;
  const stamp = h === undefined
    ? undefined
    : typeof (h as MsgHdrs).get === "function"
    ? (h as MsgHdrs).get(NATS_TIMESTAMP_HEADER)
    : (h as Record<string, string[]>)[NATS_TIMESTAMP_HEADER]?.[0];
  const fromHeader = stamp ? Date.parse(stamp) : NaN;
  if (Number.isFinite(fromHeader)) return fromHeader;
  // Litestream's Go client leaves mtime at Go's zero time.
  const mtime = Date.parse(obj.mtime);
  return Number.isFinite(mtime) && mtime > 0 ? mtime : 0;
}

function errorFields(error: unknown): {
  name: string;
  message: string;
  code?: unknown;
  status?: unknown;
  causeText: string;
} {
  const e = error as {
    name?: string;
    message?: string;
    code?: unknown;
    status?: unknown;
    cause?: { name?: string; message?: string; code?: unknown };
  };
  return {
    name: e?.name ?? "",
    message: e?.message ?? String(error),
    code: e?.code,
    status: e?.status,
    causeText: `${e?.cause?.name ?? ""} ${e?.cause?.code ?? ""} ${
      e?.cause?.message ?? ""
    }`,
  };
}

function isWrongLastSequence(error: unknown): boolean {
  const e = errorFields(error);
  return e.code === 10071 || /wrong last sequence/i.test(e.message);
}

function isMissingBucket(error: unknown): boolean {
  const e = errorFields(error);
  return /object store not found|stream not found/i.test(e.message) ||
    e.name === "StreamNotFoundError" || e.code === 10059;
}

/**
 * Turns an error of the NATS client into a {@linkcode StorageError} that
 * says what failed and whether trying again may help: connection failures,
 * timeouts and a server that is not answering yet are transient; wrong
 * credentials, a missing bucket, missing permissions and a server without
 * JetStream are not.
 *
 * @param where What failed: backend, operation, object, bucket, URL.
 * @param error What the client threw.
 * @param timeoutMs The request timeout, for the message.
 * @returns The error to throw.
 *
 * @example Wrong credentials are final
 * ```ts
 * import { classifyNatsError } from "./nats_client.ts";
 * import assert from "node:assert/strict";
 * const e = classifyNatsError("NATS list", Object.assign(
 *   new Error("Authorization Violation"), { name: "AuthorizationError" },
 * ), 5000);
 * assert.equal(e.retryable, false);
 * assert.match(e.message, /authorization failed/);
 * ```
 */
export function classifyNatsError(
  where: string,
  error: unknown,
  timeoutMs: number,
): StorageError {
  if (error instanceof StorageError) return error;
  const e = errorFields(error);
  const cause = error;
  const text = `${e.name} ${e.message} ${e.causeText}`;
  if (
    /AuthorizationError|UserAuthenticationExpired/.test(e.name) ||
    /authorization violation|authentication (expired|timeout)/i.test(text)
  ) {
    return new StorageError(
      `${where}: authorization failed (${e.message}); check the credentials: user and password in the URL or NATS_USER/NATS_PASSWORD, NATS_TOKEN, or the credentials file (creds= or NATS_CREDS)`,
      { cause },
    );
  }
  if (isMissingBucket(error)) {
    const bucket = /bucket "([^"]*)"/.exec(where)?.[1] ?? "";
    return new StorageError(
      `${where}: no such object store bucket; create it first ("nats object store add ${bucket}") or check the bucket name`,
      { cause },
    );
  }
  if (
    /JetStreamNotEnabled/.test(e.name) ||
    /jetstream (is )?not enabled/i.test(text)
  ) {
    return new StorageError(
      `${where}: JetStream is not enabled on the server (run nats-server with -js) or for this account`,
      { cause },
    );
  }
  if (
    e.name === "PermissionViolationError" ||
    /permissions? violation/i.test(text)
  ) {
    return new StorageError(
      `${where}: permission denied (${e.message}); the user needs publish and subscribe rights on "$JS.API.>", "$O.<bucket>.>" and "_INBOX.>"`,
      { cause },
    );
  }
  if (e.name === "AttemptTimeout" || e.name === "TimeoutError") {
    const ms = (error as { ms?: number }).ms ?? timeoutMs;
    return new StorageError(`${where}: no answer within ${ms} ms`, {
      cause,
      retryable: true,
    });
  }
  if (
    /certificate|CERT_|self[- ]signed|tls is not available|handshake/i.test(
      text,
    )
  ) {
    return new StorageError(
      `${where}: TLS failed (${e.message}); set root-cas= (or NATS_CA) to the CA that signed the server's certificate, or check tls=`,
      { cause },
    );
  }
  if (e.name === "ConnectionError" || /ECONNREFUSED/.test(text)) {
    return new StorageError(
      `${where}: cannot connect to the NATS server (${e.message}${
        /ECONNREFUSED/.test(text) || e.causeText.trim() === ""
          ? ""
          : `; ${e.causeText.trim()}`
      })`,
      { cause, retryable: true },
    );
  }
  if (e.name === "JetStreamApiError" || e.name === "ConsumerNotFoundError") {
    const status = typeof e.status === "number" ? e.status : 0;
    return new StorageError(
      `${where}: JetStream API error ${e.code ?? ""} (${e.message})`,
      { cause, retryable: status >= 500 || status === 408 },
    );
  }
  const transient =
    /NoResponders|RequestError|ClosedConnection|DrainingConnection|ProtocolError/
      .test(e.name) ||
    /timeout|timed out|ECONNRESET|EPIPE|ETIMEDOUT|EAI_AGAIN|socket|disconnect|connection|no responders|stalled/i
      .test(text);
  return new StorageError(`${where}: ${e.message}`, {
    cause,
    retryable: transient,
  });
}
