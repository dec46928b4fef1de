/**
 * The engine's side of hydration: starts the hydration worker for a replica,
 * pins the hydration file for read transactions that it can serve, reads
 * pages from it, and reports progress. One per replica per process, shared
 * by every file of that replica that asks for hydration.
 *
 * @module
 */

import { Worker } from "node:worker_threads";
import { formatTxid } from "../ltx/mod.ts";
import { redactUrl } from "../storage/mod.ts";
import type { ReplicaConfig } from "./config.ts";
import {
  describeProgress,
  percentDone,
  removeHydrationFile,
} from "./hydration.ts";
import { readAt } from "./_file_io.ts";
import { HydrationState } from "./hydration_state.ts";
import type { HydrationWorkerData } from "./hydration_worker.ts";

/** How long {@linkcode Hydrator.close} waits for the worker to stop, in ms. */
export const STOP_WAIT_MS = 10_000;

/** The settings hydration uses. */
export type HydratorConfig = Pick<
  ReplicaConfig,
  | "replicaUrl"
  | "hydrationPath"
  | "pollIntervalMs"
  | "maxInFlight"
  | "logLevel"
  | "logFile"
>;

/** A hydration worker and the file it keeps. */
export class Hydrator {
  /** The hydration file. */
  readonly path: string;
  /** Whether the file outlives the process. */
  readonly persistent: boolean;
  /** The state shared with the worker. */
  readonly state: HydrationState = new HydrationState();
  #worker: Worker;
  #file: Deno.FsFile | undefined;
  #fileGeneration = 0;
  #closed = false;

  /**
   * Starts hydrating: into `hydrationPath` if configured (kept, and taken
   * up again by the next process), else into a new temporary file that is
   * removed when the hydrator closes.
   *
   * @param config The replica's settings.
   * @param onError Told if the worker dies of an error.
   */
  constructor(config: HydratorConfig, onError: (error: Error) => void) {
    this.persistent = config.hydrationPath !== undefined;
    this.path = config.hydrationPath ??
      Deno.makeTempFileSync({ prefix: "lsvfs-hydration-", suffix: ".db" });
    const data: HydrationWorkerData = {
      url: config.replicaUrl,
      path: this.path,
      persistent: this.persistent,
      state: this.state.buffer,
      pollIntervalMs: config.pollIntervalMs,
      maxInFlight: config.maxInFlight,
      logLevel: config.logLevel,
      logFile: config.logFile,
      fields: { replica: redactUrl(config.replicaUrl) },
    };
    this.#worker = new Worker(
      new URL("./hydration_worker.ts", import.meta.url),
      {
        workerData: data,
      },
    );
    // A worker that dies (it should not: it catches what it runs into)
    // must not take the process with it; reads go on from the replica.
    this.#worker.on("error", (error: unknown) => {
      this.state.status = "failed";
      onError(error instanceof Error ? error : new Error(String(error)));
    });
    this.#worker.unref();
  }

  /**
   * Pins the file for a read transaction at `txid`, if it holds exactly that
   * state and the worker is not writing it; see {@linkcode HydrationState.pin}.
   *
   * @param txid The TXID of the read's view.
   * @returns Whether the read is served from the file.
   */
  pin(txid: bigint): boolean {
    return !this.#closed && this.state.pin(txid);
  }

  /** Releases a pin of {@linkcode Hydrator.pin}. */
  unpin(): void {
    this.state.unpin();
  }

  /**
   * Reads whole pages from the file, which a pin holds at the read's TXID.
   *
   * @param pgno The first page.
   * @param out Room for one or more pages.
   * @param pageSize The page size.
   */
  read(pgno: number, out: Uint8Array, pageSize: number): void {
    const generation = this.state.generation;
    if (this.#file === undefined || this.#fileGeneration !== generation) {
      this.#file?.close();
      this.#file = Deno.openSync(this.path, { read: true });
      this.#fileGeneration = generation;
    }
    readAt(this.#file, (pgno - 1) * pageSize, out);
  }

  /**
   * Progress as `PRAGMA litestream_hydration` reports it: one line of JSON.
   *
   * @param now The time now, in ms.
   * @returns For example `{"status":"complete","percent":100,...}`.
   */
  describe(now: number): string {
    const p = this.state.progress();
    const fields = describeProgress(this.state, now);
    return JSON.stringify({
      ...fields,
      txid: p.txid === 0n ? null : formatTxid(p.txid),
      path: this.path,
      persistent: this.persistent,
    });
  }

  /** Percentage done of the current build or catch-up; 100 once complete. */
  percent(): number {
    return percentDone(this.state.progress());
  }

  /**
   * Stops the worker and waits for it, so that no two workers ever write
   * one file; a temporary file is removed. The worker stops between two
   * batches of reads: this waits at most {@linkcode STOP_WAIT_MS}, then lets
   * it finish on its own.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file?.close();
    this.#file = undefined;
    this.state.requestStop();
    if (this.state.waitStopped(STOP_WAIT_MS)) return;
    this.#worker.terminate();
    if (!this.persistent) removeHydrationFile(this.path);
  }
}
