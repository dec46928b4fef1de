/**
 * The verification worker: a `node:worker_threads` Worker (unref'd, so it
 * never keeps a process alive) that checks LTX files whole for
 * {@linkcode Verifier}, one after another, on a thread of its own, through
 * its own storage client. Jobs come as messages; each answer goes back on
 * a MessagePort that the engine drains without waiting
 * (`receiveMessageOnPort`), since the engine child has no event loop.
 *
 * A bad file is logged at ERROR here, as soon as it is found, whether or not
 * anything reads the database. A file that cannot be read is tried again
 * later, a few times, then given up on (it stays unchecked).
 *
 * Started by `verifier.ts`; not meant to be imported.
 *
 * @module
 */

import {
  isMainThread,
  type MessagePort,
  parentPort,
  workerData,
} from "node:worker_threads";
import { LtxError } from "../ltx/mod.ts";
import { type LtxFileInfo, openSyncReplicaClient } from "../storage/mod.ts";
import { Replica } from "./replica.ts";
import { FAILED_MESSAGE, verifyFile } from "./verify_file.ts";
import { workerLogger, type WorkerLogSettings } from "./_worker_log.ts";

/** What the engine hands the worker. */
export interface VerifyWorkerData extends WorkerLogSettings {
  /** The replica URL, with any credentials it carries. */
  url: string;
  /** Range reads at once against a remote replica. */
  maxInFlight: number;
  /** Where the answers go. */
  results: MessagePort;
}

/** One file to check. */
export interface VerifyJob {
  /** The engine's key for the file. */
  key: string;
  /** The file. */
  file: LtxFileInfo;
}

/** What the worker found about one file. */
export interface VerifyResult {
  /** The job's key. */
  key: string;
  /** The file's name (replica URL and path). */
  file: string;
  /** Sound, bad, or not readable (given up on). */
  status: "verified" | "bad" | "unreadable";
  /** What is wrong, for `bad` and `unreadable`. */
  reason: string;
  /** Bytes read from the replica for this job. */
  bytes: number;
}

/**
 * The share of a core the worker uses at most: after each chunk it rests
 * as long as it worked, so the SQLite threads it runs beside keep most of
 * a machine with few cores.
 */
const BUSY_SHARE = 0.5;

/** Rests this thread (a worker may block). */
function rest(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** How many times a file that cannot be read is tried. */
const MAX_ATTEMPTS = 4;
/** The wait before the first retry, in ms; it doubles each time. */
const FIRST_RETRY_MS = 1000;

function run(data: VerifyWorkerData): void {
  // The worker is terminated, never ended: the log file stays open.
  const { logger } = workerLogger(data);
  const replica = new Replica(
    openSyncReplicaClient(data.url, { maxInFlight: data.maxInFlight }),
  );
  const queue: { job: VerifyJob; attempts: number }[] = [];
  let scheduled = false;
  const schedule = (delayMs: number) => {
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      step();
    }, delayMs);
  };
  const answer = (result: VerifyResult) => data.results.postMessage(result);

  // One file per turn of the event loop, so new jobs come in between.
  const step = () => {
    const next = queue.shift();
    if (next === undefined) return;
    const { job } = next;
    const name = replica.describe(job.file);
    const before = replica.bytesFetched;
    try {
      verifyFile(
        replica,
        job.file,
        (busyMs) => rest(busyMs * (1 / BUSY_SHARE - 1)),
      );
      logger.debug("verified", { file: name });
      answer({
        key: job.key,
        file: name,
        status: "verified",
        reason: "",
        bytes: replica.bytesFetched - before,
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const bytes = replica.bytesFetched - before;
      if (error instanceof LtxError) {
        logger.error(FAILED_MESSAGE, { file: name, error: reason });
        answer({ key: job.key, file: name, status: "bad", reason, bytes });
      } else if (++next.attempts < MAX_ATTEMPTS) {
        logger.warn("cannot read an LTX file to verify it: trying again", {
          file: name,
          error: reason,
        });
        queue.push(next);
        schedule(FIRST_RETRY_MS * 2 ** (next.attempts - 1));
        return;
      } else {
        logger.warn("cannot read an LTX file to verify it: left unchecked", {
          file: name,
          error: reason,
        });
        answer({
          key: job.key,
          file: name,
          status: "unreadable",
          reason,
          bytes,
        });
      }
    }
    if (queue.length > 0) schedule(0);
  };

  parentPort!.on("message", (jobs: VerifyJob[]) => {
    for (const job of jobs) queue.push({ job, attempts: 0 });
    schedule(0);
  });
}

if (!isMainThread) run(workerData as VerifyWorkerData);
