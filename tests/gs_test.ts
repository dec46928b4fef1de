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
import { StorageError } from "../src/storage/mod.ts";
import {
  assertGivesUp,
  assertOneWriterWins,
  assertWorkerCreateOnly,
  backendSuite,
} from "./_backend_suite.ts";
import { withEnv } from "./_env.ts";
import { tempDir as makeTempDir } from "./_files.ts";
import { makeLitestreamReplica, writeWithLitestream } from "./_litestream.ts";
import { type GcsServer, startGcsServer } from "./_gcs.ts";
import { startDeadServer } from "./_servers.ts";
import { openAndQueryScript, runScript } from "./_subprocess.ts";

const tempDir = () => makeTempDir("lsvfs-gcs-test-");

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
    await assertOneWriterWins(
      [new GcsReplicaClient(url), new GcsReplicaClient(url)],
      { exists: /GCS object ".*" in bucket "replicas"/ },
    );
    // Through the storage worker, synchronously, as the engine writes.
    assertWorkerCreateOnly(url);
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
        await assertGivesUp(op, {
          matches: [/^GCS (read|list) /, /gave up after \d+ attempts/],
          never: [/PRIVATE KEY/],
          withinMs: 2_000,
          what: JSON.stringify(faults),
        });
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
  await using silent = startDeadServer("silent");
  const client = new GcsReplicaClient("gs://b/db", {
    retryBudgetMs: 1_000,
    requestTimeoutMs: 200,
    env: { STORAGE_EMULATOR_HOST: `127.0.0.1:${silent.port}` },
  });
  try {
    const file = { level: 0, minTxid: 1n, maxTxid: 1n, size: 10, createdAt: 0 };
    for (
      const op of [
        () => client.listFiles(0),
        () => client.readRange(file, 0, 10),
      ]
    ) {
      const before = silent.accepted;
      await assertGivesUp(op, { matches: [/^GCS /], withinMs: 2_500 });
      const attempts = silent.accepted - before;
      assert.ok(attempts > 1, `${attempts} attempts`);
    }
  } finally {
    client.close();
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
  const row = await runScript(
    dir,
    openAndQueryScript(server.url("db"), "SELECT count(*) AS n FROM t"),
    gcsPermissions(server.endpoint),
    { env: { GOOGLE_APPLICATION_CREDENTIALS: server.credentialsFile } },
  );
  assert.deepEqual(row, { n: 500 });
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
