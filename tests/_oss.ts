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
 * s3rver is started by tests/_s3rver.ts, the proxy by tests/_servers.ts.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { Agent } from "node:http";
import OSS from "ali-oss";
import { forEachFile } from "./_files.ts";
import { S3RVER_BIN_CANDIDATES, startS3rverBehindProxy } from "./_s3rver.ts";
import { freePort } from "./_servers.ts";
import type { OssFaults, OssLoggedRequest } from "./_oss_proxy.ts";

export type { OssFaults, OssLoggedRequest };
// This module's API from before the shared helpers: where s3rver's command
// is looked for (tests/_s3rver.ts), and a free port (tests/_servers.ts).
export { freePort, S3RVER_BIN_CANDIDATES };

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

/**
 * Starts s3rver with one bucket and the OSS proxy in front of it.
 *
 * @param bucket The bucket to create.
 * @returns The running server; dispose of it (or `stop()`) to end it.
 */
export async function startOssServer(bucket = "replicas"): Promise<OssServer> {
  const { accessKeyId, accessKeySecret } = OSS_TEST_CREDENTIALS;
  const { s3rver, proxy } = await startS3rverBehindProxy(bucket, {
    prefix: "lsvfs-oss-",
  }, {
    script: new URL("./_oss_proxy.ts", import.meta.url),
    args: [`${accessKeyId}:${accessKeySecret}`],
    what: "The OSS proxy",
  });
  const { endpoint, control } = proxy;
  const agent = new Agent({ keepAlive: true });
  const oss = new OSS({
    accessKeyId,
    accessKeySecret,
    bucket,
    endpoint,
    sldEnable: true,
    agent,
  });
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
    await proxy.stop();
    await s3rver.stop();
  };
  return {
    endpoint,
    bucket,
    url: (path, name = bucket) => `oss://${name}/${path}?endpoint=${endpoint}`,
    upload: (local, prefix) =>
      forEachFile(local, async (file) => {
        await put(`${prefix}/${file.relative}`, await Deno.readFile(file.path));
      }),
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
