/**
 * The hydration worker: a `node:worker_threads` Worker (it can be unref'd,
 * so it never keeps a process alive) that runs {@linkcode Hydration} for one
 * replica, on a thread of its own, so SQLite's thread never waits for it. It
 * reads the replica through its own storage client, synchronously (blocking
 * this thread is harmless), builds the file, then looks for new LTX files
 * every poll interval and applies them, until the engine asks it to stop.
 *
 * Started by `hydrator.ts`; not meant to be imported.
 *
 * @module
 */

import { workerData } from "node:worker_threads";
import { openSyncReplicaClient } from "../storage/mod.ts";
import { Hydration } from "./hydration.ts";
import { HydrationState } from "./hydration_state.ts";
import { Replica } from "./replica.ts";
import { workerLogger, type WorkerLogSettings } from "./_worker_log.ts";

/** What the engine hands the worker. */
export interface HydrationWorkerData extends WorkerLogSettings {
  /** The replica URL, with any credentials it carries. */
  url: string;
  /** The hydration file. */
  path: string;
  /** Whether the file outlives the process (a path was configured). */
  persistent: boolean;
  /** The {@linkcode HydrationState} buffer. */
  state: SharedArrayBuffer;
  /** How often to look for new LTX files, in ms. */
  pollIntervalMs: number;
  /** Range reads at once against a remote replica. */
  maxInFlight: number;
}

/** How long to wait after a failure before trying again, at most, in ms. */
const MAX_BACKOFF_MS = 30_000;

function run(data: HydrationWorkerData): void {
  const state = new HydrationState(data.state);
  const { logger, logFile } = workerLogger(data, { hydration: data.path });
  const replica = new Replica(
    openSyncReplicaClient(data.url, { maxInFlight: data.maxInFlight }),
  );
  const hydration = new Hydration({
    replica,
    path: data.path,
    state,
    logger,
  });
  let backoff = data.pollIntervalMs;
  let resumed = !data.persistent;
  try {
    while (!state.stopRequested) {
      try {
        if (!resumed) {
          hydration.resume();
          resumed = true;
        }
        hydration.step();
        backoff = data.pollIntervalMs;
      } catch (error) {
        logger.warn(
          "hydration failed: reads go to the replica until it works",
          {
            error: (error as Error).message,
          },
        );
        if (hydration.txid === undefined) state.status = "failed";
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
      }
      if (state.sleep(backoff)) break;
    }
  } finally {
    hydration.close(!data.persistent);
    replica.close();
    logFile?.release();
    state.status = "stopped";
  }
}

run(workerData as HydrationWorkerData);
