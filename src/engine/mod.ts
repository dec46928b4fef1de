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
 * file.readPage(1, page);
 * file.endRead();
 * file.close();
 * ```
 *
 * @module
 */

export type { DatabaseFile, DatabaseFileOpener } from "./database_file.ts";
export { Engine, type EngineOptions } from "./engine.ts";
export {
  DEFAULT_POLL_INTERVAL_MS,
  parseDuration,
  readEnv,
  type ReplicaConfig,
  resolveConfig,
} from "./config.ts";
export {
  ConfigError,
  PageNotFoundError,
  ReplicaNotFoundError,
  TxidGapError,
} from "./errors.ts";
// Errors from the layers below that reach the engine's callers unchanged.
export { LtxError } from "../ltx/mod.ts";
export { ReplicaUrlError, StorageError } from "../storage/mod.ts";
export { restorePlan, type RestorePlanOptions } from "./restore_plan.ts";
export { ReplicaView, type ReplicaViewOptions } from "./view.ts";
