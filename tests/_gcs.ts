/**
 * Test harness for the `gs://` backend: Firebase's Cloud Storage emulator
 * (npm `firebase-tools`, {@linkcode FIREBASE_TOOLS_VERSION}) run in-process
 * by a Node 20 child (tests/_gcs_emulator.mjs) on 127.0.0.1, with its data
 * in a temp dir, behind a small proxy in the same child. The `firebase`
 * CLI cannot start the emulator here (it wants Java 21 and downloads a
 * rules jar); the JSON API routes never evaluate rules, so the rules
 * runtime is stubbed.
 *
 * The proxy stands in for what the emulator lacks and Google has: auth
 * (every request must carry a JWT signed with the key of the service
 * account made here: wrong keys get 401), buckets that do not exist (404
 * for all but the harness's), and `ifGenerationMatch` on uploads (412, one
 * upload of an object at a time), so create-only races have exactly one
 * winner. It counts requests and injects faults on demand.
 *
 * @module
 */

import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import { Storage } from "@google-cloud/storage";
import { toolsDir } from "../tasks/setup_test_env.ts";
import { GCS_TIMESTAMP_METADATA_KEY } from "../src/storage/gs_client.ts";
import { forEachFile, ltxTimestampMetadata } from "./_files.ts";
import {
  controlEndpoint,
  firstLine,
  freePort,
  readUntil,
  stopProcess,
} from "./_servers.ts";

/** The `firebase-tools` version the harness is tested with. */
export const FIREBASE_TOOLS_VERSION = "15.34.2";

/**
 * Where `firebase-tools` is looked for, first found wins: the project's
 * npm tools (tasks/setup_test_env.ts), then a folder of its own.
 */
export const FIREBASE_TOOLS_DIRS: readonly string[] = [
  join(toolsDir(), "npm", "node_modules", "firebase-tools"),
  join(toolsDir(), "gcs-server", "node_modules", "firebase-tools"),
];

/** The service account the harness's credentials name. */
export const GCS_CLIENT_EMAIL = "lsvfs-test@lsvfs-test.iam.gserviceaccount.com";

/** Faults the proxy injects into API requests. */
export interface GcsFaults {
  /** Answer every API request with this HTTP status. */
  status?: number;
  /** Close every connection without an answer. */
  down?: boolean;
}

/** A running emulator with its proxy. */
export interface GcsServer extends AsyncDisposable {
  /** The endpoint clients use: the proxy, `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** The emulator itself, without the proxy (no auth, no preconditions). */
  readonly emulatorEndpoint: string;
  /** The bucket that exists. */
  readonly bucket: string;
  /** A service-account key file the proxy accepts (none when started without auth). */
  readonly credentialsFile: string;
  /** A key file of the same account with another private key. */
  readonly wrongCredentialsFile: string;
  /** The replica URL of a path in a bucket (default: the one that exists). */
  url(path: string, bucket?: string): string;
  /** Copies every file under a local folder to `bucket/prefix/...`. */
  upload(dir: string, prefix: string): Promise<number>;
  /** Requests seen by the proxy, by kind (`LIST`, `GET`, `UPLOAD`...). */
  counts(): Promise<Record<string, number>>;
  /** Forgets the counts. */
  resetCounts(): Promise<void>;
  /** Injects faults from now on, replacing those set before. */
  setFaults(faults: GcsFaults): Promise<void>;
  /** Back to a healthy server. */
  clearFaults(): Promise<void>;
  /** Stops the child and removes its data. */
  stop(): Promise<void>;
}

/** Options for {@linkcode startGcsServer}. */
export interface StartGcsOptions {
  /** The bucket that exists; default "replicas". */
  bucket?: string;
  /** Whether the proxy requires credentials; default true. */
  auth?: boolean;
}

function firebaseTools(): string {
  for (const dir of FIREBASE_TOOLS_DIRS) {
    try {
      Deno.statSync(join(dir, "lib", "emulator", "storage", "index.js"));
      return dir;
    } catch {
      // Look further.
    }
  }
  throw new Error(
    `firebase-tools@${FIREBASE_TOOLS_VERSION} is not installed in ${
      FIREBASE_TOOLS_DIRS.join(" or ")
    }: run "deno task test" (tasks/setup_test_env.ts) or "npm install --prefix .tools/gcs-server firebase-tools@${FIREBASE_TOOLS_VERSION}"`,
  );
}

function serviceAccount(privateKey: string): string {
  return JSON.stringify({
    type: "service_account",
    project_id: "lsvfs-test",
    private_key_id: "lsvfs-test-key",
    private_key: privateKey,
    client_email: GCS_CLIENT_EMAIL,
    client_id: "1",
    token_uri: "https://oauth2.googleapis.com/token",
  });
}

/**
 * Starts the emulator and its proxy.
 *
 * @param options The bucket, and whether credentials are required.
 * @returns The running server; dispose of it (or `stop()`) to end it.
 */
export async function startGcsServer(
  options: StartGcsOptions = {},
): Promise<GcsServer> {
  const bucket = options.bucket ?? "replicas";
  const auth = options.auth ?? true;
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-gcs-" });
  const keys = [0, 1].map(() =>
    generateKeyPairSync("rsa", {
      modulusLength: 2048,
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs8", format: "pem" },
    })
  );
  const credentialsFile = join(dir, "service-account.json");
  const wrongCredentialsFile = join(dir, "wrong-service-account.json");
  await Deno.writeTextFile(credentialsFile, serviceAccount(keys[0].privateKey));
  await Deno.writeTextFile(
    wrongCredentialsFile,
    serviceAccount(keys[1].privateKey),
  );
  await Deno.mkdir(join(dir, "data"));
  const emulatorPort = freePort();
  const child = new Deno.Command("node", {
    args: [
      new URL("./_gcs_emulator.mjs", import.meta.url).pathname,
      JSON.stringify({
        firebaseTools: firebaseTools(),
        emulatorPort,
        buckets: [bucket],
        clientEmail: GCS_CLIENT_EMAIL,
        publicKey: auth ? keys[0].publicKey : null,
      }),
    ],
    // The emulator keeps its blobs under os.tmpdir().
    env: { TMPDIR: join(dir, "data") },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderrText = new Response(child.stderr).text();
  const startTimer = setTimeout(() => child.kill(), 30_000);
  const { value: port, drained: out } = await readUntil(
    child.stdout,
    firstLine,
  );
  clearTimeout(startTimer);
  if (port === undefined) {
    await child.status;
    await Deno.remove(dir, { recursive: true });
    throw new Error(
      `The GCS emulator did not start: ${(await stderrText).trim()}`,
    );
  }
  const endpoint = `http://127.0.0.1:${Number(port)}`;
  const emulatorEndpoint = `http://127.0.0.1:${emulatorPort}`;
  const uploader = new Storage({
    apiEndpoint: emulatorEndpoint,
    useAuthWithCustomEndpoint: false,
  });
  const control = controlEndpoint(endpoint, "The GCS proxy");
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopProcess(child);
    await out;
    await stderrText;
    await Deno.remove(dir, { recursive: true });
  };
  return {
    endpoint,
    emulatorEndpoint,
    bucket,
    credentialsFile,
    wrongCredentialsFile,
    url: (path, other = bucket) => `gs://${other}/${path}?endpoint=${endpoint}`,
    upload: (local, prefix) =>
      forEachFile(local, async (file) => {
        const bytes = await Deno.readFile(file.path);
        // As Litestream's gs client: the LTX header's time in metadata.
        const metadata = ltxTimestampMetadata(
          GCS_TIMESTAMP_METADATA_KEY,
          file,
          bytes,
        );
        await uploader.bucket(bucket).file(`${prefix}/${file.relative}`)
          .save(bytes, { resumable: false, metadata: { metadata } });
      }),
    counts: () => control("counts") as Promise<Record<string, number>>,
    async resetCounts() {
      await control("counts/reset", {});
    },
    async setFaults(faults) {
      await control("faults", faults);
    },
    async clearFaults() {
      await control("faults/clear", {});
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
