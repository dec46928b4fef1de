/**
 * npm `s3rver`, the S3 server behind both the `s3://` harness
 * (tests/_s3.ts) and the `oss://` one (tests/_oss.ts, which puts an OSS
 * face on it), started on 127.0.0.1 with one bucket and its objects in a
 * temp folder of its own.
 *
 * s3rver needs `NODE_OPTIONS=--openssl-legacy-provider`, or paginated
 * listings (ListObjectsV2) fail with 500 (ARCHITECTURE.md).
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { toolsDir } from "../tasks/setup_test_env.ts";
import {
  freePort,
  type ProxyProcess,
  startProxy,
  stopProcess,
  waitForPort,
} from "./_servers.ts";

/**
 * Where s3rver's command may be, first found wins: the project's test tools
 * (installed by tasks/setup_test_env.ts), or a folder of the OSS tests' own
 * (`npm install --prefix .tools/oss-server s3rver@3.7.1`).
 */
export const S3RVER_BIN_CANDIDATES: readonly string[] = [
  join(toolsDir(), "npm", "node_modules", "s3rver", "bin", "s3rver.js"),
  join(toolsDir(), "oss-server", "node_modules", "s3rver", "bin", "s3rver.js"),
];

/** A running s3rver. */
export interface S3rver {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** Stops it and removes its folder. */
  stop(): Promise<void>;
}

/** Options for {@linkcode startS3rver}. */
export interface S3rverOptions {
  /** The start of its temp folder's name. */
  prefix: string;
  /**
   * Accept requests signed for another host (`--allow-mismatched-signatures`):
   * a proxy in front forwards them to another port than the client signed for.
   */
  allowMismatchedSignatures?: boolean;
}

/**
 * Starts s3rver with one bucket and waits until it listens.
 *
 * @param bucket The bucket to create.
 * @param options Its folder's name, and whether it checks signatures' host.
 * @returns The running server.
 * @throws {Error} When s3rver is not installed, or does not listen within 10 s.
 */
export async function startS3rver(
  bucket: string,
  options: S3rverOptions,
): Promise<S3rver> {
  const bin = S3RVER_BIN_CANDIDATES.find((path) => existsSync(path));
  if (bin === undefined) {
    throw new Error(
      `s3rver is not installed (looked for ${
        S3RVER_BIN_CANDIDATES.join(", ")
      }): run "deno run --allow-all tasks/setup_test_env.ts"`,
    );
  }
  const dir = await Deno.makeTempDir({ prefix: options.prefix });
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
      ...(options.allowMismatchedSignatures
        ? ["--allow-mismatched-signatures"]
        : []),
    ],
    env: { NODE_OPTIONS: "--openssl-legacy-provider" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeTo(new WritableStream());
  const stop = async () => {
    await stopProcess(child);
    await stderr.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await waitForPort(port, "s3rver");
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, endpoint: `http://127.0.0.1:${port}`, stop };
}

/**
 * Starts s3rver with one bucket and a proxy process in front of it
 * ({@linkcode startProxy}); stops s3rver again if the proxy does not start.
 *
 * @param bucket The bucket to create.
 * @param options s3rver's options.
 * @param proxy The proxy's script, its arguments after s3rver's URL, and
 * its name for errors.
 * @returns Both; stop the proxy first.
 */
export async function startS3rverBehindProxy(
  bucket: string,
  options: S3rverOptions,
  proxy: { script: URL; args?: readonly string[]; what: string },
): Promise<{ s3rver: S3rver; proxy: ProxyProcess }> {
  const s3rver = await startS3rver(bucket, options);
  try {
    return {
      s3rver,
      proxy: await startProxy(
        proxy.script,
        [s3rver.endpoint, ...proxy.args ?? []],
        proxy.what,
      ),
    };
  } catch (error) {
    await s3rver.stop();
    throw error;
  }
}
