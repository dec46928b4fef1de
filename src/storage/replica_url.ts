/**
 * Replica URLs: parsing, redaction, and choosing the backend by scheme.
 *
 * @module
 */

import { ReplicaUrlError } from "./errors.ts";
import { FileReplicaClient } from "./file_client.ts";
import type { SyncReplicaClient } from "./replica_client.ts";
import {
  type WorkerClientOptions,
  WorkerReplicaClient,
} from "./worker_client.ts";

/** The schemes of remote backends, which the storage worker serves. */
const REMOTE_SCHEMES = [
  "s3",
  "gs",
  "abs",
  "oss",
  "sftp",
  "nats",
  "webdav",
  "webdavs",
];
const SCHEMES = ["file", ...REMOTE_SCHEMES];

/**
 * Removes credentials (user info and secret-looking query parameters) from a
 * replica URL, for messages and logs.
 *
 * @param url A replica URL or local path.
 * @returns The URL without password, keys or tokens.
 *
 * @example Redact a password
 * ```ts
 * import { redactUrl } from "./replica_url.ts";
 * import assert from "node:assert/strict";
 * assert.equal(redactUrl("sftp://me:pw@host/db"), "sftp://me:***@host/db");
 * // Even where the URL does not parse.
 * assert.equal(
 *   redactUrl("sftp://me:pw@host:99999/db?token=t"),
 *   "sftp://me:***@host:99999/db?token=***",
 * );
 * ```
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL the parser takes (a bad port, say): still never let a
    // password or a secret-looking parameter through.
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@]*:)[^@/]*@/i, "$1***@")
      .replace(
        /([?&][^=&]*(?:key|secret|token|password|sas|signature|credential)[^=&]*=)[^&]*/gi,
        "$1***",
      );
  }
  if (parsed.password) parsed.password = "***";
  for (const key of [...parsed.searchParams.keys()]) {
    if (/key|secret|token|password|sas|signature|credential/i.test(key)) {
      parsed.searchParams.set(key, "***");
    }
  }
  return parsed.href.replaceAll("%2A%2A%2A", "***");
}

/**
 * The scheme of a URL, in lower case.
 *
 * @param url A URL, or a bare path.
 * @returns `s3`, `file`, ...; undefined when there is none (a bare path).
 */
export function schemeOf(url: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
}

/**
 * Whether a replica URL names remote storage, where reading a whole file
 * means downloading it; `file://` URLs and bare paths are local.
 *
 * @param url A replica URL.
 * @returns True for the remote schemes (`s3`, `gs`, `abs`, ...).
 *
 * @example Local and remote
 * ```ts
 * import { isRemoteUrl } from "./replica_url.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isRemoteUrl("s3://bucket/db"), true);
 * assert.equal(isRemoteUrl("file:///var/replica"), false);
 * assert.equal(isRemoteUrl("replica"), false);
 * ```
 */
export function isRemoteUrl(url: string): boolean {
  const scheme = schemeOf(url);
  return scheme !== undefined && REMOTE_SCHEMES.includes(scheme);
}

/**
 * Opens a synchronous client for a replica URL. A bare path (absolute or
 * relative) means a local directory, as `file://` does.
 *
 * @param url `file:///abs/dir`, `s3://bucket/path?...`, or a directory path.
 * @param options For remote replicas: how many range reads run at once,
 * and the disk cache, if any.
 * @returns A client the engine can read synchronously.
 * @throws {ReplicaUrlError} When the URL is malformed or its scheme unknown.
 *
 * @example Open a local replica
 * ```ts
 * import { openSyncReplicaClient } from "./replica_url.ts";
 * import assert from "node:assert/strict";
 * const client = openSyncReplicaClient("file:///tmp/no-such-replica");
 * assert.deepEqual(client.listFilesSync(0), []);
 * client.close();
 * ```
 */
export function openSyncReplicaClient(
  url: string,
  options: Pick<WorkerClientOptions, "maxInFlight" | "diskCache"> = {},
): SyncReplicaClient {
  if (url === "") {
    throw new ReplicaUrlError(
      "No replica URL: pass one to open(), or set the replica_url URI parameter or LITESTREAM_REPLICA_URL",
    );
  }
  const scheme = schemeOf(url);
  if (scheme === undefined || scheme.length === 1 /* C:\ on Windows */) {
    return new FileReplicaClient(absolutePath(url));
  }
  if (scheme === "file") {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (cause) {
      throw new ReplicaUrlError(`Invalid replica URL "${url}"`, { cause });
    }
    if (parsed.host !== "" && parsed.host !== "localhost") {
      throw new ReplicaUrlError(
        `Invalid replica URL "${url}": a file URL names a local directory, as in "file:///path/to/replica"`,
      );
    }
    return new FileReplicaClient(decodeURIComponent(parsed.pathname));
  }
  if (REMOTE_SCHEMES.includes(scheme)) {
    // Served by the storage worker, over the backend's client (backends.ts).
    return new WorkerReplicaClient(url, options);
  }
  throw new ReplicaUrlError(
    `Replica URL "${
      redactUrl(url)
    }" has unknown scheme "${scheme}": use one of ${
      SCHEMES.map((s) => `${s}://`).join(", ")
    }`,
  );
}

function absolutePath(path: string): string {
  if (path.startsWith("/")) return path;
  return `${Deno.cwd()}/${path}`.replace(/\/\.\//g, "/");
}
