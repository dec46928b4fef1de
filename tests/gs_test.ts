/**
 * The `gs://` backend end to end: replicas written by Litestream's own
 * extension, copied into Firebase's Cloud Storage emulator on 127.0.0.1
 * (tests/_gcs.ts) and opened with `open()` through the storage worker.
 *
 * The emulator checks no credentials, makes any bucket it is asked about
 * and ignores `ifGenerationMatch`: the harness's proxy stands in for
 * Google there (it verifies the JWTs signed with the service-account key
 * the harness made, since no local server has Google's auth; it answers
 * 404 for other buckets; it takes the uploads of one object one at a time
 * and answers 412 when the precondition fails), so the wrong-credentials,
 * missing-bucket and create-only race tests below test something real.
 *
 * @module
 */

import assert from "node:assert/strict";
import { open, SqliteError } from "../mod.ts";
import { GcsReplicaClient } from "../src/storage/gs_client.ts";
import {
  FileExistsError,
  StorageError,
  WorkerReplicaClient,
} from "../src/storage/mod.ts";
import { backendSuite } from "./_backend_suite.ts";
import { makeLitestreamReplica, writeWithLitestream } from "./_litestream.ts";
import { type GcsServer, startGcsServer } from "./_gcs.ts";

async function tempDir(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lsvfs-gcs-test-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  });
}

/** Sets variables until the returned function restores them. */
function withEnv(env: Record<string, string | undefined>): () => void {
  const before = Object.keys(env).map((k) => [k, Deno.env.get(k)] as const);
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) Deno.env.delete(k);
    else Deno.env.set(k, v);
  }
  return () => {
    for (const [k, v] of before) {
      if (v === undefined) Deno.env.delete(k);
      else Deno.env.set(k, v);
    }
  };
}

/** The server's environment: its key file, and no emulator host. */
function serverEnv(server: GcsServer): Record<string, string | undefined> {
  return {
    GOOGLE_APPLICATION_CREDENTIALS: server.credentialsFile,
    STORAGE_EMULATOR_HOST: undefined,
  };
}

const SCHEMA = [
  "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
  "INSERT INTO t (v) SELECT printf('row %05d', value) FROM generate_series(1, 500)",
  "UPDATE t SET v = upper(v) WHERE id % 3 = 0",
];

Deno.test("GcsReplicaClient.listFiles() follows nextPageToken, and readRange() reads the bytes asked for", async () => {
  await using dir = await tempDir();
  await using server = await startGcsServer();
  const restore = withEnv(serverEnv(server));
  try {
    const replica = `${dir}/replica`;
    await makeLitestreamReplica(replica, SCHEMA);
    await server.upload(replica, "db");
    const client = new GcsReplicaClient(server.url("db"), { pageSize: 2 });
    await server.resetCounts();
    const files = await client.listFiles(0);
    assert.deepEqual(files.map((f) => f.maxTxid), [1n, 2n, 3n]);
    // Three files, two a page: two LISTs, the second with the token.
    assert.equal((await server.counts()).LIST, 2);
    const local = [...Deno.readDirSync(`${replica}/ltx/0`)]
      .map((e) => e.name).sort();
    for (const [i, file] of files.entries()) {
      const bytes = await Deno.readFile(`${replica}/ltx/0/${local[i]}`);
      assert.equal(file.size, bytes.length);
      assert.deepEqual(
        await client.readRange(file, 7, 300),
        bytes.slice(7, 307),
      );
      assert.deepEqual(
        await client.readRange(file, bytes.length - 16, 16),
        bytes.slice(-16),
      );
    }
    // Past the end (Google answers 416, the emulator the whole object):
    // an error naming the backend, not retried.
    await assert.rejects(
      client.readRange(files[0], files[0].size + 10, 5),
      (error: unknown) => {
        assert.ok(error instanceof StorageError, String(error));
        assert.equal(error.retryable, false);
        assert.match(
          error.message,
          /^GCS read "db\/ltx\/0\/0+1-0+1\.ltx" in bucket "replicas"/,
        );
        return true;
      },
    );
    client.close();
  } finally {
    restore();
  }
});

Deno.test("GcsReplicaClient.createFile(): of two writers racing for one name, exactly one wins", async () => {
  // The emulator ignores ifGenerationMatch; the harness's proxy answers it
  // (412) with one upload of an object at a time, as Google does.
  await using server = await startGcsServer();
  const restore = withEnv(serverEnv(server));
  try {
    const url = server.url("race");
    const writers = [0, 1].map(() => new GcsReplicaClient(url));
    for (let round = 1; round <= 5; round++) {
      const file = { level: 0, minTxid: BigInt(round), maxTxid: BigInt(round) };
      const bytes = writers.map((_, i) =>
        new Uint8Array(1000).fill(round * 2 + i)
      );
      const outcomes = await Promise.allSettled(
        writers.map((w, i) => w.createFile(file, bytes[i])),
      );
      const won = outcomes.findIndex((o) => o.status === "fulfilled");
      assert.notEqual(won, -1, `round ${round}: nobody won`);
      const lost = outcomes[1 - won];
      assert.equal(lost.status, "rejected", `round ${round}: both won`);
      const reason = (lost as PromiseRejectedResult).reason;
      assert.ok(reason instanceof FileExistsError, String(reason));
      assert.match(reason.message, /GCS object ".*" in bucket "replicas"/);
      const stored = await writers[1 - won].readRange(
        { ...file, size: 1000, createdAt: 0 },
        0,
        1000,
      );
      assert.deepEqual(stored, bytes[won], `round ${round}`);
    }
    // The same bytes again (a retried write whose first try landed) succeed.
    const first = { level: 0, minTxid: 1n, maxTxid: 1n };
    const there = await writers[0].readRange(
      { ...first, size: 1000, createdAt: 0 },
      0,
      1000,
    );
    await writers[0].createFile(first, there);
    const listed = await writers[1].listFiles(0);
    assert.deepEqual(listed.map((f) => f.maxTxid), [1n, 2n, 3n, 4n, 5n]);
    // Through the storage worker, synchronously, as the engine writes.
    const engine = new WorkerReplicaClient(url);
    try {
      const sixth = { level: 0, minTxid: 6n, maxTxid: 6n };
      engine.createFileSync(sixth, new Uint8Array([6]));
      assert.throws(
        () => engine.createFileSync(sixth, new Uint8Array([7])),
        FileExistsError,
      );
      assert.equal(engine.listAllSync().length, 6);
    } finally {
      engine.close();
    }
  } finally {
    restore();
  }
});

Deno.test("GcsReplicaClient gives up on a server that goes away mid-read, retryable, within its budget", async () => {
  await using dir = await tempDir();
  await using server = await startGcsServer();
  const restore = withEnv(serverEnv(server));
  try {
    const replica = `${dir}/replica`;
    await makeLitestreamReplica(replica, SCHEMA.slice(0, 2));
    await server.upload(replica, "db");
    const client = new GcsReplicaClient(server.url("db"), {
      retryBudgetMs: 800,
      requestTimeoutMs: 300,
    });
    const [file] = await client.listFiles(0);
    assert.equal((await client.readRange(file, 0, 4)).length, 4);
    for (const faults of [{ status: 503 }, { down: true }]) {
      await server.setFaults(faults);
      await server.resetCounts();
      for (
        const op of [
          () => client.readRange(file, 0, 100),
          () => client.listFiles(0),
        ]
      ) {
        const started = performance.now();
        await assert.rejects(op(), (error: unknown) => {
          assert.ok(error instanceof StorageError, String(error));
          assert.equal(error.retryable, true, error.message);
          assert.match(error.message, /^GCS (read|list) /);
          assert.match(error.message, /gave up after \d+ attempts/);
          assert.doesNotMatch(error.message, /PRIVATE KEY/);
          return true;
        });
        const ms = performance.now() - started;
        assert.ok(ms < 2_000, `${JSON.stringify(faults)}: took ${ms} ms`);
      }
      const counts = await server.counts();
      assert.ok(
        (counts.GET ?? 0) > 1 && (counts.LIST ?? 0) > 1,
        JSON.stringify(counts),
      );
    }
    // And when it comes back, the same client reads again.
    await server.clearFaults();
    assert.equal((await client.readRange(file, 0, 4)).length, 4);
    client.close();
  } finally {
    restore();
  }
});

Deno.test("GcsReplicaClient retries a server that never answers within its bound", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  let accepted = 0;
  const serving = (async () => {
    for await (const conn of listener) {
      accepted++;
      held.push(conn);
    }
  })();
  const client = new GcsReplicaClient("gs://b/db", {
    retryBudgetMs: 1_000,
    requestTimeoutMs: 200,
    env: { STORAGE_EMULATOR_HOST: `127.0.0.1:${listener.addr.port}` },
  });
  try {
    const file = { level: 0, minTxid: 1n, maxTxid: 1n, size: 10, createdAt: 0 };
    for (
      const op of [
        () => client.listFiles(0),
        () => client.readRange(file, 0, 10),
      ]
    ) {
      accepted = 0;
      const started = performance.now();
      await assert.rejects(op(), (error: unknown) => {
        assert.ok(error instanceof StorageError, String(error));
        assert.equal(error.retryable, true, error.message);
        assert.match(error.message, /^GCS /);
        return true;
      });
      const ms = performance.now() - started;
      assert.ok(ms < 2_500, `took ${ms} ms`);
      assert.ok(accepted > 1, `${accepted} attempts`);
    }
  } finally {
    client.close();
    listener.close();
    for (const conn of held) conn.close();
    await serving.catch(() => {});
  }
});

Deno.test("open() explains a missing or broken key file, and a missing bucket, naming GCS", async () => {
  await using dir = await tempDir();
  await using server = await startGcsServer();
  const notJson = `${dir}/not-json.json`;
  await Deno.writeTextFile(notJson, "SECRET-LOOKING-CONTENT\n");
  const badKey = `${dir}/bad-key.json`;
  const account = JSON.parse(await Deno.readTextFile(server.credentialsFile));
  await Deno.writeTextFile(
    badKey,
    JSON.stringify({ ...account, private_key: "SECRET-NOT-A-PEM" }),
  );
  for (
    const [file, reason] of [
      ["/nonexistent/key.json", /the key file does not exist/],
      [notJson, /the key file is not JSON/],
      [badKey, /private_key is not a PEM key/],
    ] as const
  ) {
    const restore = withEnv({
      GOOGLE_APPLICATION_CREDENTIALS: file,
      STORAGE_EMULATOR_HOST: undefined,
    });
    try {
      const started = performance.now();
      assert.throws(() => open(server.url("db")), (error: unknown) => {
        assert.ok(error instanceof SqliteError, String(error));
        assert.match(error.message, /GCS list "db\/ltx\/\d\/"/);
        assert.match(error.message, reason);
        assert.match(error.message, /GOOGLE_APPLICATION_CREDENTIALS/);
        // The SDK's own messages quote the file; ours never do.
        assert.doesNotMatch(error.message, /SECRET/);
        return true;
      });
      // Not retried: a broken key does not mend itself.
      const ms = performance.now() - started;
      assert.ok(ms < 5_000, `${file}: took ${ms} ms`);
    } finally {
      restore();
    }
  }
  const restore = withEnv(serverEnv(server));
  try {
    assert.throws(
      () => open(server.url("db", "no-such-bucket")),
      (error: unknown) => {
        assert.ok(error instanceof SqliteError, String(error));
        assert.match(
          error.message,
          /GCS list .*no such bucket "no-such-bucket"/,
        );
        return true;
      },
    );
  } finally {
    restore();
  }
});

/** The permissions the README lists for a gs:// replica with a key file. */
function gcsPermissions(endpoint: string): string[] {
  return [
    "--allow-ffi",
    "--allow-read",
    `--allow-net=${new URL(endpoint).host}`,
    "--allow-env=LITESTREAM_*,GOOGLE_*,GCLOUD_PROJECT,gcloud_project,google_cloud_project,STORAGE_EMULATOR_HOST,FUNCTION_NAME,DEBUG,READABLE_STREAM,TEENY_REQUEST_WARN_CONCURRENT_REQUESTS,LSVFS_SQLITE_LIB",
  ];
}

Deno.test("open() reads a gs:// replica under the narrow permissions the README lists", async () => {
  await using dir = await tempDir();
  await using server = await startGcsServer();
  await makeLitestreamReplica(`${dir}/replica`, SCHEMA.slice(0, 2));
  await server.upload(`${dir}/replica`, "db");
  const script = `
    import { open } from "${new URL("../mod.ts", import.meta.url)}";
    using db = open(${JSON.stringify(server.url("db"))});
    console.log(JSON.stringify(db.get("SELECT count(*) AS n FROM t")));
  `;
  await Deno.writeTextFile(`${dir}/app.ts`, script);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      ...gcsPermissions(server.endpoint),
      `${dir}/app.ts`,
    ],
    env: { GOOGLE_APPLICATION_CREDENTIALS: server.credentialsFile },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
    n: 500,
  });
});

Deno.test("open() reads a replica Litestream's extension wrote to GCS itself, over STORAGE_EMULATOR_HOST", async () => {
  // Litestream's Go SDK takes STORAGE_EMULATOR_HOST as "host:port" and
  // sends no credentials to it: a proxy without auth.
  await using server = await startGcsServer({ auth: false });
  const host = new URL(server.endpoint).host;
  const env = { STORAGE_EMULATOR_HOST: host };
  await writeWithLitestream(`gs://${server.bucket}/written`, [
    "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
    "INSERT INTO t (v) VALUES ('one'), ('two')",
    "UPDATE t SET v = upper(v)",
  ], { env });
  const restore = withEnv({
    ...env,
    GOOGLE_APPLICATION_CREDENTIALS: undefined,
  });
  try {
    // Litestream's gs client keeps levels under "<path>/ltx/<level>/".
    const client = new GcsReplicaClient(`gs://${server.bucket}/written`);
    const files = await client.listFiles(0);
    assert.deepEqual(files.map((f) => f.maxTxid), [1n, 2n, 3n]);
    // ... with each file's time in "litestream-timestamp" metadata, which
    // the listing takes as the file's time.
    const listing = await (await fetch(
      `${server.emulatorEndpoint}/storage/v1/b/${server.bucket}/o?prefix=written/`,
    )).json() as {
      items: { name: string; metadata?: Record<string, string> }[];
    };
    assert.deepEqual(
      listing.items.map((o) => o.name).filter((n) => n.endsWith(".ltx"))
        .sort(),
      [1, 2, 3].map((n) => {
        const txid = n.toString(16).padStart(16, "0");
        return `written/ltx/0/${txid}-${txid}.ltx`;
      }),
    );
    const stamps = new Map(
      listing.items.map((o) => [o.name, o.metadata?.["litestream-timestamp"]]),
    );
    for (const file of files) {
      const txid = file.maxTxid.toString(16).padStart(16, "0");
      const stamp = stamps.get(`written/ltx/0/${txid}-${txid}.ltx`);
      assert.ok(stamp, `TXID ${txid}: no litestream-timestamp`);
      // Go writes nanoseconds; the listing keeps milliseconds.
      assert.ok(Math.abs(file.createdAt - Date.parse(stamp)) < 1, stamp);
    }
    using db = open(`gs://${server.bucket}/written`);
    assert.deepEqual(db.query("SELECT id, v FROM t ORDER BY id"), [
      { id: 1, v: "ONE" },
      { id: 2, v: "TWO" },
    ]);
    assert.equal(
      db.get<{ t: string }>("SELECT litestream_txid() AS t")!.t,
      "0000000000000003",
    );
  } finally {
    restore();
  }
});

backendSuite("GCS", async () => {
  const server = await startGcsServer();
  return {
    name: "GCS",
    url: (path) => server.url(path),
    env: { GOOGLE_APPLICATION_CREDENTIALS: server.credentialsFile },
    upload: async (dir, path) => {
      await server.upload(dir, path);
    },
    badCredentials: (path) => ({
      url: server.url(path),
      env: { GOOGLE_APPLICATION_CREDENTIALS: server.wrongCredentialsFile },
    }),
    missingBucket: (path) => server.url(path, "no-such-bucket"),
    [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
  };
});
