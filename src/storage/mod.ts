/**
 * Replica storage: the {@linkcode ReplicaClient} contract, one client per
 * backend, and replica URL handling.
 *
 * @example Open a local replica and list its level-0 files
 * ```ts
 * import { openSyncReplicaClient } from "./mod.ts";
 * const client = openSyncReplicaClient("file:///tmp/no-such-replica");
 * console.log(client.listFilesSync(0).length);
 * client.close();
 * ```
 *
 * @module
 */

export type {
  Listing,
  LtxFileInfo,
  LtxFileName,
  RangeRequest,
  ReplicaClient,
  RetryOptions,
  SyncReplicaClient,
} from "./replica_client.ts";
export { FileExistsError, ReplicaUrlError, StorageError } from "./errors.ts";
export {
  DEFAULT_DISK_CACHE_SIZE,
  DiskCache,
  type DiskCacheOptions,
} from "./disk_cache.ts";
export { FileReplicaClient } from "./file_client.ts";
export {
  isRemoteUrl,
  openSyncReplicaClient,
  redactUrl,
} from "./replica_url.ts";
export { DEFAULT_MAX_IN_FLIGHT, WorkerReplicaClient } from "./worker_client.ts";
export type { WorkerClientOptions } from "./worker_client.ts";
