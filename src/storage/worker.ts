/**
 * The storage worker: a `node:worker_threads` Worker (it can be unref'd,
 * unlike a web Worker in Deno) that owns the asynchronous replica clients
 * (ARCHITECTURE.md, "The engine is synchronous; storage is asynchronous").
 * The engine thread writes a request into shared memory and blocks with
 * `Atomics.wait`; this worker waits with `Atomics.waitAsync`, so its event
 * loop stays free for network I/O, runs the request (a batch of range reads
 * in parallel, at most `maxInFlight` at once) and answers the same way.
 *
 * Polling for new LTX files will run here on its own timer (not yet: the
 * engine polls through {@linkcode WorkerReplicaClient.listFilesSync}).
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
import { StorageError } from "./errors.ts";
import type { LtxFileInfo, ReplicaClient } from "./replica_client.ts";
import { S3ReplicaClient } from "./s3_client.ts";

const clients = new Map<number, ReplicaClient & { close?(): void }>();

function openClient(
  url: string,
  options: Record<string, unknown> = {},
): ReplicaClient & { close?(): void } {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "s3") return new S3ReplicaClient(url, options);
  throw new StorageError(`The storage worker cannot serve "${scheme}" URLs`);
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

async function handle(
  request: WireRequest,
): Promise<[WireResponse, Uint8Array[]]> {
  switch (request.op) {
    case "open":
      clients.set(request.id, openClient(request.url, request.options));
      return [{ ok: true }, []];
    case "list": {
      const files = await client(request.id).listFiles(request.level);
      return [{ ok: true, files: files.map(toWire) }, []];
    }
    case "read": {
      const c = client(request.id);
      const results: Uint8Array[] = new Array(request.reads.length);
      let next = 0;
      const lane = async () => {
        while (next < request.reads.length) {
          const i = next++;
          const r = request.reads[i];
          results[i] = await c.readRange(toFile(r.file), r.offset, r.length);
        }
      };
      const lanes = Math.max(
        1,
        Math.min(request.maxInFlight, request.reads.length),
      );
      await Promise.all(Array.from({ length: lanes }, lane));
      return [{ ok: true, lengths: results.map((r) => r.length) }, results];
    }
    case "close":
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
      const { header } = readMessage<WireRequest>(data);
      [response, payloads] = await handle(header);
    } catch (error) {
      response = {
        ok: false,
        message: error instanceof Error ? error.message : String(error),
        retryable: error instanceof StorageError && error.retryable,
        name: error instanceof Error ? error.name : "Error",
      };
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
