/**
 * The tests every storage backend passes, against its real server on
 * 127.0.0.1: a replica Litestream's extension wrote to `file://` and that
 * was copied in reads like its `file://` twin and is polled for new
 * transactions; time travel lands on the same states; write mode
 * round-trips, and create-only uploads let exactly one of two racing
 * writers win; wrong credentials and a missing bucket (container, ...)
 * fail with an error naming the backend. A backend's test module calls
 * {@linkcode backendSuite} with a harness that starts its server.
 *
 * @module
 */

import assert from "node:assert/strict";
import { open, SqliteError } from "../mod.ts";
import { decodeHeader, formatTxid } from "../src/ltx/mod.ts";
import {
  FileExistsError,
  openSyncReplicaClient,
  type SyncReplicaClient,
} from "../src/storage/mod.ts";
import { makeLitestreamReplica } from "./_litestream.ts";
import { series } from "./_sql.ts";

/** A backend's server, started for one test, and how to reach it. */
export interface BackendHarness extends AsyncDisposable {
  /** The backend's name as its errors say it ("S3", "GCS", "Azure"...). */
  readonly name: string;
  /** The replica URL of a path in the harness's bucket (container, ...). */
  url(path: string): string;
  /** Environment variables the engine reads to reach it (credentials...). */
  readonly env: Readonly<Record<string, string>>;
  /** Copies a local replica (the folder that holds `ltx/`) to a path. */
  upload(dir: string, path: string): Promise<void>;
  /** A URL and environment with wrong credentials for a path. */
  badCredentials(path: string): {
    url: string;
    env: Readonly<Record<string, string>>;
  };
  /** The URL of a path in a bucket (container, ...) that does not exist. */
  missingBucket(path: string): string;
}

const SCHEMA = [
  "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
  `INSERT INTO t (v) SELECT printf('row %05d %s', value, hex(randomblob(40))) FROM ${
    series(2000)
  }`,
  "CREATE INDEX t_v ON t (v)",
  "UPDATE t SET v = upper(v) WHERE id % 7 = 0",
];
const QUERY = "SELECT id, v FROM t ORDER BY v";

/** Sets variables for the duration of a test; the returned function restores them. */
function withEnv(env: Readonly<Record<string, string>>): () => void {
  const before = new Map(
    Object.keys(env).map((name) => [name, Deno.env.get(name)]),
  );
  for (const [name, value] of Object.entries(env)) Deno.env.set(name, value);
  return () => {
    for (const [name, value] of before) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  };
}

async function tempDir(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lsvfs-backend-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  });
}

/** Waits until `check` holds, failing after `ms`. */
async function eventually(
  what: string,
  check: () => boolean,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    assert.ok(Date.now() < deadline, `${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Registers the shared tests for one backend.
 *
 * @param name The backend, in the tests' names.
 * @param start Starts the backend's server; each test starts its own and
 * disposes of it.
 */
export function backendSuite(
  name: string,
  start: () => Promise<BackendHarness>,
): void {
  Deno.test(`${name}: a replica Litestream wrote to file:// and copied in reads like its twin, and is polled`, async () => {
    await using dir = await tempDir();
    await using server = await start();
    const restore = withEnv(server.env);
    try {
      const replica = `${dir}/replica`;
      await makeLitestreamReplica(replica, SCHEMA);
      await server.upload(replica, "db");
      using remote = open(server.url("db"), { pollInterval: 50 });
      using local = open(`file://${replica}`);
      assert.deepEqual(remote.query(QUERY), local.query(QUERY));
      assert.deepEqual(remote.get("PRAGMA integrity_check"), {
        integrity_check: "ok",
      });
      assert.equal(remote.replicaState().txid, local.replicaState().txid);
      await makeLitestreamReplica(replica, [
        "INSERT INTO t (v) VALUES ('new')",
      ]);
      await server.upload(replica, "db");
      await eventually(
        "the new transaction shows up",
        () =>
          remote.get<{ n: number }>("SELECT count(*) AS n FROM t")!.n === 2001,
      );
      assert.deepEqual(remote.get("SELECT v FROM t WHERE id = 2001"), {
        v: "new",
      });
    } finally {
      restore();
    }
  });

  Deno.test(`${name}: time travel lands on the states it does on file://`, async () => {
    await using dir = await tempDir();
    await using server = await start();
    const restore = withEnv(server.env);
    try {
      const replica = `${dir}/replica`;
      await makeLitestreamReplica(replica, SCHEMA);
      await server.upload(replica, "db");
      using remote = open(server.url("db"));
      using local = open(`file://${replica}`);
      const summary = "SELECT count(*) AS n, max(v) AS v FROM t";
      const times = [...Deno.readDirSync(`${replica}/ltx/0`)]
        .map((e) => e.name).sort().map((file) => {
          const bytes = Deno.readFileSync(`${replica}/ltx/0/${file}`);
          return new Date(decodeHeader(bytes, file).timestamp).toISOString();
        });
      for (const [i, time] of times.entries()) {
        remote.setTime(time);
        local.setTime(time);
        assert.equal(remote.replicaState().txid, formatTxid(BigInt(i + 1)));
        if (i > 0) assert.deepEqual(remote.get(summary), local.get(summary));
      }
      remote.setTime("LATEST");
      assert.deepEqual(remote.get(summary), {
        n: 2000,
        v: local.get(summary)!.v,
      });
    } finally {
      restore();
    }
  });

  Deno.test(`${name}: write mode round-trips, and of two racing uploads exactly one wins`, async () => {
    await using dir = await tempDir();
    await using server = await start();
    const restore = withEnv(server.env);
    let client: SyncReplicaClient | undefined;
    try {
      const replica = `${dir}/replica`;
      await makeLitestreamReplica(replica, SCHEMA.slice(0, 2));
      await server.upload(replica, "db");
      {
        using db = open(server.url("db"), {
          write: true,
          bufferPath: `${dir}/buffer`,
          syncInterval: "1h",
        });
        db.exec("INSERT INTO t (v) VALUES ('written through the VFS')");
        db.exec("UPDATE t SET v = lower(v) WHERE id <= 10");
        assert.equal(db.sync(), formatTxid(3n));
      }
      using fresh = open(server.url("db"));
      assert.deepEqual(fresh.replicaState().txid, formatTxid(3n));
      assert.deepEqual(
        fresh.get("SELECT count(*) AS n, max(id) AS last FROM t"),
        { n: 2001, last: 2001 },
      );
      assert.deepEqual(fresh.get("PRAGMA integrity_check"), {
        integrity_check: "ok",
      });
      // Create-only: the second writer of a name gets FileExistsError.
      client = openSyncReplicaClient(server.url("race"));
      const file = { level: 0, minTxid: 1n, maxTxid: 1n };
      client.createFileSync!(file, new Uint8Array([1, 2, 3]));
      assert.throws(
        () => client!.createFileSync!(file, new Uint8Array([4, 5, 6])),
        FileExistsError,
      );
      const [stored] = client.listFilesSync(0);
      assert.deepEqual(
        client.readRangeSync(stored, 0, stored.size),
        new Uint8Array([1, 2, 3]),
      );
    } finally {
      client?.close();
      restore();
    }
  });

  Deno.test(`${name}: wrong credentials and a missing bucket fail with an error naming the backend`, async () => {
    await using dir = await tempDir();
    await using server = await start();
    const replica = `${dir}/replica`;
    await makeLitestreamReplica(replica, SCHEMA.slice(0, 1));
    await server.upload(replica, "db");
    const named = new RegExp(server.name, "i");
    const bad = server.badCredentials("db");
    let restore = withEnv({ ...server.env, ...bad.env });
    try {
      assert.throws(() => open(bad.url), (error: unknown) => {
        assert.ok(error instanceof SqliteError, String(error));
        assert.match(error.message, named);
        return true;
      });
    } finally {
      restore();
    }
    restore = withEnv(server.env);
    try {
      assert.throws(
        () => open(server.missingBucket("db")),
        (error: unknown) => {
          assert.ok(error instanceof SqliteError, String(error));
          assert.match(error.message, named);
          return true;
        },
      );
    } finally {
      restore();
    }
  });
}
