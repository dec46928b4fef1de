/**
 * The `sftp://` backend: a replica in a directory on an SSH server, through
 * npm `ssh2` (its pure-JavaScript path). It is asynchronous and runs in the
 * storage worker (ARCHITECTURE.md); the engine reaches it through
 * {@linkcode WorkerReplicaClient}.
 *
 * URL: `sftp://user[:password]@host[:port]/path?key-path=...`, as Litestream
 * writes it. Its path is absolute, as `litestream replicate` and `restore`
 * take it; Litestream's own VFS takes it relative to the user's home
 * directory instead, so both places are listed until files turn up in one
 * (`/~/path` means the home directory only). Query parameters: `key-path`
 * (a private key file), `host-key` (the one server key to accept, as an
 * `authorized_keys` line: Litestream's `host-key`), `known-hosts` (the
 * known_hosts file, default `~/.ssh/known_hosts` and
 * `/etc/ssh/ssh_known_hosts`), `skip-verify=true` (accept any host key:
 * insecure), `concurrent-writes` (accepted, ignored). The camelCase
 * spellings (`keyPath`, `hostKey`, ...) work too.
 *
 * Credentials: the URL's password, else `LITESTREAM_SFTP_PASSWORD`; the key
 * from `key-path`, else `LITESTREAM_SFTP_KEY_PATH` (passphrase in
 * `LITESTREAM_SFTP_KEY_PASSPHRASE`); with neither a password nor a key, the
 * default keys `~/.ssh/id_ed25519`, `id_ecdsa` and `id_rsa` that exist.
 * `LITESTREAM_SFTP_USER`, `LITESTREAM_SFTP_HOST_KEY` and
 * `LITESTREAM_SFTP_KNOWN_HOSTS` stand in for the URL's user, `host-key` and
 * `known-hosts`.
 *
 * Host keys are checked unless `skip-verify=true`: a key the known_hosts
 * file does not list, or one that differs from the one it lists, is
 * refused, and the error gives the key's SHA256 fingerprint and the line
 * that would trust it.
 *
 * One SSH connection per client, opened on first use, shared by every
 * request (SFTP pipelines them) and opened again after a drop; LTX files
 * stay open (they never change) for single-round-trip range reads.
 * A new file is written to a temporary name, then renamed: OpenSSH's SFTP
 * rename never replaces a file, so of two racing writers exactly one wins.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import ssh2 from "ssh2";
import { decodeHeader, formatFileName, parseFileName } from "../ltx/mod.ts";
import { readVariables } from "./_env.ts";
import { boolOption, parseReplicaUrl } from "./_options.ts";
import { sameBytes } from "./_create_only.ts";
import { LayoutListing, type Placed } from "./_layouts.ts";
import { hostKeyPolicy, parseAuthorizedKey } from "./_known_hosts.ts";
import { retryLimits, retryWithin } from "./_retry.ts";
import { FileExistsError, ReplicaUrlError, StorageError } from "./errors.ts";
import type {
  LtxFileInfo,
  LtxFileName,
  ReplicaClient,
  RetryOptions,
} from "./replica_client.ts";
import { redactUrl } from "./replica_url.ts";

/** The environment variables the SFTP backend reads. */
export const SFTP_VARIABLES: readonly string[] = [
  "LITESTREAM_SFTP_USER",
  "LITESTREAM_SFTP_PASSWORD",
  "LITESTREAM_SFTP_KEY_PATH",
  "LITESTREAM_SFTP_KEY_PASSPHRASE",
  "LITESTREAM_SFTP_HOST_KEY",
  "LITESTREAM_SFTP_KNOWN_HOSTS",
  "HOME",
];

/** Port used when the URL names none. */
export const DEFAULT_SFTP_PORT = 22;

/** The system-wide known_hosts file, read besides the user's own. */
export const GLOBAL_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts";

/** Settings parsed from an `sftp://` replica URL and the environment. */
export interface SftpSettings {
  /** Host name or address (IPv6 without brackets). */
  host: string;
  /** TCP port. */
  port: number;
  /** User to log in as. */
  user: string;
  /** Password, from the URL or `LITESTREAM_SFTP_PASSWORD`. */
  password?: string;
  /** Private key file, from `key-path` or `LITESTREAM_SFTP_KEY_PATH`. */
  keyPath?: string;
  /** Passphrase of the private key (`LITESTREAM_SFTP_KEY_PASSPHRASE`). */
  passphrase?: string;
  /**
   * The replica's directory as `litestream replicate` takes it: absolute,
   * without trailing slash; undefined when the URL asks for the home
   * directory only (`/~/path`, or no path).
   */
  path?: string;
  /**
   * The same directory relative to the user's home, as Litestream's VFS
   * takes it ("" for the home directory itself).
   */
  homePath: string;
  /** The one host key to accept, as an `authorized_keys` line (`host-key`). */
  hostKey?: string;
  /** known_hosts files to check the host key against, in order. */
  knownHosts: string[];
  /** Accept any host key (`skip-verify=true`). */
  skipVerify: boolean;
}

/**
 * Parses an `sftp://` replica URL as Litestream does, with this backend's
 * options.
 *
 * @param url The replica URL.
 * @param env Environment to read (default: {@linkcode SFTP_VARIABLES} from
 * the process).
 * @returns The settings.
 * @throws {ReplicaUrlError} When the URL has no host or user, or a bad
 * option.
 *
 * @example Parse an URL with a key file
 * ```ts
 * import { parseSftpUrl } from "./sftp_client.ts";
 * import assert from "node:assert/strict";
 * const s = parseSftpUrl("sftp://me@host:2222/srv/db?key-path=/k", {
 *   HOME: "/home/me",
 * });
 * assert.equal(s.port, 2222);
 * assert.equal(s.path, "/srv/db");
 * assert.equal(s.homePath, "srv/db");
 * assert.equal(s.keyPath, "/k");
 * assert.deepEqual(s.knownHosts, [
 *   "/home/me/.ssh/known_hosts",
 *   "/etc/ssh/ssh_known_hosts",
 * ]);
 * ```
 */
export function parseSftpUrl(
  url: string,
  env: Record<string, string | undefined> = readVariables(SFTP_VARIABLES),
): SftpSettings {
  const parsed = parseReplicaUrl(url);
  const bad = (what: string) =>
    new ReplicaUrlError(`Replica URL "${redactUrl(url)}": ${what}`);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") {
    throw bad('no host: write "sftp://user@host:port/path"');
  }
  const user = decodeURIComponent(parsed.username) ||
    env.LITESTREAM_SFTP_USER || "";
  if (user === "") {
    throw bad(
      'no user: write "sftp://user@host:port/path" or set LITESTREAM_SFTP_USER',
    );
  }
  const port = parsed.port === "" ? DEFAULT_SFTP_PORT : Number(parsed.port);
  const query = parsed.searchParams;
  const param = (names: string[]) => {
    for (const name of names) {
      const v = query.get(name);
      if (v !== null && v !== "") return v;
    }
    return undefined;
  };
  const skipVerify = boolOption(query, ["skip-verify", "skipVerify"], bad) ??
    false;
  const concurrent = param(["concurrent-writes", "concurrentWrites"]);
  if (
    concurrent !== undefined && !/^(1|t|true|0|f|false)$/i.test(concurrent)
  ) {
    throw bad(`"concurrent-writes" must be true or false, got "${concurrent}"`);
  }
  const home = env.HOME?.replace(/\/+$/, "");
  const expand = (p: string) =>
    home !== undefined && (p === "~" || p.startsWith("~/"))
      ? home + p.slice(1)
      : p;
  const knownHostsPath = param(["known-hosts", "knownHosts"]) ??
    env.LITESTREAM_SFTP_KNOWN_HOSTS;
  const knownHosts = knownHostsPath !== undefined ? [expand(knownHostsPath)] : [
    ...(home !== undefined ? [`${home}/.ssh/known_hosts`] : []),
    GLOBAL_KNOWN_HOSTS,
  ];
  const keyPath = param(["key-path", "keyPath"]) ??
    (env.LITESTREAM_SFTP_KEY_PATH || undefined);
  const password = parsed.password !== ""
    ? decodeURIComponent(parsed.password)
    : env.LITESTREAM_SFTP_PASSWORD || undefined;
  // Litestream: path.Clean, then (its VFS only) without the leading "/".
  const raw = decodeURIComponent(parsed.pathname);
  const clean = raw === "" ? "" : cleanPath(raw);
  let path: string | undefined = clean === "" ? undefined : clean;
  let homePath = clean.replace(/^\/+/, "");
  if (homePath === "~" || homePath.startsWith("~/")) {
    path = undefined;
    homePath = homePath.slice(2);
  }
  const settings: SftpSettings = {
    host,
    port,
    user,
    path,
    homePath,
    knownHosts,
    skipVerify,
  };
  if (password !== undefined) settings.password = password;
  if (keyPath !== undefined) settings.keyPath = expand(keyPath);
  if (env.LITESTREAM_SFTP_KEY_PASSPHRASE) {
    settings.passphrase = env.LITESTREAM_SFTP_KEY_PASSPHRASE;
  }
  const hostKey = param(["host-key", "hostKey"]) ??
    (env.LITESTREAM_SFTP_HOST_KEY || undefined);
  if (hostKey !== undefined) {
    if (parseAuthorizedKey(hostKey) === undefined) {
      throw bad(
        `"host-key" must be a public key line such as "ssh-ed25519 AAAA...", got "${hostKey}"`,
      );
    }
    settings.hostKey = hostKey;
  }
  return settings;
}

/** Go's path.Clean for an absolute path. */
function cleanPath(p: string): string {
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return `/${out.join("/")}`;
}

// ---------------------------------------------------------------------------
// The parts of npm `ssh2` used here (it ships no types).

/** ssh2's attributes of a file. */
interface SftpAttrs {
  mode: number;
  size: number;
  mtime: number;
}

/** An error of ssh2: `code` is an SFTP status, an errno name or a reason. */
interface Ssh2Error extends Error {
  code?: number | string;
  level?: string;
}

type Callback<T> = (error: Ssh2Error | undefined | null, value: T) => void;

/** ssh2's SFTP session (the callback API). */
interface SftpSession {
  readdir(
    path: string,
    cb: Callback<{ filename: string; attrs: SftpAttrs }[]>,
  ): void;
  open(path: string, flags: string, cb: Callback<Buffer>): void;
  read(
    handle: Buffer,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
    cb: (error: Ssh2Error | undefined, bytesRead: number) => void,
  ): void;
  write(
    handle: Buffer,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
    cb: (error: Ssh2Error | undefined) => void,
  ): void;
  futimes(
    handle: Buffer,
    atime: number,
    mtime: number,
    cb: (error: Ssh2Error | undefined) => void,
  ): void;
  close(handle: Buffer, cb: (error: Ssh2Error | undefined) => void): void;
  rename(
    from: string,
    to: string,
    cb: (error: Ssh2Error | undefined) => void,
  ): void;
  unlink(path: string, cb: (error: Ssh2Error | undefined) => void): void;
  mkdir(path: string, cb: (error: Ssh2Error | undefined) => void): void;
  stat(path: string, cb: Callback<SftpAttrs>): void;
  on(event: "close", listener: () => void): void;
  end(): void;
}

/** ssh2's client connection. */
interface SshClient {
  on(event: "ready" | "close", listener: () => void): SshClient;
  on(event: "error", listener: (error: Ssh2Error) => void): SshClient;
  connect(config: Record<string, unknown>): void;
  sftp(cb: Callback<SftpSession>): void;
  end(): void;
  destroy(): void;
}

interface Ssh2Module {
  Client: new () => SshClient;
  utils: {
    parseKey(data: Uint8Array | string, passphrase?: string): unknown;
  };
}

const { Client, utils } = ssh2 as unknown as Ssh2Module;

/** SFTP status codes (draft-ietf-secsh-filexfer-02). */
const SFTP_STATUS = {
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
} as const;

/** Bytes asked for in one SFTP read or write (OpenSSH's maximum, 255 KiB). */
const CHUNK = 255 * 1024;

/** Chunks of one read or write in flight at once. */
const CHUNKS_IN_FLIGHT = 8;

/** LTX files kept open per connection; older handles are closed first. */
const MAX_OPEN_FILES = 64;

/** Default private keys, tried when neither a password nor a key is set. */
const DEFAULT_KEYS = ["id_ed25519", "id_ecdsa", "id_rsa"];

/** One SSH connection with its SFTP session and open files. */
interface Connection {
  client: SshClient;
  sftp: SftpSession;
  /** Open read handles, by path, oldest first. */
  handles: Map<string, Promise<Buffer>>;
  closed: boolean;
}

/** A failure that says what to do, not to be reworded by classify. */
class Explained extends StorageError {}

/** Options for {@linkcode SftpReplicaClient}. */
export interface SftpClientOptions {
  /** Bound on the total time one operation spends retrying, in ms. */
  retryBudgetMs?: number;
  /** Timeout of the SSH handshake and of one SFTP request, in ms. */
  requestTimeoutMs?: number;
  /** Environment to read (default: {@linkcode SFTP_VARIABLES} from the process). */
  env?: Record<string, string | undefined>;
}

/** A replica in a directory on an SSH server, over SFTP. */
export class SftpReplicaClient implements ReplicaClient {
  /** The replica URL, redacted. */
  readonly url: string;
  /** Parsed settings. */
  readonly settings: SftpSettings;
  #env: Record<string, string | undefined>;
  #retryBudgetMs: number;
  #requestTimeoutMs: number;
  #connection: Promise<Connection> | undefined;
  /** Candidate replica directories: absolute first, then home-relative. */
  #roots: string[];
  /** The roots listed, and where each listed file lies. */
  #listing: LayoutListing;
  #closed = false;

  /**
   * @param url An `sftp://` replica URL.
   * @param options Retry bound, request timeout, environment.
   * @throws {ReplicaUrlError} When the URL is malformed.
   */
  constructor(url: string, options: SftpClientOptions = {}) {
    this.url = redactUrl(url);
    this.#env = options.env ?? readVariables(SFTP_VARIABLES);
    this.settings = parseSftpUrl(url, this.#env);
    ({
      retryBudgetMs: this.#retryBudgetMs,
      requestTimeoutMs: this.#requestTimeoutMs,
    } = retryLimits(options));
    const { path, homePath } = this.settings;
    this.#roots = path === undefined ? [homePath] : [path, homePath];
    this.#listing = new LayoutListing(this.#roots.length);
  }

  /** `user@host:port`, for messages. */
  get #who(): string {
    const s = this.settings;
    const host = s.host.includes(":") ? `[${s.host}]` : s.host;
    return `${s.user}@${host}:${s.port}`;
  }

  #levelDir(root: number, level: number): string {
    const base = this.#roots[root];
    return base === "" || base === "/"
      ? `${base}ltx/${level}`
      : `${base}/ltx/${level}`;
  }

  /**
   * {@inheritDoc ReplicaClient.listFiles}
   *
   * Lists `<path>/ltx/<level>` (Litestream's `LTXLevelDir`), in both the
   * absolute and the home-relative reading of the path until files turn up
   * in one, and both again once a minute; a missing directory has no
   * files.
   */
  listFiles(
    level: number,
    options: RetryOptions = {},
  ): Promise<LtxFileInfo[]> {
    return this.#listing.list(async (root) => {
      const dir = this.#levelDir(root, level);
      const found: Placed[] = [];
      for (const { name, attrs } of await this.#listDir(dir, options)) {
        const txids = parseFileName(name);
        if (txids === undefined) continue;
        found.push({
          file: {
            level,
            ...txids,
            size: attrs.size,
            createdAt: attrs.mtime * 1000,
          },
          where: `${dir}/${name}`,
        });
      }
      return found;
    });
  }

  #listDir(
    dir: string,
    options: RetryOptions,
  ): Promise<{ name: string; attrs: SftpAttrs }[]> {
    return this.#retry(`list "${dir}"`, async (c) => {
      try {
        const entries = await this.#request<
          { filename: string; attrs: SftpAttrs }[]
        >(c, (cb) => c.sftp.readdir(dir, cb));
        return entries
          .filter((e) => (e.attrs.mode & 0o170000) !== 0o040000)
          .map((e) => ({ name: e.filename, attrs: e.attrs }));
      } catch (error) {
        if ((error as Ssh2Error).code === SFTP_STATUS.NO_SUCH_FILE) return [];
        throw error;
      }
    }, options);
  }

  #pathOf(file: LtxFileName): string {
    return this.#listing.where(file) ??
      `${this.#levelDir(this.#listing.writeCandidate, file.level)}/${
        formatFileName(file.minTxid, file.maxTxid)
      }`;
  }

  /** {@inheritDoc ReplicaClient.readRange} */
  readRange(
    file: LtxFileInfo,
    offset: number,
    length: number,
  ): Promise<Uint8Array> {
    const path = this.#pathOf(file);
    if (length === 0) return Promise.resolve(new Uint8Array(0));
    return this.#retry(`read "${path}"`, async (c) => {
      const handle = await this.#openForRead(c, path);
      // ssh2 takes Buffers only.
      const out = Buffer.alloc(length);
      let got = 0;
      let eof = length;
      const chunks: number[] = [];
      for (let at = 0; at < length; at += CHUNK) chunks.push(at);
      const lane = async () => {
        for (let at = chunks.shift(); at !== undefined; at = chunks.shift()) {
          const want = Math.min(CHUNK, length - at);
          let done = 0;
          while (done < want && at + done < eof) {
            const n = await this.#request<number>(
              c,
              (cb) =>
                c.sftp.read(
                  handle,
                  out,
                  at + done,
                  want - done,
                  offset + at + done,
                  (error, bytes) => cb(error, bytes),
                ),
            );
            if (n === 0) {
              eof = Math.min(eof, at + done);
              break;
            }
            done += n;
          }
          got += done;
        }
      };
      try {
        await Promise.all(Array.from({ length: CHUNKS_IN_FLIGHT }, lane));
      } catch (error) {
        // A handle the server forgot (or a file gone) is opened again.
        c.handles.delete(path);
        throw error;
      }
      if (got !== length) {
        throw new Explained(
          `SFTP short read of "${path}" (${this.url}): wanted ${length} bytes at offset ${offset}, got ${got}`,
        );
      }
      return new Uint8Array(out.buffer, out.byteOffset, out.length);
    });
  }

  /** An open read handle of a file, from the connection's cache. */
  #openForRead(c: Connection, path: string): Promise<Buffer> {
    const cached = c.handles.get(path);
    if (cached !== undefined) {
      c.handles.delete(path);
      c.handles.set(path, cached);
      return cached;
    }
    const opening = this.#request<Buffer>(
      c,
      (cb) => c.sftp.open(path, "r", cb),
    );
    c.handles.set(path, opening);
    opening.catch(() => {
      if (c.handles.get(path) === opening) c.handles.delete(path);
    });
    while (c.handles.size > MAX_OPEN_FILES) {
      const [oldest, handle] = c.handles.entries().next().value!;
      c.handles.delete(oldest);
      handle.then((h) => c.sftp.close(h, () => {}), () => {});
    }
    return opening;
  }

  /**
   * {@inheritDoc ReplicaClient.createFile}
   *
   * Writes `<name>.<random>.tmp` beside the file (making missing
   * directories), stamps it with the LTX header's time (Litestream reads
   * the modification time as the file's time), then renames it into place:
   * OpenSSH's rename fails when the target exists. A target with the same
   * bytes (a retried write's own first attempt) counts as written.
   */
  createFile(
    file: LtxFileName,
    bytes: Uint8Array,
    options: RetryOptions = {},
  ): Promise<void> {
    const root = this.#listing.writeCandidate;
    const dir = this.#levelDir(root, file.level);
    const name = formatFileName(file.minTxid, file.maxTxid);
    const path = `${dir}/${name}`;
    let timestamp: number | undefined;
    try {
      timestamp = decodeHeader(bytes, name).timestamp;
    } catch {
      // Not an LTX file (tests): the server's clock stamps it.
    }
    return this.#retry(`write "${path}"`, async (c) => {
      const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
      let handle: Buffer;
      try {
        handle = await this.#request<Buffer>(
          c,
          (cb) => c.sftp.open(tmp, "wx", cb),
        );
      } catch (error) {
        if ((error as Ssh2Error).code !== SFTP_STATUS.NO_SUCH_FILE) throw error;
        await this.#mkdirs(c, dir);
        handle = await this.#request<Buffer>(
          c,
          (cb) => c.sftp.open(tmp, "wx", cb),
        );
      }
      const remove = () =>
        this.#request<void>(c, (cb) => c.sftp.unlink(tmp, cb)).catch(() => {});
      try {
        await this.#write(c, handle, bytes);
        if (timestamp !== undefined && timestamp > 0) {
          const seconds = Math.floor(timestamp / 1000);
          await this.#request<void>(
            c,
            (cb) => c.sftp.futimes(handle, seconds, seconds, cb),
          );
        }
      } catch (error) {
        await this.#request<void>(c, (cb) => c.sftp.close(handle, cb))
          .catch(() => {});
        await remove();
        throw error;
      }
      await this.#request<void>(c, (cb) => c.sftp.close(handle, cb));
      try {
        await this.#request<void>(c, (cb) => c.sftp.rename(tmp, path, cb));
      } catch (error) {
        await remove();
        if ((error as Ssh2Error).code !== SFTP_STATUS.FAILURE) throw error;
        const there = await this.#request<SftpAttrs>(
          c,
          (cb) => c.sftp.stat(path, cb),
        ).catch(() => undefined);
        if (there === undefined) throw error;
        const same = there.size === bytes.length &&
          await this.#readWhole(c, path, bytes.length).then(
            (b) => sameBytes(b, bytes),
            () => false,
          );
        if (!same) {
          throw new FileExistsError(
            `SFTP "${path}" on ${this.#who} exists: another writer made it first`,
            { cause: error },
          );
        }
      }
      this.#listing.place(file, path, root);
    }, options);
  }

  async #readWhole(
    c: Connection,
    path: string,
    length: number,
  ): Promise<Uint8Array> {
    const handle = await this.#request<Buffer>(
      c,
      (cb) => c.sftp.open(path, "r", cb),
    );
    try {
      const out = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const n = await this.#request<number>(
          c,
          (cb) =>
            c.sftp.read(
              handle,
              out,
              done,
              Math.min(CHUNK, length - done),
              done,
              (e, n) => cb(e, n),
            ),
        );
        if (n === 0) break;
        done += n;
      }
      return out.subarray(0, done);
    } finally {
      c.sftp.close(handle, () => {});
    }
  }

  async #write(c: Connection, handle: Buffer, data: Uint8Array) {
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.length);
    const chunks: number[] = [];
    for (let at = 0; at < bytes.length; at += CHUNK) chunks.push(at);
    const lane = async () => {
      for (let at = chunks.shift(); at !== undefined; at = chunks.shift()) {
        const n = Math.min(CHUNK, bytes.length - at);
        await this.#request<void>(
          c,
          (cb) => c.sftp.write(handle, bytes, at, n, at, cb),
        );
      }
    };
    await Promise.all(Array.from({ length: CHUNKS_IN_FLIGHT }, lane));
  }

  /** `mkdir -p`: makes each missing level of `dir`. */
  async #mkdirs(c: Connection, dir: string): Promise<void> {
    try {
      await this.#request<void>(c, (cb) => c.sftp.mkdir(dir, cb));
    } catch (error) {
      const code = (error as Ssh2Error).code;
      if (code === SFTP_STATUS.NO_SUCH_FILE) {
        const parent = dir.slice(0, Math.max(0, dir.lastIndexOf("/")));
        if (parent === "" || parent === dir) throw error;
        await this.#mkdirs(c, parent);
        return this.#mkdirs(c, dir);
      }
      // Made meanwhile (OpenSSH says FAILURE for an existing directory)?
      const attrs = await this.#request<SftpAttrs>(
        c,
        (cb) => c.sftp.stat(dir, cb),
      ).catch(() => undefined);
      if (attrs === undefined || (attrs.mode & 0o170000) !== 0o040000) {
        throw error;
      }
    }
  }

  /**
   * Closes the SSH connection; idempotent. Later calls fail.
   *
   * @returns When the connection is closed.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const connection = this.#connection;
    this.#connection = undefined;
    const c = await connection?.catch(() => undefined);
    if (c === undefined || c.closed) return;
    const closed = new Promise<void>((resolve) =>
      c.client.on("close", resolve)
    );
    c.client.end();
    const timer = setTimeout(() => c.client.destroy(), 1_000);
    await closed;
    clearTimeout(timer);
  }

  /** The connection, opened if there is none. */
  #connect(): Promise<Connection> {
    if (this.#closed) {
      return Promise.reject(
        new Explained(`SFTP replica "${this.url}" is closed`),
      );
    }
    this.#connection ??= this.#open().catch((error) => {
      this.#connection = undefined;
      throw error;
    });
    return this.#connection;
  }

  async #open(): Promise<Connection> {
    const s = this.settings;
    const auth = await this.#authMethods();
    const policy = s.skipVerify || s.hostKey !== undefined
      ? hostKeyPolicy(s, new Map())
      : hostKeyPolicy(s, await this.#knownHostsFiles());
    return new Promise<Connection>((resolve, reject) => {
      const client = new Client();
      let refusal: string | undefined;
      let ready = false;
      let settled = false;
      let connection: Connection | undefined;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        reject(
          refusal === undefined
            ? error
            : new Explained(refusal, { cause: error }),
        );
        client.destroy();
      };
      const dropped = () => {
        if (connection !== undefined) {
          connection.closed = true;
          if (this.#connection !== undefined) {
            this.#connection.then((c) => {
              if (c === connection) this.#connection = undefined;
            }, () => {});
          }
        }
      };
      client.on("error", (error) => {
        if (!ready) fail(error);
        dropped();
      });
      client.on("close", () => {
        dropped();
        fail(new Error("Connection closed before the SSH session was ready"));
      });
      client.on("ready", () => {
        ready = true;
        client.sftp((error, sftp) => {
          if (error) return fail(error);
          connection = { client, sftp, handles: new Map(), closed: false };
          sftp.on("close", () => {
            dropped();
            client.end();
          });
          settled = true;
          resolve(connection);
        });
      });
      try {
        client.connect({
          host: s.host,
          port: s.port,
          username: s.user,
          authHandler: auth,
          readyTimeout: this.#requestTimeoutMs,
          keepaliveInterval: 15_000,
          keepaliveCountMax: 3,
          algorithms: policy.preferred.length > 0
            ? { serverHostKey: { prepend: [...policy.preferred] } }
            : undefined,
          hostVerifier: (key: Uint8Array) => {
            refusal = policy.check(key);
            return refusal === undefined;
          },
        });
      } catch (error) {
        fail(error);
      }
    });
  }

  /** ssh2 auth methods: the password, then each key. */
  async #authMethods(): Promise<Record<string, unknown>[]> {
    const s = this.settings;
    const methods: Record<string, unknown>[] = [];
    if (s.password !== undefined) {
      methods.push({
        type: "password",
        username: s.user,
        password: s.password,
      });
    }
    const keys = s.keyPath !== undefined
      ? [{ path: s.keyPath, optional: false }]
      : s.password === undefined && this.#env.HOME
      ? DEFAULT_KEYS.map((k) => ({
        path: `${this.#env.HOME}/.ssh/${k}`,
        optional: true,
      }))
      : [];
    for (const { path, optional } of keys) {
      let text: string;
      try {
        text = await Deno.readTextFile(path);
      } catch (error) {
        if (optional && error instanceof Deno.errors.NotFound) continue;
        throw new Explained(
          error instanceof Deno.errors.NotFound
            ? `SFTP key file "${path}" (${this.url}) does not exist: check key-path or LITESTREAM_SFTP_KEY_PATH`
            : error instanceof Deno.errors.NotCapable
            ? `SFTP key file "${path}" (${this.url}) cannot be read: allow it with --allow-read=${path}`
            : `SFTP key file "${path}" (${this.url}) cannot be read: ${
              (error as Error).message
            }`,
          { cause: error },
        );
      }
      const parsed = utils.parseKey(text, s.passphrase);
      // A default key this client cannot use (encrypted...) is skipped.
      if (parsed instanceof Error && optional) continue;
      if (parsed instanceof Error) {
        throw new Explained(
          `SFTP key file "${path}" (${this.url}) is not a usable private key: ${parsed.message}${
            /passphrase/i.test(parsed.message)
              ? "; set LITESTREAM_SFTP_KEY_PASSPHRASE"
              : ""
          }`,
        );
      }
      methods.push({
        type: "publickey",
        username: s.user,
        key: Array.isArray(parsed) ? parsed[0] : parsed,
      });
    }
    if (methods.length === 0) {
      throw new Explained(
        `SFTP has no credentials for ${this.#who} (${this.url}): put the password in the URL or LITESTREAM_SFTP_PASSWORD, or a private key in key-path= or LITESTREAM_SFTP_KEY_PATH`,
      );
    }
    return methods;
  }

  /** The known_hosts files that exist, by path. */
  async #knownHostsFiles(): Promise<Map<string, string>> {
    const files = new Map<string, string>();
    for (const [i, path] of this.settings.knownHosts.entries()) {
      const global = path === GLOBAL_KNOWN_HOSTS && i > 0;
      try {
        files.set(path, await Deno.readTextFile(path));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue;
        // The system-wide file is optional: unreadable counts as absent.
        if (global) continue;
        throw new Explained(
          error instanceof Deno.errors.NotCapable
            ? `SFTP known_hosts file "${path}" (${this.url}) cannot be read: allow it with --allow-read=${path}, or name another with known-hosts=`
            : `SFTP known_hosts file "${path}" (${this.url}) cannot be read: ${
              (error as Error).message
            }`,
          { cause: error },
        );
      }
    }
    return files;
  }

  /**
   * Runs one SFTP request with a timeout; a request that gets no answer in
   * time means a stuck connection, which is dropped.
   */
  #request<T>(
    c: Connection,
    send: (cb: Callback<T>) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error: Ssh2Error = new Error(
          `no answer within ${this.#requestTimeoutMs} ms`,
        );
        error.code = "ETIMEDOUT";
        reject(error);
        this.#drop(c);
      }, this.#requestTimeoutMs);
      try {
        send((error, value) => {
          clearTimeout(timer);
          if (error) reject(error);
          else resolve(value);
        });
      } catch (error) {
        clearTimeout(timer);
        reject(error);
      }
    });
  }

  /** Forgets a connection (and ends it), so that the next request reconnects. */
  #drop(c: Connection): void {
    c.closed = true;
    this.#connection?.then((current) => {
      if (current === c) this.#connection = undefined;
    }, () => {});
    c.client.destroy();
  }

  #retry<T>(
    what: string,
    op: (connection: Connection) => Promise<T>,
    options: RetryOptions = {},
  ): Promise<T> {
    // Each request bounds its own wait (see #request).
    return retryWithin(async () => {
      let c: Connection;
      try {
        c = await this.#connect();
      } catch (error) {
        throw this.#classify(what, error, true);
      }
      try {
        return await op(c);
      } catch (error) {
        const classified = this.#classify(what, error, false);
        if (classified.retryable && isConnectionError(error)) this.#drop(c);
        throw classified;
      }
    }, {
      budgetMs: options.retryBudgetMs ?? this.#retryBudgetMs,
      classify: (error) => this.#classify(what, error, false),
    });
  }

  #classify(what: string, error: unknown, connecting: boolean): StorageError {
    if (error instanceof Explained) {
      return new StorageError(error.message, {
        cause: error.cause,
        retryable: error.retryable,
      });
    }
    if (error instanceof StorageError) return error;
    const e = error as Ssh2Error;
    const message = e?.message ?? String(error);
    const cause = error;
    const where = connecting
      ? `SFTP connection to ${this.#who} (${this.url})`
      : `SFTP ${what} on ${this.#who} (${this.url})`;
    if (
      e?.level === "client-authentication" ||
      /authentication failures/i.test(message)
    ) {
      const tried = [
        this.settings.password !== undefined ? "the password" : "",
        this.settings.keyPath !== undefined
          ? `the key "${this.settings.keyPath}"`
          : this.settings.password === undefined
          ? "the default keys in ~/.ssh"
          : "",
      ].filter((x) => x !== "").join(" and ");
      return new StorageError(
        `SFTP authentication failed for ${this.#who} (${this.url}): the server refused ${tried}; check the user, LITESTREAM_SFTP_PASSWORD or the key (key-path=, LITESTREAM_SFTP_KEY_PATH) and the server's authorized_keys`,
        { cause },
      );
    }
    if (e?.code === SFTP_STATUS.NO_SUCH_FILE) {
      return new StorageError(
        `${where}: not found (deleted by compaction or retention?)`,
        // As on file://: a vanished file is what compaction looks like.
        { cause, retryable: true },
      );
    }
    if (e?.code === SFTP_STATUS.PERMISSION_DENIED) {
      return new StorageError(
        `${where}: permission denied; check that "${this.settings.user}" may read and write the replica's directory`,
        { cause },
      );
    }
    if (e?.code === "ENOTFOUND") {
      return new StorageError(
        `${where}: no such host "${this.settings.host}"; check the replica URL`,
        { cause },
      );
    }
    if (e?.name === "NotCapable") {
      return new StorageError(
        `${where}: not allowed: ${message} (run with --allow-net=${this.settings.host}:${this.settings.port})`,
        { cause },
      );
    }
    const detail = e?.code === "ECONNREFUSED"
      ? `connection refused (is the SSH server running on port ${this.settings.port}?)`
      : message;
    return new StorageError(`${where}: ${detail}`, {
      cause,
      retryable: isConnectionError(error) || e?.code === "EAI_AGAIN",
    });
  }
}

/** Whether an error means the connection is gone or stuck. */
function isConnectionError(error: unknown): boolean {
  const e = error as Ssh2Error;
  if (e?.code === SFTP_STATUS.NO_CONNECTION) return true;
  if (e?.code === SFTP_STATUS.CONNECTION_LOST) return true;
  if (
    e?.level === "client-timeout" || e?.level === "client-socket" ||
    e?.level === "protocol"
  ) {
    return true;
  }
  return /ECONNRESET|ECONNREFUSED|ECONNABORTED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|No response from server|Not connected|Connection lost|connection closed|Channel is not open|closed before|Keepalive timeout|Timed out while waiting for handshake/i
    .test(`${e?.code ?? ""} ${e?.message ?? String(error)}`);
}
