/**
 * The remote backends the storage worker serves, by URL scheme. Loaded in
 * the worker only, and each backend's module (with its SDK) only when a
 * replica of its scheme opens: an SDK never loads for another backend's
 * replica, and so never asks for permissions or start-up time it does not
 * need, and a backend that fails to load fails its open with the reason.
 *
 * A backend is one {@linkcode ReplicaClient} in a module of its own; it
 * comes in here with one entry.
 *
 * @module
 */

import type { ReplicaClient } from "./replica_client.ts";

/** Makes a backend's client for a replica URL, with the worker's options. */
export type BackendFactory = (
  url: string,
  options: Record<string, unknown>,
) => Promise<ReplicaClient & { close?(): void }>;

/** The backends, by URL scheme. */
export const BACKENDS: ReadonlyMap<string, BackendFactory> = new Map<
  string,
  BackendFactory
>([
  [
    "s3",
    async (url, options) =>
      new (await import("./s3_client.ts")).S3ReplicaClient(url, options),
  ],
  [
    "gs",
    async (url, options) =>
      new (await import("./gs_client.ts")).GcsReplicaClient(url, options),
  ],
  [
    "abs",
    async (url, options) =>
      new (await import("./abs_client.ts")).AbsReplicaClient(url, options),
  ],
  [
    "oss",
    async (url, options) =>
      new (await import("./oss_client.ts")).OssReplicaClient(url, options),
  ],
  [
    "sftp",
    async (url, options) =>
      new (await import("./sftp_client.ts")).SftpReplicaClient(url, options),
  ],
  [
    "nats",
    async (url, options) =>
      new (await import("./nats_client.ts")).NatsReplicaClient(url, options),
  ],
  [
    "webdav",
    async (url, options) =>
      new (await import("./webdav_client.ts")).WebDavReplicaClient(
        url,
        options,
      ),
  ],
  [
    "webdavs",
    async (url, options) =>
      new (await import("./webdav_client.ts")).WebDavReplicaClient(
        url,
        options,
      ),
  ],
]);
