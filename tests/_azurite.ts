/**
 * Test harness for the `abs://` backend: npm `azurite`'s blob service,
 * started on 127.0.0.1 on a port of its choosing, in memory, in a temp
 * folder of its own, with one container, and the well-known development
 * account (`devstoreaccount1` and its published key). Azurite checks
 * shared-key signatures, so a wrong key gets 403.
 *
 * Nothing is installed here: azurite comes from `.tools/npm` (where
 * tasks/setup_test_env.ts installs the test tools) or `.tools/abs-server`;
 * {@linkcode AZURITE_BLOB_SCRIPTS} lists where it is looked for.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  BlobServiceClient,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { ABS_TIMESTAMP_METADATA } from "../src/storage/abs_client.ts";
import { toolsDir } from "../tasks/setup_test_env.ts";
import { forEachFile, ltxTimestampMetadata } from "./_files.ts";
import { readUntil, stopProcess } from "./_servers.ts";

/** The azurite version the tests are run with (the last that runs on Node 20). */
export const AZURITE_VERSION = "3.35.0";

/** Where azurite's blob service script is looked for, first found wins. */
export const AZURITE_BLOB_SCRIPTS: readonly string[] = ["npm", "abs-server"]
  .map((folder) =>
    join(toolsDir(), folder, "node_modules", "azurite", "dist/src/blob/main.js")
  );

/** Azurite's well-known development account. */
export const AZURITE_ACCOUNT = "devstoreaccount1";

/** The development account's published key (Azurite's documentation). */
export const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** A running azurite blob service with one container. */
export interface AzuriteServer extends AsyncDisposable {
  /** The blob endpoint: `http://127.0.0.1:PORT/devstoreaccount1`. */
  endpoint: string;
  /** The container created at start. */
  container: string;
  /** An SDK client for the container, with the account key. */
  service: BlobServiceClient;
  /** Environment for the engine to reach it: the account key. */
  env: Readonly<Record<string, string>>;
  /** The `abs://` URL of a path in a container (the harness's by default). */
  url(path: string, container?: string): string;
  /**
   * Uploads every file under a local folder to `container/prefix/...`, LTX
   * files with their timestamp in the metadata, as Litestream does.
   *
   * @returns How many files were uploaded.
   */
  upload(dir: string, prefix: string): Promise<number>;
  /** Stops the server and removes its folder; idempotent. */
  stop(): Promise<void>;
}

/**
 * The azurite blob script to run.
 *
 * @returns The first of {@linkcode AZURITE_BLOB_SCRIPTS} that exists.
 * @throws {Error} When azurite is not installed, saying how to install it.
 */
export function azuriteBlobScript(): string {
  const found = AZURITE_BLOB_SCRIPTS.find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(
      `azurite is not installed: run "npm install --prefix ${
        join(toolsDir(), "npm")
      } azurite@${AZURITE_VERSION}" (looked in ${
        AZURITE_BLOB_SCRIPTS.join(", ")
      })`,
    );
  }
  return found;
}

/**
 * Starts azurite's blob service with one container.
 *
 * @param container The container to create.
 * @returns The running server; dispose of it (or `stop()`) to end it.
 */
export async function startAzurite(
  container = "replicas",
): Promise<AzuriteServer> {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-azurite-" });
  const child = new Deno.Command("node", {
    args: [
      azuriteBlobScript(),
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      "0",
      "--inMemoryPersistence",
      "--extentMemoryLimit",
      "512",
      "--disableTelemetry",
      "--skipApiVersionCheck",
      "--silent",
    ],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const timeout = setTimeout(() => child.kill(), 20_000);
  const { value: port, seen, drained: stdout } = await readUntil(
    child.stdout,
    (text) => {
      const m = /successfully listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(
        text,
      );
      return m ? Number(m[1]) : undefined;
    },
  );
  clearTimeout(timeout);
  if (port === undefined) {
    await stopProcess(child);
    await Deno.remove(dir, { recursive: true });
    throw new Error(
      `azurite did not start: ${seen.trim()} ${(await stderr).trim()}`,
    );
  }
  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const service = new BlobServiceClient(
    endpoint,
    new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
    { retryOptions: { maxTries: 1 } },
  );
  await service.getContainerClient(container).create();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopProcess(child);
    await stdout;
    await stderr;
    await Deno.remove(dir, { recursive: true });
  };
  return {
    endpoint,
    container,
    service,
    env: { LITESTREAM_AZURE_ACCOUNT_KEY: AZURITE_KEY },
    url: (path, name = container) =>
      `abs://${AZURITE_ACCOUNT}@${name}/${path}?endpoint=${endpoint}`,
    upload(local, prefix) {
      const blobs = service.getContainerClient(container);
      return forEachFile(local, async (file) => {
        const bytes = await Deno.readFile(file.path);
        const metadata = ltxTimestampMetadata(
          ABS_TIMESTAMP_METADATA,
          file,
          bytes,
        );
        await blobs.getBlockBlobClient(`${prefix}/${file.relative}`)
          .upload(bytes, bytes.length, { metadata });
      });
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
