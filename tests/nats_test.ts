/**
 * The `nats://` backend end to end, against Debian's nats-server with
 * JetStream on 127.0.0.1 (tests/_nats.ts): the shared backend suite, a
 * replica Litestream's extension wrote to NATS itself, the in-memory cache
 * of whole LTX files, create-only writes (racing writers, a tombstone),
 * credentials (user and password, token, TLS), a missing bucket, and a
 * server that is gone or stops answering.
 *
 * @module
 */

import assert from "node:assert/strict";
import { open, SqliteError } from "../mod.ts";
import { formatFileName } from "../src/ltx/mod.ts";
import { FileExistsError, StorageError } from "../src/storage/errors.ts";
import {
  NATS_TIMESTAMP_HEADER,
  NatsReplicaClient,
} from "../src/storage/nats_client.ts";
import type { LtxFileInfo } from "../src/storage/mod.ts";
import {
  assertGivesUp,
  assertOneWriterWins,
  backendSuite,
} from "./_backend_suite.ts";
import { withEnv } from "./_env.ts";
import { tempDir as makeTempDir } from "./_files.ts";
import { makeLitestreamReplica, writeWithLitestream } from "./_litestream.ts";
import { natsEnv, natsHarness, startNatsServer } from "./_nats.ts";
import { freePort } from "./_servers.ts";
import { runScript } from "./_subprocess.ts";

backendSuite("NATS", natsHarness);

const tempDir = () => makeTempDir("lsvfs-nats-test-");

const SCHEMA = [
  "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
  "INSERT INTO t (v) SELECT printf('row %05d %s', value, hex(randomblob(60))) FROM generate_series(1, 3000)",
  "UPDATE t SET v = upper(v) WHERE id % 5 = 0",
];

/** Every LTX file of a client's replica, all levels. */
async function listAll(client: NatsReplicaClient): Promise<LtxFileInfo[]> {
  const levels = await Promise.all(
    Array.from({ length: 10 }, (_, level) => client.listFiles(level)),
  );
  return levels.flat();
}

Deno.test("open() reads a replica Litestream's extension wrote to NATS itself, at the bucket root", async () => {
  await using server = await startNatsServer({ bucket: "litestream" });
  const auth = server.auth as { user: string; password: string };
  // Litestream's VFS takes credentials from the URL only.
  const litestreamUrl =
    `nats://${auth.user}:${auth.password}@127.0.0.1:${server.port}/litestream`;
  await writeWithLitestream(litestreamUrl, [
    "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
    "INSERT INTO t (v) VALUES ('one'), ('two')",
    "UPDATE t SET v = upper(v)",
  ]);
  const objects = await (await server.store()).list();
  assert.deepEqual(
    objects.map((o) => o.name).sort(),
    [1n, 2n, 3n].map((n) => `ltx/0/${formatFileName(n, n)}`),
  );
  // Litestream keeps each file's timestamp in a header.
  for (const o of objects) {
    const h = o.headers as unknown as Record<string, string[]>;
    assert.ok(
      Number.isFinite(Date.parse(h[NATS_TIMESTAMP_HEADER][0])),
      JSON.stringify(h),
    );
  }
  // Its URL, with its credentials, opens here as it is.
  using db = open(litestreamUrl);
  assert.deepEqual(db.query("SELECT id, v FROM t ORDER BY id"), [
    { id: 1, v: "ONE" },
    { id: 2, v: "TWO" },
  ]);
  assert.equal(db.replicaState().txid, "0000000000000003");
  const client = new NatsReplicaClient(server.url(""), { env: server.env });
  try {
    const files = await client.listFiles(0);
    const stamps = objects.map((o) =>
      Date.parse(
        (o.headers as unknown as Record<string, string[]>)[
          NATS_TIMESTAMP_HEADER
        ][0],
      )
    ).sort();
    assert.deepEqual(files.map((f) => f.createdAt), stamps);
  } finally {
    client.close();
  }
});

Deno.test("NatsReplicaClient needs only the permissions the README lists: the server's address and NATS_* variables", async () => {
  await using dir = await tempDir();
  await using server = await startNatsServer();
  await makeLitestreamReplica(`${dir}/replica`, SCHEMA.slice(0, 2));
  await server.upload(`${dir}/replica`, "db");
  const script = `
    import { NatsReplicaClient } from "${new URL(
    "../src/storage/nats_client.ts",
    import.meta.url,
  )}";
    const client = new NatsReplicaClient(${JSON.stringify(server.url("db"))});
    const files = await client.listFiles(0);
    const head = await client.readRange(files[1], 0, 4);
    console.log(JSON.stringify({ n: files.length, magic: new TextDecoder().decode(head) }));
    client.close();
  `;
  const result = await runScript(
    dir,
    script,
    [`--allow-net=127.0.0.1:${server.port}`, "--allow-env=NATS_*"],
    { env: { ...server.env } },
  );
  assert.deepEqual(result, { n: 2, magic: "LTX1" });
});

Deno.test("NatsReplicaClient downloads each LTX file once and serves its pages from memory, within its bound", async () => {
  await using dir = await tempDir();
  await using server = await startNatsServer();
  await makeLitestreamReplica(`${dir}/replica`, SCHEMA);
  await server.upload(`${dir}/replica`, "db");
  const client = new NatsReplicaClient(server.url("db"), { env: server.env });
  try {
    const files = await listAll(client);
    assert.equal(files.length, SCHEMA.length);
    // Ten levels listed at once: one listing of the bucket.
    assert.equal(client.listings, 1);
    const biggest = files.reduce((a, b) => a.size > b.size ? a : b);
    assert.ok(biggest.size > 200_000, `${biggest.size} bytes`);
    const local = await Deno.readFile(
      `${dir}/replica/ltx/0/${
        formatFileName(biggest.minTxid, biggest.maxTxid)
      }`,
    );
    // Many ranges of every file, in parallel, as the storage worker asks.
    const reads = files.flatMap((f) =>
      Array.from({ length: 20 }, (_, i) => {
        const offset = Math.floor((f.size - 100) * i / 20);
        return { f, offset, length: 100 };
      })
    );
    const got = await Promise.all(
      reads.map((r) => client.readRange(r.f, r.offset, r.length)),
    );
    assert.equal(client.downloads, files.length);
    const at = reads.findIndex((r) => r.f === biggest);
    assert.deepEqual(
      got[at],
      local.subarray(reads[at].offset, reads[at].offset + 100),
    );
    assert.equal(
      client.cachedBytes,
      files.reduce((n, f) => n + f.size, 0),
    );
    // Another read of a kept file costs no download.
    await client.readRange(biggest, 0, biggest.size);
    assert.equal(client.downloads, files.length);
  } finally {
    client.close();
  }
  // A bound below the biggest file: that one is streamed up to each range.
  const bounded = new NatsReplicaClient(server.url("db"), {
    env: server.env,
    cacheBytes: 100_000,
  });
  try {
    const files = await listAll(bounded);
    const biggest = files.reduce((a, b) => a.size > b.size ? a : b);
    const local = await Deno.readFile(
      `${dir}/replica/ltx/0/${
        formatFileName(biggest.minTxid, biggest.maxTxid)
      }`,
    );
    const tail = await bounded.readRange(biggest, biggest.size - 50, 50);
    const head = await bounded.readRange(biggest, 10, 50);
    assert.deepEqual(tail, local.subarray(biggest.size - 50));
    assert.deepEqual(head, local.subarray(10, 60));
    assert.equal(bounded.downloads, 2);
    assert.ok(bounded.cachedBytes <= 100_000);
    await assert.rejects(
      bounded.readRange(biggest, biggest.size - 10, 50),
      /short read/,
    );
  } finally {
    bounded.close();
  }
});

Deno.test("NatsReplicaClient.createFile(): of two racing writers exactly one wins, and a deleted name can be written again", async () => {
  await using dir = await tempDir();
  await using server = await startNatsServer();
  const writers = [0, 1].map(() =>
    new NatsReplicaClient(server.url("race"), { env: server.env })
  );
  try {
    await assertOneWriterWins([writers[0], writers[1]], {
      size: 300_000,
      exists: /NATS .*exists/,
      // What is stored is the winner's, whole: the loser's chunks are gone.
      stored: async (file) =>
        new Uint8Array(
          (await (await server.store()).getBlob(
            `race/ltx/0/${formatFileName(file.minTxid, file.maxTxid)}`,
          ))!,
        ),
      afterRaces: async () => {
        const info = await (await server.store()).status();
        assert.ok(
          info.size < 5 * 300_000 * 1.1,
          `bucket holds ${info.size} bytes`,
        );
      },
    });
    const first = { level: 0, minTxid: 1n, maxTxid: 1n };
    // After a delete, the tombstone's revision lets the name be written.
    const store = await server.store();
    const name = `race/ltx/0/${formatFileName(1n, 1n)}`;
    await store.delete(name);
    await writers[0].createFile(first, new Uint8Array([9, 9, 9]));
    assert.deepEqual(
      new Uint8Array((await store.getBlob(name))!),
      new Uint8Array([9, 9, 9]),
    );
    await assert.rejects(
      writers[1].createFile(first, new Uint8Array([8])),
      FileExistsError,
    );
    // An LTX file gets Litestream's timestamp header, from its own header.
    await makeLitestreamReplica(`${dir}/replica`, SCHEMA.slice(0, 1));
    const ltx = await Deno.readFile(
      `${dir}/replica/ltx/0/${formatFileName(1n, 1n)}`,
    );
    const other = new NatsReplicaClient(server.url("ltx"), { env: server.env });
    try {
      await other.createFile({ level: 0, minTxid: 1n, maxTxid: 1n }, ltx);
      const info1 = await store.info(`ltx/ltx/0/${formatFileName(1n, 1n)}`);
      const stamp = info1!.headers!.get(NATS_TIMESTAMP_HEADER);
      const [listed] = await other.listFiles(0);
      assert.equal(listed.createdAt, Date.parse(stamp));
      assert.ok(Math.abs(listed.createdAt - Date.now()) < 120_000);
    } finally {
      other.close();
    }
  } finally {
    for (const w of writers) w.close();
  }
});

Deno.test("NATS credentials: user and password in the URL or the environment, a token; wrong ones are an authorization error without the secret", async () => {
  await using dir = await tempDir();
  await makeLitestreamReplica(`${dir}/replica`, SCHEMA.slice(0, 1));
  {
    await using server = await startNatsServer();
    await server.upload(`${dir}/replica`, "db");
    const { user, password } = server.auth as {
      user: string;
      password: string;
    };
    const inUrl = new NatsReplicaClient(
      `nats://${user}:${
        encodeURIComponent(password)
      }@127.0.0.1:${server.port}/replicas/db`,
      { env: {} },
    );
    try {
      assert.equal((await inUrl.listFiles(0)).length, 1);
      assert.doesNotMatch(inUrl.url, new RegExp(password));
    } finally {
      inUrl.close();
    }
    const wrong = new NatsReplicaClient(
      `nats://${user}:wrong-secret@127.0.0.1:${server.port}/replicas/db`,
      { env: {} },
    );
    try {
      const started = performance.now();
      await assert.rejects(wrong.listFiles(0), (error: unknown) => {
        assert.ok(error instanceof StorageError, String(error));
        assert.equal(error.retryable, false);
        assert.match(error.message, /^NATS list .*authorization failed/);
        assert.doesNotMatch(error.message, /wrong-secret/);
        return true;
      });
      assert.ok(performance.now() - started < 3_000);
    } finally {
      wrong.close();
    }
    // No credentials at all: the same error.
    const none = new NatsReplicaClient(server.url("db"), { env: {} });
    try {
      await assert.rejects(none.listFiles(0), /authorization failed/);
    } finally {
      none.close();
    }
    // The storage worker outlives failed logins: open() fails, twice, and
    // then one with the right password works in the same worker.
    for (let i = 0; i < 2; i++) {
      assert.throws(
        () =>
          open(
            `nats://${user}:wrong-secret@127.0.0.1:${server.port}/replicas/db`,
          ),
        (error: unknown) => {
          assert.ok(error instanceof SqliteError, String(error));
          assert.match(error.message, /NATS.*authorization failed/);
          assert.doesNotMatch(error.message, /wrong-secret/);
          return true;
        },
      );
    }
    using db = open(
      `nats://${user}:${
        encodeURIComponent(password)
      }@127.0.0.1:${server.port}/replicas/db`,
    );
    assert.deepEqual(db.get("SELECT count(*) AS n FROM sqlite_master"), {
      n: 1,
    });
  }
  {
    const token = crypto.randomUUID();
    await using server = await startNatsServer({
      auth: { kind: "token", token },
    });
    await server.upload(`${dir}/replica`, "db");
    const client = new NatsReplicaClient(server.url("db"), {
      env: natsEnv(server.auth),
    });
    try {
      assert.equal((await client.listFiles(0)).length, 1);
    } finally {
      client.close();
    }
    const bad = new NatsReplicaClient(`${server.url("db")}?token=nope-nope`, {
      env: {},
    });
    try {
      await assert.rejects(bad.listFiles(0), (error: unknown) => {
        assert.ok(error instanceof StorageError, String(error));
        assert.equal(error.retryable, false);
        assert.match(error.message, /NATS .*authorization failed/);
        assert.match(error.message, /token=\*\*\*/);
        assert.doesNotMatch(error.message, /nope-nope/);
        return true;
      });
    } finally {
      bad.close();
    }
  }
});

Deno.test("NATS over TLS: root-cas= trusts the server's CA; without it the certificate is refused", async () => {
  await using dir = await tempDir();
  const ssl = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  };
  await ssl(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=lsvfs test CA",
  );
  await ssl(
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  );
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=IP:127.0.0.1\n",
  );
  await ssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  );
  await using server = await startNatsServer({
    auth: { kind: "none" },
    tls: {
      cert: `${dir}/server.pem`,
      key: `${dir}/server.key`,
      ca: `${dir}/ca.pem`,
    },
  });
  await makeLitestreamReplica(`${dir}/replica`, SCHEMA.slice(0, 1));
  const writer = new NatsReplicaClient(
    `${server.url("db")}?tls=true&root-cas=${dir}/ca.pem`,
    { env: {} },
  );
  try {
    const ltx = await Deno.readFile(
      `${dir}/replica/ltx/0/${formatFileName(1n, 1n)}`,
    );
    await writer.createFile({ level: 0, minTxid: 1n, maxTxid: 1n }, ltx);
    const [file] = await writer.listFiles(0);
    assert.deepEqual(await writer.readRange(file, 0, file.size), ltx);
  } finally {
    writer.close();
  }
  const untrusted = new NatsReplicaClient(`${server.url("db")}?tls=true`, {
    env: {},
  });
  try {
    await assert.rejects(untrusted.listFiles(0), (error: unknown) => {
      assert.ok(error instanceof StorageError, String(error));
      assert.match(error.message, /^NATS list .*certificate/i);
      assert.equal(error.retryable, false);
      return true;
    });
  } finally {
    untrusted.close();
  }
});

Deno.test("NATS: a missing bucket is a clear, final error naming it", async () => {
  await using server = await startNatsServer();
  const client = new NatsReplicaClient(server.url("db", "no-such-bucket"), {
    env: server.env,
  });
  try {
    const started = performance.now();
    await assert.rejects(client.listFiles(0), (error: unknown) => {
      assert.ok(error instanceof StorageError, String(error));
      assert.equal(error.retryable, false);
      assert.match(
        error.message,
        /^NATS list "db\/ltx\/" in bucket "no-such-bucket" \(nats:\/\/127\.0\.0\.1:\d+\/no-such-bucket\/db\): no such object store bucket; create it first \("nats object store add no-such-bucket"\)/,
      );
      return true;
    });
    assert.ok(performance.now() - started < 3_000);
  } finally {
    client.close();
  }
  // Through open(): the engine's error says so too.
  const restore = withEnv(server.env);
  try {
    assert.throws(
      () => open(server.url("db", "no-such-bucket")),
      (error: unknown) => {
        assert.ok(error instanceof SqliteError, String(error));
        assert.match(
          error.message,
          /NATS.*no such object store bucket.*no-such-bucket/,
        );
        return true;
      },
    );
  } finally {
    restore();
  }
});

Deno.test("NATS: nothing listening is a retryable error within the retry budget", async () => {
  const port = freePort();
  const client = new NatsReplicaClient(`nats://127.0.0.1:${port}/b/db`, {
    env: {},
    retryBudgetMs: 1_000,
  });
  try {
    const started = performance.now();
    await assert.rejects(client.listFiles(0), (error: unknown) => {
      assert.ok(error instanceof StorageError, String(error));
      assert.equal(error.retryable, true);
      const attempts =
        /^NATS list .*cannot connect to the NATS server.*gave up after (\d+) attempts/
          .exec(error.message);
      assert.ok(attempts, error.message);
      // Tried again, not given up at once; when the last try ends depends
      // on the backoff, not on the clock, so no lower bound on the time.
      assert.ok(Number(attempts[1]) >= 2, error.message);
      return true;
    });
    const ms = performance.now() - started;
    assert.ok(ms < 2_000, `took ${ms} ms`);
  } finally {
    client.close();
  }
  // Through open(), with the default budget.
  const started = performance.now();
  assert.throws(
    () => open(`nats://127.0.0.1:${port}/b/db`),
    (error: unknown) => {
      assert.ok(error instanceof SqliteError, String(error));
      assert.match(error.message, /NATS.*gave up after \d+ attempts/);
      return true;
    },
  );
  assert.ok(performance.now() - started < 15_000);
});

Deno.test("NATS: a server that stops answering is retryable within the budget; reads go on once it is back", async () => {
  await using dir = await tempDir();
  await using server = await startNatsServer();
  await makeLitestreamReplica(`${dir}/replica`, SCHEMA.slice(0, 2));
  await server.upload(`${dir}/replica`, "db");
  const client = new NatsReplicaClient(server.url("db"), {
    env: server.env,
    retryBudgetMs: 1_500,
    requestTimeoutMs: 300,
  });
  try {
    const [first, second] = await client.listFiles(0);
    assert.ok(second.size > 200_000);
    // Connected, the listing done: then the server freezes (SIGSTOP),
    // its socket open, answering nothing.
    server.pause();
    await assertGivesUp(
      () => client.readRange(second, second.size - 10, 10),
      {
        matches: [/^NATS read .*no answer within \d+ ms/],
        never: [new RegExp(server.env.NATS_PASSWORD)],
        withinMs: 3_000,
      },
    );
    server.resume();
    const bytes = await client.readRange(second, second.size - 10, 10);
    assert.equal(bytes.length, 10);
    // Killed and started again on the same port and store: the client
    // reconnects and finds the files.
    await server.kill();
    await assert.rejects(client.listFiles(0), (error: unknown) => {
      assert.ok(error instanceof StorageError, String(error));
      assert.equal(error.retryable, true, error.message);
      return true;
    });
    await server.restart();
    const again = new Uint8Array(
      await client.readRange(first, 0, first.size),
    );
    assert.equal(again.length, first.size);
    assert.equal((await client.listFiles(0)).length, 2);
  } finally {
    server.resume();
    client.close();
  }
});
