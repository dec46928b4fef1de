/**
 * Test harness for the `oss://` backend.
 *
 * No OSS emulator exists (ARCHITECTURE.md), so the server is the most
 * faithful stand-in found: npm `s3rver` (the S3 server the S3 tests use,
 * installed into `.tools/npm` by tasks/setup_test_env.ts) started on
 * 127.0.0.1 with one bucket, behind tests/_oss_proxy.ts (its own Deno
 * process), which speaks OSS to the client: it verifies every request's
 * OSS V1 signature against the known secret, maps `x-oss-*` headers and
 * implements `x-oss-forbid-overwrite` (409 `FileAlreadyExists`). The client
 * under test is the real SDK, `ali-oss`, as in production.
 *
 * s3rver needs `NODE_OPTIONS=--openssl-legacy-provider`, or paginated
 * listings fail with 500.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { existsSync } from "node:fs";
import { Agent } from "node:http";
import { join, relative } from "node:path";
import OSS from "ali-oss";
import { toolsDir } from "../tasks/setup_test_env.ts";
import type { OssFaults, OssLoggedRequest } from "./_oss_proxy.ts";

export type { OssFaults, OssLoggedRequest };

/**
 * Where s3rver's command may be: the project's test tools (installed by
 * tasks/setup_test_env.ts), or a folder of the OSS tests' own
 * (`npm install --prefix .tools/oss-server s3rver@3.7.1`). Repoint it here.
 */
export const S3RVER_BIN_CANDIDATES: readonly string[] = [
  join(toolsDir(), "npm", "node_modules", "s3rver", "bin", "s3rver.js"),
  join(toolsDir(), "oss-server", "node_modules", "s3rver", "bin", "s3rver.js"),
];

/** The test account: what the proxy accepts and the environment gives. */
export const OSS_TEST_CREDENTIALS = {
  accessKeyId: "LTAI5tLsvfsTestKey",
  accessKeySecret: "lsvfs-oss-test-secret-0123456789",
} as const;

/** Environment for the engine to reach the test server. */
export const OSS_TEST_ENV: Readonly<Record<string, string>> = {
  OSS_ACCESS_KEY_ID: OSS_TEST_CREDENTIALS.accessKeyId,
  OSS_ACCESS_KEY_SECRET: OSS_TEST_CREDENTIALS.accessKeySecret,
};

/** A running s3rver with the OSS proxy in front of it. */
export interface OssServer extends AsyncDisposable {
  /** The endpoint clients use: the proxy, `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** The bucket created at start. */
  readonly bucket: string;
  /** The `oss://` URL of a path in a bucket (the server's by default). */
  url(path: string, bucket?: string): string;
  /** Uploads every file under a local folder to `bucket/prefix/...` with `ali-oss`. */
  upload(dir: string, prefix: string): Promise<number>;
  /** Uploads one object with `ali-oss`. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** The requests since the last {@linkcode OssServer.resetLog}. */
  requests(): Promise<OssLoggedRequest[]>;
  /** Forgets the request log. */
  resetLog(): Promise<void>;
  /** Injects faults from now on, replacing those before; `{}` for none. */
  setFaults(faults: OssFaults): Promise<void>;
  /** How many faults were injected since the last `setFaults`. */
  faultsInjected(): Promise<{ errors: number; drops: number }>;
  /** Stops the proxy and the server; idempotent. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
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
 * Starts s3rver with one bucket and the OSS proxy in front of it.
 *
 * @param bucket The bucket to create.
 * @returns The running server; dispose of it (or `stop()`) to end it.
 */
export async function startOssServer(bucket = "replicas"): Promise<OssServer> {
  const bin = S3RVER_BIN_CANDIDATES.find((path) => existsSync(path));
  if (bin === undefined) {
    throw new Error(
      `s3rver is not installed (looked for ${
        S3RVER_BIN_CANDIDATES.join(", ")
      }): run "deno run --allow-all tasks/setup_test_env.ts"`,
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-oss-" });
  const port = freePort();
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
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  const { accessKeyId, accessKeySecret } = OSS_TEST_CREDENTIALS;
  const proxy = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      new URL("./_oss_proxy.ts", import.meta.url).pathname,
      `http://127.0.0.1:${port}`,
      `${accessKeyId}:${accessKeySecret}`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = proxy.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let first = "";
  while (!first.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("The OSS proxy did not start");
    first += value;
  }
  const proxyOut = (async () => {
    while (!(await reader.read()).done);
  })();
  const endpoint = `http://127.0.0.1:${Number(first.trim())}`;
  const agent = new Agent({ keepAlive: true });
  const oss = new OSS({
    accessKeyId,
    accessKeySecret,
    bucket,
    endpoint,
    sldEnable: true,
    agent,
  });
  const control = async (path: string, body?: unknown) => {
    const answer = await fetch(`${endpoint}/__${path}`, {
      method: body === undefined ? "GET" : "POST",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!answer.ok) {
      throw new Error(
        `The OSS proxy refused "/__${path}": HTTP ${answer.status} ${await answer
          .text()}`,
      );
    }
    return answer.status === 204 ? undefined : await answer.json();
  };
  const put = async (key: string, bytes: Uint8Array) => {
    await oss.put(
      key,
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      { mime: "application/octet-stream" },
    );
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    agent.destroy();
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
    url: (path, name = bucket) => `oss://${name}/${path}?endpoint=${endpoint}`,
    async upload(local, prefix) {
      let n = 0;
      const walk = async (d: string) => {
        for await (const entry of Deno.readDir(d)) {
          const path = join(d, entry.name);
          if (entry.isDirectory) await walk(path);
          else if (entry.isFile) {
            await put(
              `${prefix}/${relative(local, path)}`,
              await Deno.readFile(path),
            );
            n++;
          }
        }
      };
      await walk(local);
      return n;
    },
    put,
    requests: async () => (await control("log")) as OssLoggedRequest[],
    resetLog: async () => {
      await control("log/reset", {});
    },
    setFaults: async (faults) => {
      await control("faults", faults);
    },
    faultsInjected: async () =>
      ((await control("faults")) as {
        injected: { errors: number; drops: number };
      }).injected,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
