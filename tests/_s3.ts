/**
 * Test harness for the `s3://` backend: npm `s3rver` (installed into
 * `.tools/npm` by tasks/setup_test_env.ts) started on 127.0.0.1 with one
 * bucket, behind a small counting proxy (tests/_s3_proxy.ts, its own Deno
 * process), which counts GETs and LISTs per path and fixes what s3rver gets
 * wrong (suffix ranges).
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
  /** Forgets the counts. */
  resetCounts(): Promise<void>;
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
  const counts = async () => {
    const answer = await fetch(`${endpoint}/__counts`);
    return new Map<string, number>(Object.entries(await answer.json()));
  };
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
      await (await fetch(`${endpoint}/__counts/reset`)).body?.cancel();
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
