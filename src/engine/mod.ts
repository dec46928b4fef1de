/**
 * The engine: replica views over LTX files, served synchronously to the VFS.
 *
 * @example Open a replica's latest state and read page 1
 * ```ts ignore
 * import { Engine } from "./mod.ts";
 * const engine = new Engine();
 * const file = engine.openFile("db", new Map([["replica_url", "file:///r"]]));
 * file.beginRead();
 * const page = new Uint8Array(file.pageSize);
 * file.readPages(1, page);
 * file.endRead();
 * file.close();
 * ```
 *
 * @module
 */

export type {
  CacheCounters,
  DatabaseFile,
  DatabaseFileOpener,
  PageRun,
  WriteLockLevel,
} from "./database_file.ts";
export { Engine, type EngineOptions } from "./engine.ts";
export {
  DEFAULT_CACHE_SIZE,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_SYNC_INTERVAL_MS,
  type EnvLookup,
  parseBoolean,
  parseCacheSize,
  parseCount,
  parseDuration,
  parseLogLevel,
  parseVerification,
  readEnv,
  type ReplicaConfig,
  resolveConfig,
  type Verification,
  VERIFICATIONS,
} from "./config.ts";
export {
  formatStatus,
  parseCacheCounters,
  parseStatus,
  type ReplicaStatus,
} from "./status.ts";
export {
  BusyError,
  ConfigError,
  ConflictError,
  CorruptFileError,
  PageNotFoundError,
  ReadOnlyError,
  ReplicaNotFoundError,
  TimeTravelError,
  type TimeTravelErrorOptions,
  TxidGapError,
} from "./errors.ts";
export {
  ACCEPTED_TIME_FORMATS,
  formatTime,
  parseTargetTime,
  planAtTime,
} from "./time_travel.ts";
// Errors from the layers below that reach the engine's callers unchanged.
export { LtxError } from "../ltx/mod.ts";
export { ReplicaUrlError, StorageError } from "../storage/mod.ts";
export { restorePlan, type RestorePlanOptions } from "./restore_plan.ts";
export {
  ReplicaView,
  type ReplicaViewConfig,
  type ReplicaViewOptions,
} from "./view.ts";
