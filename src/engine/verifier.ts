/**
 * The engine's side of verification (`verify=background|strict`): which LTX
 * files of a replica were checked whole against their file checksum, which
 * failed, and the worker thread that checks them in the background. One per
 * replica per process, shared by every view of it.
 *
 * The worker is started by {@linkcode Verifier.startIfDue}, which the
 * engine calls from its idle tick, not by the open that asks for it:
 * starting a thread holds the engine's thread for tens of milliseconds,
 * which a short-lived process (one query, then exit) should not pay for
 * work it would not see finish, nor a busy client wait for. It stops once
 * it has had nothing to do for {@linkcode WORKER_IDLE_MS} (a thread holds
 * tens of MiB), and starts again when new files come.
 *
 * LTX files never change once written, so a file that checked out once is
 * remembered for the life of the process (by replica URL, path, size and
 * trailer checksum), and, where a local copy outlives the process (a disk
 * cache, a hydration file with a path), in a list beside it for the next
 * processes. A bad file is remembered only by this object: a file put
 * right is checked again by the next open.
 *
 * @module
 */

import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from "node:worker_threads";
import type { Logger } from "../log/mod.ts";
import { formatChecksum, LtxError } from "../ltx/mod.ts";
import { type LtxFileInfo, redactUrl } from "../storage/mod.ts";
import type { ReplicaConfig } from "./config.ts";
import { CorruptFileError } from "./errors.ts";
import type { Replica } from "./replica.ts";
import { FAILED_MESSAGE, verifyFile } from "./verify_file.ts";
import type {
  VerifyJob,
  VerifyResult,
  VerifyWorkerData,
} from "./verify_worker.ts";

/** The settings verification uses. */
export type VerifierConfig = Pick<
  ReplicaConfig,
  | "replicaUrl"
  | "maxInFlight"
  | "logLevel"
  | "logFile"
  | "diskCache"
  | "hydrationPath"
>;

/**
 * How long files wait for a quiet moment before the worker starts anyway,
 * in ms: a client that never pauses gets its files checked too.
 */
export const BUSY_START_MS = 2_000;

/** How long the worker may have nothing to do before it stops, in ms. */
export const WORKER_IDLE_MS = 30_000;

/** Options of {@linkcode Verifier}. */
export interface VerifierOptions {
  /** {@linkcode WORKER_IDLE_MS}, replaceable in tests. */
  workerIdleMs?: number;
  /**
   * Called when files start waiting for {@linkcode Verifier.startIfDue}
   * (no worker runs): the host should tick soon.
   */
  onWaiting?: () => void;
}

/**
 * The list of verified files: `<disk cache>/verified-ltx.txt`, else
 * `<hydration path>.verified-ltx.txt`, else none.
 *
 * @param config The disk cache and hydration path.
 * @returns The path, if any.
 */
export function verifiedListPath(
  config: Pick<ReplicaConfig, "diskCache" | "hydrationPath">,
): string | undefined {
  if (config.diskCache !== undefined) {
    return `${config.diskCache}/${VERIFIED_LIST}`;
  }
  if (config.hydrationPath !== undefined) {
    return `${config.hydrationPath}.${VERIFIED_LIST}`;
  }
  return undefined;
}

/** The name of the list of verified files. */
export const VERIFIED_LIST = "verified-ltx.txt";

/** Files that checked out in this process, by {@linkcode Verifier.keyOf}. */
const verifiedInProcess = new Set<string>();
/** Disk lists already read into {@linkcode verifiedInProcess}. */
const listsRead = new Set<string>();

/** How many files of a view are in each state. */
export interface VerificationCounts {
  /** Files that checked out. */
  readonly verified: number;
  /** Files that failed. */
  readonly bad: number;
  /** Files not checked yet. */
  readonly pending: number;
}

/** Verification of one replica's files. */
export class Verifier {
  #replica: Replica;
  #config: VerifierConfig;
  #log: Logger;
  #keys = new WeakMap<LtxFileInfo, string>();
  /** Files sent to the worker, or waiting for it to start, and not answered yet, by key. */
  #checking = new Set<string>();
  /** Jobs waiting for the worker to start, and since when (ms). */
  #queued: VerifyJob[] = [];
  #queuedSince = 0;
  /** Files that failed, by key. */
  #bad = new Map<string, CorruptFileError>();
  #worker: Worker | undefined;
  #results: MessagePort | undefined;
  #listPath: string | undefined;
  #workerBytes = 0;
  #workerIdleMs: number;
  #onWaiting: () => void;
  /** Since when the running worker has had nothing to do (ms). */
  #idleSince: number | undefined;
  #badGeneration = 0;
  #verifiedGeneration = 0;
  #closed = false;

  /**
   * @param replica The replica whose files are checked.
   * @param config Where to reach it from the worker, and the disk cache.
   * @param logger Where a file that fails a strict check is logged (the
   * worker logs what it finds itself).
   * @param options How long the worker may idle.
   */
  constructor(
    replica: Replica,
    config: VerifierConfig,
    logger: Logger,
    options: VerifierOptions = {},
  ) {
    this.#replica = replica;
    this.#config = config;
    this.#log = logger;
    this.#workerIdleMs = options.workerIdleMs ?? WORKER_IDLE_MS;
    this.#onWaiting = options.onWaiting ?? (() => {});
    this.#listPath = verifiedListPath(config);
    if (this.#listPath !== undefined) readVerifiedList(this.#listPath);
  }

  /** Bytes the background worker read from the replica. */
  get bytesFetched(): number {
    return this.#workerBytes;
  }

  /**
   * Changes each time a file turns bad (and, with `strict`, each time one
   * checks out): what may be served from local files changed.
   *
   * @param strict Whether unverified files are held back.
   * @returns The generation.
   */
  generation(strict: boolean): number {
    return strict
      ? this.#badGeneration + this.#verifiedGeneration
      : this.#badGeneration;
  }

  /**
   * What identifies a file's content: its name, size and trailer checksum.
   *
   * @param file The file, whose metadata the replica has read.
   * @returns The key.
   */
  keyOf(file: LtxFileInfo): string {
    let key = this.#keys.get(file);
    if (key === undefined) {
      const { fileChecksum } = this.#replica.meta(file);
      key = `${this.#replica.describe(file)} ${file.size} ${
        formatChecksum(fileChecksum)
      }`;
      this.#keys.set(file, key);
    }
    return key;
  }

  /**
   * Has the worker check the files not checked yet, in the given order.
   *
   * @param files The files of a view.
   */
  watch(files: readonly LtxFileInfo[]): void {
    if (this.#closed) return;
    const jobs: VerifyJob[] = [];
    for (const file of files) {
      const key = this.keyOf(file);
      if (
        verifiedInProcess.has(key) || this.#bad.has(key) ||
        this.#checking.has(key)
      ) continue;
      this.#checking.add(key);
      jobs.push({ key, file });
    }
    if (jobs.length === 0) return;
    if (this.#worker !== undefined) {
      this.#worker.postMessage(jobs);
      return;
    }
    const first = this.#queued.length === 0;
    this.#queued.push(...jobs);
    if (first) {
      this.#queuedSince = performance.now();
      this.#onWaiting();
    }
  }

  /** Whether files wait for {@linkcode Verifier.startIfDue}. */
  get waiting(): boolean {
    return this.#queued.length > 0;
  }

  /** Whether the worker thread runs. */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  /**
   * Starts the worker, if files wait for it, and hands them over: at a
   * quiet moment, or at a busy one once they have waited
   * {@linkcode BUSY_START_MS}.
   *
   * @param quiet Whether no client waits for the engine now.
   */
  startIfDue(quiet: boolean): void {
    this.#stopIfIdle();
    if (this.#closed || this.#queued.length === 0) return;
    if (!quiet && performance.now() - this.#queuedSince < BUSY_START_MS) {
      return;
    }
    const jobs = this.#queued;
    this.#queued = [];
    this.#startWorker().postMessage(jobs);
  }

  /**
   * Takes in what the worker found since the last call (a file turning bad
   * moves {@linkcode Verifier.generation} on); never waits.
   */
  collect(): void {
    for (
      let message = this.#results && receiveMessageOnPort(this.#results);
      message !== undefined;
      message = receiveMessageOnPort(this.#results!)
    ) {
      const result = message.message as VerifyResult;
      this.#checking.delete(result.key);
      this.#workerBytes += result.bytes;
      if (result.status === "verified") {
        this.#remember(result.key);
      } else if (result.status === "bad") {
        this.#bad.set(
          result.key,
          new CorruptFileError(result.file, result.reason),
        );
        this.#badGeneration++;
      }
    }
    this.#stopIfIdle();
  }

  /**
   * Whether a file may be served: not bad, and, when `strict`, verified.
   *
   * @param file The file.
   * @param strict Whether unverified files are held back.
   * @returns True when its pages may be served without a check.
   */
  servable(file: LtxFileInfo, strict: boolean): boolean {
    const key = this.keyOf(file);
    if (this.#bad.has(key)) return false;
    return !strict || verifiedInProcess.has(key);
  }

  /**
   * Lets a read of a file's pages go on, or stops it: a bad file throws;
   * with `strict`, a file not verified yet is checked whole first.
   *
   * @param file The file about to be read.
   * @param strict Whether to check it now if it was not.
   * @throws {CorruptFileError} When the file is bad.
   * @throws {StorageError} When a strict check cannot read it.
   */
  guard(file: LtxFileInfo, strict: boolean): void {
    const key = this.keyOf(file);
    const bad = this.#bad.get(key);
    if (bad !== undefined) throw bad;
    if (!strict || verifiedInProcess.has(key)) return;
    try {
      verifyFile(this.#replica, file);
    } catch (error) {
      if (!(error instanceof LtxError)) throw error;
      const name = this.#replica.describe(file);
      const corrupt = new CorruptFileError(name, error.message, {
        cause: error,
      });
      this.#log.error(FAILED_MESSAGE, { file: name, error: error.message });
      this.#bad.set(key, corrupt);
      this.#badGeneration++;
      throw corrupt;
    }
    this.#remember(key);
  }

  /**
   * Counts the files of a view by state.
   *
   * @param files The files.
   * @returns How many checked out, failed, and are not checked yet.
   */
  count(files: readonly LtxFileInfo[]): VerificationCounts {
    let verified = 0;
    let bad = 0;
    for (const file of files) {
      const key = this.keyOf(file);
      if (this.#bad.has(key)) bad++;
      else if (verifiedInProcess.has(key)) verified++;
    }
    return { verified, bad, pending: files.length - verified - bad };
  }

  /**
   * The failures among some files.
   *
   * @param files The files.
   * @returns Their errors, one per bad file.
   */
  failures(files: readonly LtxFileInfo[]): CorruptFileError[] {
    return files.flatMap((file) => this.#bad.get(this.keyOf(file)) ?? []);
  }

  /** Stops the worker. */
  close(): void {
    this.#closed = true;
    this.#stopWorker();
  }

  /** Stops the worker once it has had nothing to do for long enough. */
  #stopIfIdle(): void {
    if (this.#worker === undefined) return;
    if (this.#checking.size > 0) {
      this.#idleSince = undefined;
      return;
    }
    const now = performance.now();
    this.#idleSince ??= now;
    if (now - this.#idleSince >= this.#workerIdleMs) this.#stopWorker();
  }

  #stopWorker(): void {
    void this.#worker?.terminate();
    this.#results?.close();
    this.#worker = undefined;
    this.#results = undefined;
    this.#idleSince = undefined;
  }

  #remember(key: string): void {
    if (verifiedInProcess.has(key)) return;
    verifiedInProcess.add(key);
    this.#verifiedGeneration++;
    if (this.#listPath === undefined) return;
    try {
      if (this.#config.diskCache !== undefined) {
        Deno.mkdirSync(this.#config.diskCache, { recursive: true });
      }
      // One short append per line: writers in other processes interleave
      // whole lines.
      Deno.writeTextFileSync(this.#listPath, `${key}\n`, { append: true });
    } catch {
      // The list saves work for later processes; without it they check again.
    }
  }

  #startWorker(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const { port1, port2 } = new MessageChannel();
    const config = this.#config;
    const data: VerifyWorkerData = {
      url: config.replicaUrl,
      maxInFlight: config.maxInFlight,
      logLevel: config.logLevel,
      logFile: config.logFile,
      fields: { replica: redactUrl(config.replicaUrl) },
      results: port2,
    };
    const worker = new Worker(
      new URL("./verify_worker.ts", import.meta.url),
      { workerData: data, transferList: [port2] },
    );
    // A worker that dies leaves files unchecked, which the status shows.
    worker.on("error", () => {});
    worker.unref();
    this.#worker = worker;
    this.#results = port1;
    return worker;
  }
}

function readVerifiedList(path: string): void {
  if (listsRead.has(path)) return;
  listsRead.add(path);
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return;
  }
  for (const line of text.split("\n")) {
    if (line !== "") verifiedInProcess.add(line);
  }
}
