/**
 * Test harness for the `s3://` backend: npm `s3rver` (installed into
 * `.tools/npm` by tasks/setup_test_env.ts) started on 127.0.0.1 with one
 * bucket, behind a small counting proxy (tests/_s3_proxy.ts, its own Deno
 * process), which counts GETs and LISTs per path, logs every request with its
 * start and end time, fixes what s3rver gets wrong (suffix ranges) and
 * injects faults on demand (HTTP 500s, latency, dropped connections).
 *
 * {@linkcode sequentialWaves} turns the log into the number of round trips a
 * client waited for one after another, which is what a remote read costs
 * when the network, not the server, is slow.
 *
 * s3rver needs `NODE_OPTIONS=--openssl-legacy-provider`, or paginated
 * ListObjectsV2 fails with 500 (ARCHITECTURE.md). Its credentials are
 * `S3RVER`/`S3RVER`; signatures are not checked (the proxy forwards requests
 * to another port than the client signed for).
 *
 * @module
 */

import { join, relative } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { toolsDir } from "../tasks/setup_test_env.ts";
import type { Faults, LoggedRequest } from "./_s3_proxy.ts";

export type { Faults, LoggedRequest };

/** A running s3rver with its counting proxy. */
export interface S3Server extends AsyncDisposable {
  /** The endpoint clients use: the proxy, `http://127.0.0.1:PORT`. */
  endpoint: string;
  /** The bucket created at start. */
  bucket: string;
  /** Requests seen by the proxy: `GET path`, `LIST prefix`, `PUT path`. */
  counts(): Promise<Map<string, number>>;
  /** Total requests of a kind (`GET`, `LIST`, `PUT`, `HEAD`...). */
  total(kind: string): Promise<number>;
  /** Forgets the counts and the request log. */
  resetCounts(): Promise<void>;
  /**
   * The requests seen since the last {@linkcode S3Server.resetCounts}, in
   * order of arrival, with start and end times in the proxy's clock (ms).
   */
  requests(): Promise<LoggedRequest[]>;
  /**
   * {@linkcode sequentialWaves} of the requests since the last reset.
   *
   * @param filter Which requests count (all by default).
   */
  waves(filter?: (request: LoggedRequest) => boolean): Promise<number>;
  /**
   * Injects faults into the requests from now on, replacing those set
   * before; their "every Nth" counters start again.
   *
   * @param faults What to inject; `{}` injects nothing.
   */
  setFaults(faults: Faults): Promise<void>;
  /** Back to a healthy server: no errors, drops or latency. */
  clearFaults(): Promise<void>;
  /** How many faults of each kind were injected since the last `setFaults`. */
  faultsInjected(): Promise<{ errors: number; drops: number; cuts: number }>;
  /** Uploads every file under a local folder to `bucket/prefix/...`. */
  upload(dir: string, prefix: string): Promise<number>;
  /** Stops the proxy and the server. */
  stop(): Promise<void>;
}

/** Environment for the AWS SDK to reach s3rver. */
export const S3RVER_ENV = {
  AWS_ACCESS_KEY_ID: "S3RVER",
  AWS_SECRET_ACCESS_KEY: "S3RVER",
  AWS_REGION: "us-east-1",
};

/**
 * The number of sequential request waves in a request log: the length of
 * the longest chain of requests each of which started after the previous
 * one in the chain had ended. Requests that overlap in time are one wave,
 * so a batch sent in parallel costs one wave and requests sent one after
 * another cost one wave each.
 *
 * @param requests Requests with start and end times in one clock.
 * @returns The number of waves; 0 for no requests.
 *
 * @example One parallel batch, then one request after it
 * ```ts
 * import { sequentialWaves } from "./_s3.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   sequentialWaves([
 *     { start: 0, end: 10 },
 *     { start: 1, end: 12 },
 *     { start: 2, end: 9 },
 *     { start: 13, end: 20 },
 *   ]),
 *   2,
 * );
 * ```
 */
export function sequentialWaves(
  requests: readonly { start: number; end: number }[],
): number {
  const byStart = [...requests].sort((a, b) => a.start - b.start);
  const byEnd = byStart.map((r, i) => ({ end: r.end, i }))
    .sort((a, b) => a.end - b.end);
  // chain[i]: the longest chain that ends with byStart[i]. Every request
  // that ended before byStart[i] started also started before it, so its
  // chain is known by then.
  const chain = new Array<number>(byStart.length).fill(0);
  let ended = 0;
  let best = 0;
  let longest = 0;
  for (let i = 0; i < byStart.length; i++) {
    while (ended < byEnd.length && byEnd[ended].end < byStart[i].start) {
      best = Math.max(best, chain[byEnd[ended].i]);
      ended++;
    }
    chain[i] = best + 1;
    longest = Math.max(longest, chain[i]);
  }
  return longest;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`s3rver did not listen on ${port}`, { cause: error });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Starts s3rver with one bucket and a counting proxy in front of it.
 *
 * @param bucket The bucket to create.
 * @returns The running server; dispose of it (or `stop()`) to end it.
 */
export async function startS3Server(bucket = "replicas"): Promise<S3Server> {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-s3rver-" });
  const port = freePort();
  const bin = join(
    toolsDir(),
    "npm",
    "node_modules",
    "s3rver",
    "bin",
    "s3rver.js",
  );
  const child = new Deno.Command("node", {
    args: [
      bin,
      "-a",
      "127.0.0.1",
      "-p",
      String(port),
      "-s",
      "-d",
      dir,
      "--configure-bucket",
      bucket,
      "--allow-mismatched-signatures",
    ],
    env: { NODE_OPTIONS: "--openssl-legacy-provider" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeTo(new WritableStream());
  try {
    await waitForPort(port, 10_000);
  } catch (error) {
    child.kill();
    await child.status;
    throw error;
  }
  const upstream = `http://127.0.0.1:${port}`;
  const proxy = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      new URL("./_s3_proxy.ts", import.meta.url).pathname,
      upstream,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = proxy.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let first = "";
  while (!first.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("The S3 counting proxy did not start");
    first += value;
  }
  const proxyOut = (async () => {
    while (!(await reader.read()).done);
  })();
  const endpoint = `http://127.0.0.1:${Number(first.trim())}`;
  const s3 = new S3Client({
    endpoint: upstream,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
  const control = async (path: string, body?: unknown) => {
    const answer = await fetch(`${endpoint}/__${path}`, {
      method: body === undefined ? "GET" : "POST",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!answer.ok) {
      throw new Error(
        `The S3 proxy refused "/__${path}": HTTP ${answer.status} ${await answer
          .text()}`,
      );
    }
    return answer.status === 204 ? undefined : await answer.json();
  };
  const counts = async () =>
    new Map<string, number>(Object.entries(await control("counts")));
  const requests = async () => (await control("log")) as LoggedRequest[];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    s3.destroy();
    proxy.kill();
    await proxy.status;
    await proxyOut;
    child.kill();
    await child.status;
    await stderr.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  };
  return {
    endpoint,
    bucket,
    counts,
    async total(kind) {
      let n = 0;
      for (const [key, v] of await counts()) {
        if (key.startsWith(`${kind} `)) n += v;
      }
      return n;
    },
    async resetCounts() {
      await control("counts/reset", {});
    },
    requests,
    async waves(filter = () => true) {
      return sequentialWaves((await requests()).filter(filter));
    },
    async setFaults(faults) {
      await control("faults", faults);
    },
    async clearFaults() {
      await control("faults/clear", {});
    },
    async faultsInjected() {
      const state = await control("faults") as {
        injected: { errors: number; drops: number; cuts: number };
      };
      return state.injected;
    },
    async upload(local, prefix) {
      let n = 0;
      const walk = async (d: string) => {
        for await (const entry of Deno.readDir(d)) {
          const path = join(d, entry.name);
          if (entry.isDirectory) await walk(path);
          else if (entry.isFile) {
            await s3.send(
              new PutObjectCommand({
                Bucket: bucket,
                Key: `${prefix}/${relative(local, path)}`,
                Body: await Deno.readFile(path),
              }),
            );
            n++;
          }
        }
      };
      await walk(local);
      return n;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
