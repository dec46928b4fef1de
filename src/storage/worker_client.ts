/**
 * The synchronous bridge to the storage worker: {@linkcode WorkerReplicaClient}
 * gives the engine a {@linkcode SyncReplicaClient} over an asynchronous
 * backend that lives in the worker (`worker.ts`).
 *
 * One worker per process, shared by every client; it starts with the first
 * client, is unref'd (it never keeps the process alive, even with databases
 * left open) and is terminated when the last client closes.
 *
 * @module
 */

import {
  CONTROL_SLOTS,
  INITIAL_DATA_BYTES,
  MAX_DATA_BYTES,
  readMessage,
  REQUEST_SEQ,
  RESPONSE_SEQ,
  type WireFile,
  type WireRequest,
  type WireResponse,
  writeMessage,
} from "./_channel.ts";
import { Worker } from "node:worker_threads";
import { FileExistsError, StorageError } from "./errors.ts";
import type {
  Listing,
  LtxFileInfo,
  LtxFileName,
  RangeRequest,
  RetryOptions,
  SyncReplicaClient,
} from "./replica_client.ts";
import { DiskCache, type DiskCacheOptions } from "./disk_cache.ts";
import { redactUrl } from "./replica_url.ts";

/** Default number of range reads a batch runs at once. */
export const DEFAULT_MAX_IN_FLIGHT = 64;

/** Default bound on one blocking call, in ms (the backend's own retry bound is below it). */
export const DEFAULT_CALL_TIMEOUT_MS = 120_000;

/** Options for {@linkcode WorkerReplicaClient}. */
export interface WorkerClientOptions {
  /** Range reads of one batch running at once. */
  maxInFlight?: number;
  /** A disk cache for whole copies of the replica's files; none by default. */
  diskCache?: DiskCacheOptions;
  /** Bound on one blocking call to the worker, in ms. */
  callTimeoutMs?: number;
  /** Options passed to the backend client in the worker (JSON values). */
  backend?: Record<string, unknown>;
}

class StorageWorker {
  readonly control = new Int32Array(
    new SharedArrayBuffer(CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT),
  );
  readonly data = new SharedArrayBuffer(INITIAL_DATA_BYTES, {
    maxByteLength: MAX_DATA_BYTES,
  });
  readonly worker: Worker;
  users = 0;
  broken = false;
  #seq = 0;

  constructor() {
    this.worker = new Worker(new URL("./worker.ts", import.meta.url));
    // Never what keeps the process alive: the engine thread waits for it
    // with Atomics.wait, not through the event loop.
    this.worker.unref();
    this.worker.postMessage({ control: this.control.buffer, data: this.data });
  }

  /** Sends one request and blocks until its answer. */
  call(
    request: WireRequest,
    timeoutMs: number,
    payloads: readonly Uint8Array[] = [],
  ): { header: WireResponse; payloadAt: number } {
    if (this.broken) {
      throw new StorageError(
        "The storage worker stopped answering; close and reopen the database",
        { retryable: true },
      );
    }
    writeMessage(this.data, request, payloads);
    const seq = ++this.#seq;
    Atomics.store(this.control, REQUEST_SEQ, seq);
    Atomics.notify(this.control, REQUEST_SEQ);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const got = Atomics.load(this.control, RESPONSE_SEQ);
      if (got === seq) break;
      const left = deadline - performance.now();
      if (left <= 0) {
        this.broken = true;
        throw new StorageError(
          `The storage worker gave no answer within ${timeoutMs} ms`,
          { retryable: true },
        );
      }
      Atomics.wait(this.control, RESPONSE_SEQ, got, left);
    }
    return readMessage<WireResponse>(this.data);
  }
}

let shared: StorageWorker | undefined;
let nextId = 1;

function fromWire(files: WireFile[]): LtxFileInfo[] {
  return files.map((w) => ({
    ...w,
    minTxid: BigInt(w.minTxid),
    maxTxid: BigInt(w.maxTxid),
  }));
}

function toWire(f: LtxFileInfo): WireFile {
  return {
    level: f.level,
    minTxid: f.minTxid.toString(),
    maxTxid: f.maxTxid.toString(),
    size: f.size,
    createdAt: f.createdAt,
  };
}

/** A replica served by the storage worker, read synchronously. */
export class WorkerReplicaClient implements SyncReplicaClient {
  /** The replica URL, redacted. */
  readonly url: string;
  /** Range reads of one batch running at once. */
  readonly maxInFlight: number;
  #id = nextId++;
  #worker: StorageWorker | undefined;
  #timeoutMs: number;
  /** The worker's poll listing last received, and its generation. */
  #polled: { generation: number; files: LtxFileInfo[] } = {
    generation: -1,
    files: [],
  };
  #cache: DiskCache | undefined;
  /** Files whose copy was asked for, by cache path. */
  #asked = new Set<string>();

  /**
   * Starts the worker if needed and opens the backend client in it.
   *
   * @param url The replica URL (credentials in it stay in the worker).
   * @param options Batch concurrency, call bound, backend options.
   * @throws {StorageError} When the backend rejects the URL.
   */
  constructor(url: string, options: WorkerClientOptions = {}) {
    this.url = redactUrl(url);
    this.maxInFlight = Math.max(
      1,
      options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
    );
    this.#timeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    if (options.diskCache !== undefined) {
      this.#cache = new DiskCache(this.url, options.diskCache);
    }
    if (shared === undefined || shared.broken) {
      if (shared?.broken && shared.users === 0) shared.worker.terminate();
      shared = new StorageWorker();
    }
    this.#worker = shared;
    shared.users++;
    try {
      this.#call({
        op: "open",
        id: this.#id,
        url,
        options: options.backend,
      });
    } catch (error) {
      this.#release();
      throw error;
    }
  }

  #call(
    request: WireRequest,
    payloads?: readonly Uint8Array[],
  ): { header: WireResponse; payloadAt: number } {
    const worker = this.#worker;
    if (worker === undefined) {
      throw new StorageError(`Replica "${this.url}" is closed`);
    }
    const answer = worker.call(request, this.#timeoutMs, payloads);
    const h = answer.header;
    if (!h.ok) {
      if (h.name === "FileExistsError") throw new FileExistsError(h.message);
      throw new StorageError(h.message, { retryable: h.retryable });
    }
    return answer;
  }

  /** {@inheritDoc SyncReplicaClient.listFilesSync} */
  listFilesSync(level: number): LtxFileInfo[] {
    const { header } = this.#call({ op: "list", id: this.#id, level });
    return fromWire((header as { files: WireFile[] }).files);
  }

  /** {@inheritDoc SyncReplicaClient.listAllSync} */
  listAllSync(options: RetryOptions = {}): LtxFileInfo[] {
    const { header } = this.#call({
      op: "listAll",
      id: this.#id,
      retryBudgetMs: options.retryBudgetMs,
    });
    return fromWire((header as { files: WireFile[] }).files);
  }

  /**
   * {@inheritDoc SyncReplicaClient.pollSync}
   *
   * The worker sends the files only when they changed since the last call,
   * so an idle replica costs a round trip to the worker and no parsing.
   */
  pollSync(intervalMs: number): Listing {
    const { header } = this.#call({
      op: "poll",
      id: this.#id,
      intervalMs,
      seen: this.#polled.generation,
    });
    const { generation, ageMs, files } = header as {
      generation: number;
      ageMs: number;
      files?: WireFile[];
    };
    if (files !== undefined) {
      this.#polled = { generation, files: fromWire(files) };
    }
    return { files: this.#polled.files, ageMs };
  }

  /** {@inheritDoc SyncReplicaClient.localPath} */
  localPath(file: LtxFileInfo): string | undefined {
    return this.#cache?.localPath(file);
  }

  /** {@inheritDoc SyncReplicaClient.createFileSync} */
  createFileSync(
    file: LtxFileName,
    bytes: Uint8Array,
    options: RetryOptions = {},
  ): void {
    this.#call({
      op: "create",
      id: this.#id,
      file: toWire({ ...file, size: bytes.length, createdAt: 0 }),
      length: bytes.length,
      retryBudgetMs: options.retryBudgetMs,
    }, [bytes]);
  }

  /** {@inheritDoc SyncReplicaClient.keepLocal} */
  keepLocal(file: LtxFileInfo): void {
    const cache = this.#cache;
    if (cache === undefined) return;
    const path = cache.pathOf(file);
    if (this.#asked.has(path) || cache.localPath(file) !== undefined) return;
    this.#asked.add(path);
    this.#call({
      op: "cache",
      id: this.#id,
      file: toWire(file),
      path,
      maxBytes: cache.maxBytes,
    });
  }

  /**
   * {@inheritDoc SyncReplicaClient.readRangeSync}
   *
   * From the disk cache when it holds the file.
   */
  readRangeSync(
    file: LtxFileInfo,
    offset: number,
    length: number,
    out: Uint8Array = new Uint8Array(length),
  ): Uint8Array {
    const target = out.subarray(0, length);
    if (this.#cache?.read(file, offset, target)) return target;
    const { header, payloadAt } = this.#call({
      op: "read",
      id: this.#id,
      reads: [{ file: toWire(file), offset, length }],
      maxInFlight: 1,
    });
    const got = (header as { lengths: number[] }).lengths[0];
    target.set(new Uint8Array(this.#worker!.data, payloadAt, got));
    return target;
  }

  /**
   * {@inheritDoc SyncReplicaClient.readRangesSync}
   *
   * Ranges of files the disk cache holds are read there.
   */
  readRangesSync(requests: readonly RangeRequest[]): Uint8Array[] {
    const results: Uint8Array[] = new Array(requests.length);
    const remote: number[] = [];
    const cache = this.#cache;
    requests.forEach((r, i) => {
      if (cache !== undefined) {
        const local = new Uint8Array(r.length);
        if (cache.read(r.file, r.offset, local)) {
          results[i] = local;
          return;
        }
      }
      remote.push(i);
    });
    if (remote.length === 0) return results;
    const { header, payloadAt } = this.#call({
      op: "read",
      id: this.#id,
      reads: remote.map((i) => ({
        file: toWire(requests[i].file),
        offset: requests[i].offset,
        length: requests[i].length,
      })),
      maxInFlight: this.maxInFlight,
    });
    const data = new Uint8Array(this.#worker!.data);
    let at = payloadAt;
    (header as { lengths: number[] }).lengths.forEach((n, k) => {
      results[remote[k]] = data.slice(at, at + n);
      at += n;
    });
    return results;
  }

  /** Closes the backend client; the last close stops the worker. Idempotent. */
  close(): void {
    this.#cache?.close();
    if (this.#worker === undefined) return;
    try {
      if (!this.#worker.broken) {
        this.#worker.call({ op: "close", id: this.#id }, this.#timeoutMs);
      }
    } catch {
      // Closing anyway.
    }
    this.#release();
  }

  #release(): void {
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker === undefined) return;
    worker.users--;
    if (worker.users === 0) {
      worker.worker.terminate();
      if (shared === worker) shared = undefined;
    }
  }
}
