/**
 * The `s3://` backend end to end: a replica written by Litestream's own
 * extension to a folder, uploaded to s3rver on 127.0.0.1, opened with
 * `open()` through the storage worker.
 *
 * @module
 */

import assert from "node:assert/strict";
import { open, SqliteError } from "../mod.ts";
import {
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { decodeHeader, formatFileName } from "../src/ltx/mod.ts";
import { S3ReplicaClient } from "../src/storage/s3_client.ts";
import {
  type LtxFileInfo,
  StorageError,
  WorkerReplicaClient,
} from "../src/storage/mod.ts";
import {
  assertGivesUp,
  assertOneWriterWins,
  assertWorkerCreateOnly,
  backendSuite,
} from "./_backend_suite.ts";
import { withEnv } from "./_env.ts";
import { tempDir as makeTempDir } from "./_files.ts";
import { makeLitestreamReplica, writeWithLitestream } from "./_litestream.ts";
import { S3RVER_ENV, startS3Server } from "./_s3.ts";
import { freePort, startDeadServer } from "./_servers.ts";
import { openAndQueryScript, runDeno, runScript } from "./_subprocess.ts";
import { eventually } from "./_wait.ts";

for (const [k, v] of Object.entries(S3RVER_ENV)) Deno.env.set(k, v);

const tempDir = () => makeTempDir("lsvfs-s3-test-");

function rows(n: number): string {
  return `generate_series(1, ${n})`;
}

const SCHEMA = [
  "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
  `INSERT INTO t (v) SELECT printf('row %05d %s', value, hex(randomblob(40))) FROM ${
    rows(3000)
  }`,
  "CREATE INDEX t_v ON t (v)",
  "UPDATE t SET v = upper(v) WHERE id % 7 = 0",
];

function s3Url(endpoint: string, bucket: string, path: string): string {
  return `s3://${bucket}/${path}?endpoint=${endpoint}&forcePathStyle=true`;
}

/**
 * A replica of the schema's first two transactions, written by Litestream's
 * extension and uploaded to a new s3rver as "db".
 */
async function uploadedReplica() {
  const dir = await tempDir();
  const server = await startS3Server();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, SCHEMA.slice(0, 2));
  await server.upload(replica, "db");
  return {
    dir,
    server,
    replica,
    url: s3Url(server.endpoint, server.bucket, "db"),
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      await dir[Symbol.asyncDispose]();
    },
  };
}

Deno.test("open() reads an s3:// replica like its file:// twin, and polls for new data", async () => {
  await using dir = await tempDir();
  await using server = await startS3Server();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, SCHEMA);
  const uploaded = await server.upload(replica, "db");
  assert.ok(uploaded >= SCHEMA.length);

  const url = s3Url(server.endpoint, server.bucket, "db");
  const started = performance.now();
  using remote = open(url, { pollInterval: 50 });
  using local = open(`file://${replica}`);
  const query = "SELECT id, v FROM t ORDER BY v";
  const first = remote.get("SELECT count(*) AS n FROM t");
  const firstRowMs = performance.now() - started;
  assert.deepEqual(first, { n: 3000 });
  const openCounts = {
    lists: await server.total("LIST"),
    gets: await server.total("GET"),
  };
  assert.deepEqual(remote.query(query), local.query(query));
  assert.deepEqual(remote.get("PRAGMA integrity_check"), {
    integrity_check: "ok",
  });
  console.log(
    `s3 open + count(*): ${
      firstRowMs.toFixed(0)
    } ms, ${openCounts.lists} LISTs, ${openCounts.gets} GETs; after full scan + integrity_check: ${await server
      .total("GET")} GETs for ${uploaded} LTX files`,
  );

  // A new transaction, written by Litestream and uploaded, shows up.
  await makeLitestreamReplica(replica, ["INSERT INTO t (v) VALUES ('new')"]);
  await server.upload(replica, "db");
  await eventually(
    "the new transaction appears",
    () => remote.get<{ n: number }>("SELECT count(*) AS n FROM t")!.n === 3001,
    5_000,
  );
  assert.deepEqual(remote.get("SELECT v FROM t WHERE id = 3001"), {
    v: "new",
  });
  assert.deepEqual(remote.get("PRAGMA integrity_check"), {
    integrity_check: "ok",
  });
});

/** The permissions the README documents for an s3:// replica. */
function s3Permissions(endpoint: string): string[] {
  return [
    "--allow-ffi",
    `--allow-read`,
    `--allow-net=${new URL(endpoint).host}`,
    "--allow-env=LITESTREAM_*,AWS_*,HOME,USERPROFILE,HOMEPATH,HOMEDRIVE,_X_AMZN_TRACE_ID,LSVFS_SQLITE_LIB",
    "--allow-sys=osRelease",
  ];
}

Deno.test("open() reads an s3:// replica under the narrow permissions the README lists", async () => {
  await using r = await uploadedReplica();
  const { dir, server, url } = r;
  const row = await runScript(
    dir,
    openAndQueryScript(url, "SELECT count(*) AS n FROM t"),
    s3Permissions(server.endpoint),
    { env: S3RVER_ENV },
  );
  assert.deepEqual(row, { n: 3000 });
});

Deno.test("open() travels in time on an s3:// replica as on its file:// twin", async () => {
  await using dir = await tempDir();
  await using server = await startS3Server();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, SCHEMA);
  await server.upload(replica, "db");
  using remote = open(s3Url(server.endpoint, server.bucket, "db"));
  using local = open(`file://${replica}`);
  const query = "SELECT count(*) AS n, max(v) AS v FROM t";
  // Each transaction's commit time, from its file's header.
  const times = [...Deno.readDirSync(`${replica}/ltx/0`)]
    .map((e) => e.name).sort().map((name) => {
      const bytes = Deno.readFileSync(`${replica}/ltx/0/${name}`);
      return new Date(decodeHeader(bytes, name).timestamp).toISOString();
    });
  assert.equal(times.length, SCHEMA.length);
  for (const [i, time] of times.entries()) {
    remote.setTime(time);
    local.setTime(time);
    assert.equal(
      remote.replicaState().txid,
      (i + 1).toString(16).padStart(16, "0"),
    );
    assert.deepEqual(remote.replicaState().time, local.replicaState().time);
    if (i > 0) assert.deepEqual(remote.get(query), local.get(query));
  }
  remote.setTime("LATEST");
  assert.deepEqual(remote.get(query), {
    n: 3000,
    v: local.get<{ v: string }>(query)!.v,
  });
});

Deno.test("open() explains a missing bucket or an empty prefix on s3://", async () => {
  await using server = await startS3Server();
  assert.throws(
    () => open(s3Url(server.endpoint, "no-such-bucket", "db")),
    (error: unknown) => {
      assert.ok(error instanceof SqliteError, String(error));
      assert.match(error.message, /no such bucket/);
      return true;
    },
  );
  assert.throws(
    () => open(s3Url(server.endpoint, server.bucket, "nothing/here")),
    (error: unknown) => {
      assert.ok(error instanceof SqliteError, String(error));
      assert.match(error.message, /No LTX files/);
      return true;
    },
  );
});

Deno.test("open() fails within the retry bound when nothing listens at the endpoint", () => {
  const port = freePort();
  const started = performance.now();
  assert.throws(
    () => open(s3Url(`http://127.0.0.1:${port}`, "b", "db")),
    (error: unknown) => {
      assert.ok(error instanceof SqliteError, String(error));
      assert.match(error.message, /gave up after \d+ attempts/);
      return true;
    },
  );
  const ms = performance.now() - started;
  assert.ok(ms < 15_000, `took ${ms} ms`);
});

Deno.test("WorkerReplicaClient.readRangesSync() reads a batch in parallel, coalesced, in request order", async () => {
  await using r = await uploadedReplica();
  const { server, replica } = r;
  const client = new WorkerReplicaClient(r.url, { maxInFlight: 4 });
  try {
    const files = client.listFilesSync(0);
    assert.equal(files.length, 2);
    const requests = files.flatMap((file) =>
      [0, 10, 100].map((offset) => ({ file, offset, length: 50 }))
    );
    await server.resetCounts();
    const batch = client.readRangesSync(requests);
    // 0+50 and 10+50 overlap: one GET for both, per file.
    assert.equal(await server.total("GET"), 4);
    const one = requests.map((r) =>
      client.readRangeSync(r.file, r.offset, r.length)
    );
    assert.deepEqual(batch, one);
    const local = await Deno.readFile(
      `${replica}/ltx/0/${files[1].minTxid.toString(16).padStart(16, "0")}-${
        files[1].maxTxid.toString(16).padStart(16, "0")
      }.ltx`,
    );
    assert.deepEqual(batch[4], local.slice(10, 60));
    assert.throws(
      () => client.readRangesSync([{ ...requests[0], offset: 1e9 }]),
      (error: unknown) => error instanceof StorageError && !error.retryable,
    );
  } finally {
    client.close();
  }
});

Deno.test("WorkerReplicaClient.pollSync() answers from the worker's own poller", async () => {
  await using r = await uploadedReplica();
  const { server, replica } = r;
  const client = new WorkerReplicaClient(r.url);
  try {
    await server.resetCounts();
    // The first call waits for a first listing: the ten levels at once, in
    // both of Litestream's layouts (later polls list the one with files).
    const first = client.pollSync(100);
    assert.equal(first.files.length, 2);
    assert.equal(await server.total("LIST"), 20);
    // Then the worker lists on its own, with nobody asking: level 0 alone,
    // where new transactions arrive, in the layout the files are in.
    await server.resetCounts();
    await new Promise((r) => setTimeout(r, 550));
    const polled = [...(await server.counts()).entries()].filter(([k]) =>
      k.startsWith("LIST")
    );
    const ticks = polled.reduce((n, [, count]) => n + count, 0);
    assert.ok(ticks >= 3 && ticks <= 8, `${ticks} LISTs`);
    assert.deepEqual(polled.map(([k]) => k), [
      `LIST /${server.bucket}/?prefix=db/ltx/0/`,
    ]);
    // A call takes what the poller found last, without a LIST of its own.
    const again = client.pollSync(100);
    assert.deepEqual(again.files, first.files);
    assert.ok(again.ageMs < 1_000, `${again.ageMs} ms old`);
    // New files show up within a poll interval or so.
    await makeLitestreamReplica(replica, ["INSERT INTO t (v) VALUES ('new')"]);
    await server.upload(replica, "db");
    await eventually(
      "the new file shows up",
      () => client.pollSync(100).files.length === 3,
      5_000,
    );
    // (Re-uploading changes the objects' times, so compare names.)
    const names = (files: LtxFileInfo[]) =>
      files.map((f) => [f.level, f.minTxid, f.maxTxid]);
    assert.deepEqual(
      names(client.listAllSync()),
      names(client.pollSync(100).files),
    );
    // Compaction: a level-1 file takes the place of the level-0 ones. A
    // level-0 file gone makes the next tick list every level.
    const s3 = new S3Client({
      endpoint: server.endpoint,
      forcePathStyle: true,
      region: S3RVER_ENV.AWS_REGION,
      credentials: {
        accessKeyId: S3RVER_ENV.AWS_ACCESS_KEY_ID,
        secretAccessKey: S3RVER_ENV.AWS_SECRET_ACCESS_KEY,
      },
    });
    await s3.send(
      new PutObjectCommand({
        Bucket: server.bucket,
        Key: "db/ltx/1/0000000000000001-0000000000000003.ltx",
        Body: new Uint8Array(100),
      }),
    );
    for (const f of client.listAllSync().filter((f) => f.level === 0)) {
      await s3.send(
        new DeleteObjectCommand({
          Bucket: server.bucket,
          Key: `db/ltx/0/${formatFileName(f.minTxid, f.maxTxid)}`,
        }),
      );
    }
    s3.destroy();
    const levels = () =>
      client.pollSync(100).files.map((f) =>
        `${f.level}:${f.minTxid}-${f.maxTxid}`
      )
        .join(" ");
    await eventually(
      "the compaction shows up",
      () => levels() === "1:1-3",
      5_000,
    );
  } finally {
    client.close();
  }
});

Deno.test("S3ReplicaClient gives up on 500s within its retry budget, retryable", async () => {
  let hits = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => {
      hits++;
      return new Response("<Error><Code>InternalError</Code></Error>", {
        status: 500,
      });
    },
  );
  const client = new S3ReplicaClient(
    `s3://b/db?endpoint=http://127.0.0.1:${server.addr.port}`,
    { retryBudgetMs: 500, env: S3RVER_ENV },
  );
  try {
    const started = performance.now();
    await assert.rejects(client.listFiles(0), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.retryable, true);
      assert.match(error.message, /HTTP 500/);
      return true;
    });
    assert.ok(performance.now() - started < 1_500);
    assert.ok(hits > 1, `${hits} attempts`);
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("the storage worker never keeps the process alive, even with a client left open", async () => {
  const script = `
    import { WorkerReplicaClient } from "${new URL(
    "../src/storage/worker_client.ts",
    import.meta.url,
  )}";
    new WorkerReplicaClient("s3://b/db?endpoint=http://127.0.0.1:1");
    console.log("opened");
  `;
  const started = performance.now();
  const stdout = await runDeno("eval", [script], {
    env: S3RVER_ENV,
    timeoutMs: 20_000,
  });
  assert.equal(stdout.trim(), "opened");
  assert.ok(performance.now() - started < 10_000);
});

Deno.test("S3ReplicaClient retries dropped connections and silent servers within its bound", async () => {
  for (const behaviour of ["drop", "silent"] as const) {
    await using dead = startDeadServer(behaviour);
    const client = new S3ReplicaClient(
      `s3://b/db?endpoint=http://127.0.0.1:${dead.port}`,
      { retryBudgetMs: 1_000, requestTimeoutMs: 200, env: S3RVER_ENV },
    );
    try {
      await assertGivesUp(() => client.listFiles(0), {
        never: [/S3RVER/],
        withinMs: 2_000,
        what: behaviour,
      });
      assert.ok(dead.accepted > 1, `${behaviour}: ${dead.accepted} attempts`);
    } finally {
      client.close();
    }
  }
});

Deno.test("open() reads a replica Litestream's extension wrote to S3 itself, in its own layout", async () => {
  await using server = await startS3Server();
  const url = s3Url(server.endpoint, server.bucket, "written");
  await writeWithLitestream(url, [
    "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
    "INSERT INTO t (v) VALUES ('one'), ('two')",
    "UPDATE t SET v = upper(v)",
  ], { env: S3RVER_ENV });
  // Litestream v0.5.17 puts levels under "<path>/0000/", not "ltx/0/".
  const keys = [...(await server.counts()).keys()].filter((k) =>
    k.startsWith("PUT ")
  );
  assert.ok(
    keys.some((k) => k.includes("/written/0000/")),
    keys.join(", "),
  );
  using db = open(url);
  assert.deepEqual(db.query("SELECT id, v FROM t ORDER BY id"), [
    { id: 1, v: "ONE" },
    { id: 2, v: "TWO" },
  ]);
  assert.equal(
    db.get<{ t: string }>("SELECT litestream_txid() AS t")!.t,
    "0000000000000003",
  );
});

Deno.test("S3ReplicaClient.createFile(): of two writers racing for one name, exactly one wins", async () => {
  await using server = await startS3Server();
  const url = s3Url(server.endpoint, server.bucket, "race");
  const writer = () => new S3ReplicaClient(url, { env: S3RVER_ENV });
  await assertOneWriterWins([writer(), writer()]);
  // Through the storage worker, synchronously, as the engine will write.
  const restore = withEnv(S3RVER_ENV);
  try {
    assertWorkerCreateOnly(url);
  } finally {
    restore();
  }
});

backendSuite("S3", async () => {
  const server = await startS3Server();
  const url = (path: string) => s3Url(server.endpoint, server.bucket, path);
  return {
    name: "S3",
    url,
    env: S3RVER_ENV,
    upload: async (dir, path) => {
      await server.upload(dir, path);
    },
    badCredentials: (path) => ({
      url: url(path),
      env: { AWS_ACCESS_KEY_ID: "NOT-A-KEY", AWS_SECRET_ACCESS_KEY: "wrong" },
    }),
    missingBucket: (path) => s3Url(server.endpoint, "no-such-bucket", path),
    [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
  };
});
