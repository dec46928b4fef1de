/**
 * Test harness for the `nats://` backend: Debian's `nats-server` (2.9)
 * started with JetStream on 127.0.0.1, on a free port, with its store in a
 * temp folder, and one object store bucket made with `@nats-io/obj`.
 * Nothing is installed here: the server comes from {@linkcode NATS_SERVER_PATH}
 * (`apt-get install nats-server`).
 *
 * The server requires a user and password by default (the suite's tests
 * then reach it through `NATS_USER`/`NATS_PASSWORD`), or a token, or
 * nothing; it may be stopped (SIGSTOP: a server that stops answering),
 * continued, killed and started again on the same port and store.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import type {
  NatsConnection,
  NodeConnectionOptions,
} from "@nats-io/transport-node";
import { type ObjectStore, Objm } from "@nats-io/obj";
import { connectNats } from "../src/storage/nats_client.ts";
import type { BackendHarness } from "./_backend_suite.ts";
import { forEachFile } from "./_files.ts";
import { freePort, stopProcess } from "./_servers.ts";

/**
 * Where the `nats-server` binary is: Debian's package puts it in
 * `/usr/sbin`; `LSVFS_NATS_SERVER` overrides it.
 */
export const NATS_SERVER_PATH: string = Deno.env.get("LSVFS_NATS_SERVER") ??
  [
    "/usr/sbin/nats-server",
    "/usr/bin/nats-server",
    "/usr/local/bin/nats-server",
  ]
    .find((p) => existsSync(p)) ??
  "nats-server";

/** How the server authenticates clients. */
export type NatsAuth =
  | { kind: "none" }
  | { kind: "user"; user: string; password: string }
  | { kind: "token"; token: string };

/** Options for {@linkcode startNatsServer}. */
export interface NatsServerOptions {
  /** The bucket to create (default `replicas`). */
  bucket?: string;
  /** Authentication (default: user `lsvfs`, a random password). */
  auth?: NatsAuth;
  /** TLS: server certificate and key files, and the CA that signed the certificate (PEM). */
  tls?: { cert: string; key: string; ca: string };
}

/** A running nats-server with one bucket. */
export interface NatsServer extends AsyncDisposable {
  /** The port it listens on, on 127.0.0.1. */
  readonly port: number;
  /** The bucket created at start. */
  readonly bucket: string;
  /** How clients authenticate. */
  readonly auth: NatsAuth;
  /** The replica URL of a path in the bucket (no credentials in it). */
  url(path: string, bucket?: string): string;
  /** Environment that carries the credentials (`NATS_USER`/`NATS_PASSWORD` or `NATS_TOKEN`). */
  readonly env: Readonly<Record<string, string>>;
  /** The bucket, through the SDK (a connection of the harness's own). */
  store(): Promise<ObjectStore>;
  /** Copies every file under a local folder to objects `<path>/<relative path>`. */
  upload(dir: string, path: string): Promise<number>;
  /** Stops the process answering (SIGSTOP); {@linkcode NatsServer.resume} undoes it. */
  pause(): void;
  /** Lets a paused process go on (SIGCONT). */
  resume(): void;
  /** Kills the process; {@linkcode NatsServer.restart} starts it again on the same port and store. */
  kill(): Promise<void>;
  /** Starts the server again after {@linkcode NatsServer.kill}. */
  restart(): Promise<void>;
  /** Stops everything and removes the store. */
  stop(): Promise<void>;
}

function authArgs(auth: NatsAuth): string[] {
  switch (auth.kind) {
    case "none":
      return [];
    case "user":
      return ["--user", auth.user, "--pass", auth.password];
    case "token":
      return ["--auth", auth.token];
  }
}

/** Environment that carries a server's credentials. */
export function natsEnv(auth: NatsAuth): Record<string, string> {
  switch (auth.kind) {
    case "none":
      return {};
    case "user":
      return { NATS_USER: auth.user, NATS_PASSWORD: auth.password };
    case "token":
      return { NATS_TOKEN: auth.token };
  }
}

/**
 * Starts nats-server with JetStream and creates one bucket.
 *
 * @param options Bucket, authentication, TLS.
 * @returns The running server; dispose of it (or `stop()`) to end it.
 */
export async function startNatsServer(
  options: NatsServerOptions = {},
): Promise<NatsServer> {
  const bucket = options.bucket ?? "replicas";
  const auth: NatsAuth = options.auth ??
    { kind: "user", user: "lsvfs", password: crypto.randomUUID() };
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-nats-" });
  const port = freePort();
  const args = [
    "-js",
    "-a",
    "127.0.0.1",
    "-p",
    String(port),
    "-sd",
    dir,
    ...authArgs(auth),
    ...(options.tls
      ? ["--tls", "--tlscert", options.tls.cert, "--tlskey", options.tls.key]
      : []),
  ];
  let child: Deno.ChildProcess | undefined;
  let log = "";
  let logged: Promise<void> = Promise.resolve();
  const spawn = async () => {
    child = new Deno.Command(NATS_SERVER_PATH, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const reader = child.stderr.pipeThrough(new TextDecoderStream())
      .getReader();
    const { promise: isReady, resolve: ready } = Promise.withResolvers<void>();
    logged = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        log = (log + value).slice(-8000);
        if (log.includes("Server is ready")) ready();
      }
    })();
    const exited = child.status.then((s) => {
      throw new Error(
        `nats-server exited (code ${s.code}) before it was ready: ${log}`,
      );
    });
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`nats-server not ready in 10 s: ${log}`)),
        10_000,
      )
    );
    try {
      await Promise.race([isReady, exited, timeout]);
    } catch (error) {
      await stopChild();
      throw error;
    }
    exited.catch(() => {});
  };
  const stopChild = async () => {
    const c = child;
    child = undefined;
    if (c === undefined) return;
    try {
      c.kill("SIGCONT");
    } catch {
      // Already gone.
    }
    await stopProcess(c, "SIGKILL");
    await logged.catch(() => {});
  };
  await spawn();
  const env = natsEnv(auth);
  let nc: NatsConnection | undefined;
  let os: ObjectStore | undefined;
  const store = async () => {
    if (os !== undefined && nc !== undefined && !nc.isClosed()) return os;
    await nc?.close().catch(() => {});
    nc = await connectNats({
      servers: `127.0.0.1:${port}`,
      ...(auth.kind === "user" ? { user: auth.user, pass: auth.password } : {}),
      ...(auth.kind === "token" ? { token: auth.token } : {}),
      ...(options.tls
        ? {
          tls: {
            ca: await Deno.readTextFile(options.tls.ca),
            // nats.js names no TLS server for an IP address.
            checkServerIdentity: (_: string, cert: PeerCertificate) =>
              checkServerIdentity("127.0.0.1", cert),
          } as NonNullable<NodeConnectionOptions["tls"]>,
        }
        : {}),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
    });
    os = await new Objm(nc).create(bucket);
    return os;
  };
  await store();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await nc?.close().catch(() => {});
    await stopChild();
    await Deno.remove(dir, { recursive: true });
  };
  return {
    port,
    bucket,
    auth,
    env,
    url: (path, b = bucket) =>
      `nats://127.0.0.1:${port}/${b}${path === "" ? "" : `/${path}`}`,
    store,
    async upload(local, path) {
      const bucketStore = await store();
      return await forEachFile(local, async (file) => {
        await bucketStore.putBlob(
          { name: path === "" ? file.relative : `${path}/${file.relative}` },
          await Deno.readFile(file.path),
        );
      });
    },
    pause: () => child?.kill("SIGSTOP"),
    resume: () => child?.kill("SIGCONT"),
    kill: stopChild,
    restart: spawn,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * The {@linkcode BackendHarness} of the shared suite: a server that wants a
 * user and password, given in `NATS_USER`/`NATS_PASSWORD`.
 *
 * @returns The harness; dispose of it to stop the server.
 */
export async function natsHarness(): Promise<BackendHarness> {
  const server = await startNatsServer();
  return {
    name: "NATS",
    url: (path) => server.url(path),
    env: server.env,
    upload: async (dir, path) => {
      await server.upload(dir, path);
    },
    badCredentials: (path) => ({
      url: server.url(path),
      env: { ...server.env, NATS_PASSWORD: "not-the-password" },
    }),
    missingBucket: (path) => server.url(path, "no-such-bucket"),
    [Symbol.asyncDispose]: () => server.stop(),
  };
}
