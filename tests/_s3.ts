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

import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { forEachFile } from "./_files.ts";
import { startS3rverBehindProxy } from "./_s3rver.ts";
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

/**
 * Starts s3rver with one bucket and a counting proxy in front of it.
 *
 * @param bucket The bucket to create.
 * @returns The running server; dispose of it (or `stop()`) to end it.
 */
export async function startS3Server(bucket = "replicas"): Promise<S3Server> {
  const { s3rver, proxy } = await startS3rverBehindProxy(bucket, {
    prefix: "lsvfs-s3rver-",
    allowMismatchedSignatures: true,
  }, {
    script: new URL("./_s3_proxy.ts", import.meta.url),
    what: "The S3 counting proxy",
  });
  const { endpoint, control } = proxy;
  const s3 = new S3Client({
    endpoint: s3rver.endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
  const counts = async () =>
    new Map<string, number>(
      Object.entries(await control("counts") as Record<string, number>),
    );
  const requests = async () => (await control("log")) as LoggedRequest[];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    s3.destroy();
    await proxy.stop();
    await s3rver.stop();
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
    upload: (local, prefix) =>
      forEachFile(local, async (file) => {
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: `${prefix}/${file.relative}`,
            Body: await Deno.readFile(file.path),
          }),
        );
      }),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
