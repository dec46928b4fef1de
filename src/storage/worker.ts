/**
 * The storage worker: a `node:worker_threads` Worker (it can be unref'd,
 * unlike a web Worker in Deno) that owns the asynchronous replica clients
 * (ARCHITECTURE.md, "The engine is synchronous; storage is asynchronous").
 * The engine thread writes a request into shared memory and blocks with
 * `Atomics.wait`; this worker waits with `Atomics.waitAsync`, so its event
 * loop stays free for network I/O, runs the request (a batch of range reads
 * in parallel, at most `maxInFlight` at once, ranges of a file that overlap
 * or touch read as one) and answers the same way.
 *
 * Polling runs here too, on a timer per client, from the first `poll`
 * request on (seeded with the listing taken at open): a read transaction
 * then takes the latest listing without waiting for a LIST. An idle tick
 * lists level 0 only (see pollListing). So do the copies of whole files into a disk cache
 * (`cache` requests), answered at once and made in the background.
 *
 * Started by `worker_client.ts`; not meant to be imported.
 *
 * @module
 */

import { parentPort } from "node:worker_threads";
import {
  readMessage,
  REQUEST_SEQ,
  RESPONSE_SEQ,
  type WireFile,
  type WireRequest,
  type WireResponse,
  writeMessage,
} from "./_channel.ts";
import { SNAPSHOT_LEVEL } from "../ltx/mod.ts";
import { coalesce } from "./_coalesce.ts";
import { storeCopy } from "./disk_cache.ts";
import { StorageError } from "./errors.ts";
import type {
  LtxFileInfo,
  ReplicaClient,
  RetryOptions,
} from "./replica_client.ts";
import { BACKENDS } from "./backends.ts";
import { redactUrl, schemeOf } from "./replica_url.ts";

const clients = new Map<number, ReplicaClient & { close?(): void }>();

/** Why the latest poll failed. */
interface PollFailure {
  message: string;
  retryable: boolean;
  name: string;
}

/** The poller of one client: the listing it found last, or why it failed. */
interface Poller {
  intervalMs: number;
  timer?: ReturnType<typeof setTimeout>;
  /** Bumped each time the listing differs from the one before. */
  generation: number;
  files: WireFile[];
  /** The listing as JSON, to tell a change. */
  json: string;
  /** When the latest successful poll ended (Date.now()). */
  at: number;
  /** When every level was last listed (Date.now()); undefined before. */
  fullAt?: number;
  failure?: PollFailure;
  closed: boolean;
}

const pollers = new Map<number, Poller>();

/** The latest full listing of each client, to seed its poller. */
const listings = new Map<number, { files: WireFile[]; at: number }>();

/** Disk-cache copies under way, by path. */
const copying = new Set<string>();

function openClient(
  url: string,
  options: Record<string, unknown> = {},
): Promise<ReplicaClient & { close?(): void }> {
  const scheme = schemeOf(url) ?? "";
  const backend = BACKENDS.get(scheme);
  if (backend === undefined) {
    throw new StorageError(
      `Replica URL "${
        redactUrl(url)
      }": the "${scheme}" backend is not available in this version yet`,
    );
  }
  return backend(url, options);
}

function toFile(w: WireFile): LtxFileInfo {
  return { ...w, minTxid: BigInt(w.minTxid), maxTxid: BigInt(w.maxTxid) };
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

function client(id: number): ReplicaClient {
  const c = clients.get(id);
  if (c === undefined) throw new StorageError(`No storage client #${id}`);
  return c;
}

function failureOf(error: unknown): PollFailure {
  return {
    message: error instanceof Error ? error.message : String(error),
    retryable: error instanceof StorageError && error.retryable,
    name: error instanceof Error ? error.name : "Error",
  };
}

/** Every level of a replica, listed in parallel. */
async function listAll(
  c: ReplicaClient,
  options?: RetryOptions,
): Promise<WireFile[]> {
  const levels = Array.from({ length: SNAPSHOT_LEVEL + 1 }, (_, i) => i);
  const listed = await Promise.all(
    levels.map((level) => c.listFiles(level, options)),
  );
  return listed.flat().map(toWire);
}

/** How often a poller lists every level, in ms; in between, level 0 only. */
const FULL_LISTING_MS = 60_000;

/**
 * What a poll lists: new transactions arrive as level-0 files, so a tick
 * lists level 0 alone and keeps the other levels from the last full
 * listing, unless a level-0 file it knew is gone (compaction and retention
 * at work) or a minute has passed: then every level. One LIST a tick on an
 * idle replica instead of ten.
 */
async function pollListing(
  c: ReplicaClient,
  poller: Poller,
): Promise<WireFile[]> {
  const now = Date.now();
  // A poll that fails is tried again at the next tick anyway: it retries
  // no longer than an interval, so a broken replica shows at once.
  const options = { retryBudgetMs: poller.intervalMs };
  const full = async () => {
    const files = await listAll(c, options);
    poller.fullAt = now;
    return files;
  };
  if (poller.fullAt === undefined || now - poller.fullAt >= FULL_LISTING_MS) {
    return await full();
  }
  const level0 = (await c.listFiles(0, options)).map(toWire);
  const kept = new Set(level0.map((f) => `${f.minTxid}-${f.maxTxid}`));
  const vanished = poller.files.some((f) =>
    f.level === 0 && !kept.has(`${f.minTxid}-${f.maxTxid}`)
  );
  if (vanished) return await full();
  return [...level0, ...poller.files.filter((f) => f.level !== 0)];
}

/** Lists once for a poller, then schedules the next poll. */
async function pollOnce(id: number, poller: Poller): Promise<void> {
  try {
    const files = await pollListing(client(id), poller);
    const json = JSON.stringify(files);
    if (json !== poller.json) {
      poller.generation++;
      poller.files = files;
      poller.json = json;
    }
    poller.at = Date.now();
    poller.failure = undefined;
  } catch (error) {
    poller.failure = failureOf(error);
  }
  if (!poller.closed) {
    poller.timer = setTimeout(() => pollOnce(id, poller), poller.intervalMs);
  }
}

/** The poller of a client, started (with a first listing) on first use. */
async function pollerOf(id: number, intervalMs: number): Promise<Poller> {
  let poller = pollers.get(id);
  if (poller === undefined) {
    client(id);
    poller = {
      intervalMs,
      generation: 0,
      files: [],
      json: "",
      at: 0,
      closed: false,
    };
    pollers.set(id, poller);
    const seed = listings.get(id);
    if (seed === undefined) {
      await pollOnce(id, poller);
    } else {
      // The engine listed every level at open: answer with that, and poll
      // from now on, so that no read transaction waits for a LIST.
      poller.generation = 1;
      poller.files = seed.files;
      poller.json = JSON.stringify(seed.files);
      poller.at = seed.at;
      poller.fullAt = seed.at;
      void pollOnce(id, poller);
    }
  } else if (intervalMs < poller.intervalMs) {
    poller.intervalMs = intervalMs;
  }
  return poller;
}

function stopPoller(id: number): void {
  const poller = pollers.get(id);
  if (poller === undefined) return;
  poller.closed = true;
  clearTimeout(poller.timer);
  pollers.delete(id);
}

async function handle(
  request: WireRequest,
  bytes?: Uint8Array,
): Promise<[WireResponse, Uint8Array[]]> {
  switch (request.op) {
    case "open":
      clients.set(request.id, await openClient(request.url, request.options));
      return [{ ok: true }, []];
    case "list": {
      const files = await client(request.id).listFiles(request.level);
      return [{ ok: true, files: files.map(toWire) }, []];
    }
    case "listAll": {
      const files = await listAll(client(request.id), request);
      listings.set(request.id, { files, at: Date.now() });
      return [{ ok: true, files }, []];
    }
    case "poll": {
      const poller = await pollerOf(request.id, request.intervalMs);
      if (poller.failure !== undefined) {
        return [{ ok: false, ...poller.failure }, []];
      }
      const { generation } = poller;
      return [{
        ok: true,
        generation,
        ageMs: Math.max(0, Date.now() - poller.at),
        files: generation === request.seen ? undefined : poller.files,
      }, []];
    }
    case "read": {
      const c = client(request.id);
      const { reads } = request;
      const merged = coalesce(reads.map((r) => ({
        key: `${r.file.level}/${r.file.minTxid}-${r.file.maxTxid}`,
        offset: r.offset,
        length: r.length,
      })));
      const results: Uint8Array[] = new Array(reads.length);
      let next = 0;
      const lane = async () => {
        while (next < merged.length) {
          const read = merged[next++];
          const file = toFile(reads[read.first].file);
          const bytes = await c.readRange(file, read.offset, read.length);
          for (const { index, at } of read.parts) {
            results[index] = bytes.subarray(at, at + reads[index].length);
          }
        }
      };
      const lanes = Math.max(1, Math.min(request.maxInFlight, merged.length));
      await Promise.all(Array.from({ length: lanes }, lane));
      return [{ ok: true, lengths: results.map((r) => r.length) }, results];
    }
    case "create": {
      const c = client(request.id);
      if (c.createFile === undefined) {
        throw new StorageError(`Replica "${c.url}" cannot be written`);
      }
      await c.createFile(toFile(request.file), bytes!, request);
      return [{ ok: true }, []];
    }
    case "cache": {
      // In the background: the engine goes on reading meanwhile.
      const { path } = request;
      if (!copying.has(path)) {
        copying.add(path);
        storeCopy(
          client(request.id),
          toFile(request.file),
          path,
          request.maxBytes,
        ).catch(() => {
          // Left to storage: a later read asks again.
        }).finally(() => copying.delete(path));
      }
      return [{ ok: true }, []];
    }
    case "close":
      stopPoller(request.id);
      listings.delete(request.id);
      clients.get(request.id)?.close?.();
      clients.delete(request.id);
      return [{ ok: true }, []];
  }
}

async function serve(control: Int32Array, data: SharedArrayBuffer) {
  let seen = 0;
  for (;;) {
    const wait = Atomics.waitAsync(control, REQUEST_SEQ, seen);
    if (wait.async) await wait.value;
    const seq = Atomics.load(control, REQUEST_SEQ);
    if (seq === seen) continue;
    seen = seq;
    let response: WireResponse;
    let payloads: Uint8Array[] = [];
    try {
      const { header, payloadAt } = readMessage<WireRequest>(data);
      const bytes = header.op === "create"
        ? new Uint8Array(data, payloadAt, header.length).slice()
        : undefined;
      [response, payloads] = await handle(header, bytes);
    } catch (error) {
      response = { ok: false, ...failureOf(error) };
    }
    try {
      writeMessage(data, response, payloads);
    } catch (error) {
      writeMessage(data, {
        ok: false,
        message: error instanceof Error ? error.message : String(error),
        retryable: false,
        name: "StorageError",
      });
    }
    Atomics.store(control, RESPONSE_SEQ, seq);
    Atomics.notify(control, RESPONSE_SEQ);
  }
}

parentPort?.once("message", (message) => {
  const { control, data } = message as {
    control: SharedArrayBuffer;
    data: SharedArrayBuffer;
  };
  // A pending Atomics.waitAsync does not keep a worker_threads event loop
  // alive; this timer does (the parent unrefs the worker, so the process
  // is still free to exit).
  setInterval(() => {}, 1 << 30);
  serve(new Int32Array(control), data);
});
