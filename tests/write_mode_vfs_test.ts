/**
 * Write mode through the VFS, in one process: SQLite writes through
 * `open(url, { write: true })` on replicas Litestream's extension wrote,
 * and what it committed must read back (rows and `integrity_check`)
 * through a fresh process of ours and through Litestream's extension; one
 * writer at a time, readers meanwhile, each commit seen by the next read;
 * conflicts refused and kept; failed uploads kept and tried again; time
 * travel read-only; a new database from an empty replica, page size
 * included. Killed processes and racing processes are in
 * `write_processes_test.ts`.
 */

import assert from "node:assert/strict";
import { ConflictError, open, type OpenOptions, SqliteError } from "../mod.ts";
import { WriteBuffer } from "../src/engine/write_buffer.ts";
import { SQLITE_BUSY, SQLITE_READONLY } from "../src/sqlite/constants.ts";
import { Database as PlainDatabase } from "../src/sqlite/mod.ts";
import { clientEnv, ourExtension, sqlite3Script } from "./_extension.ts";
import {
  listLtxFiles,
  makeLitestreamReplica,
  queryWithLitestream,
  writeWithLitestream,
} from "./_litestream.ts";
import { S3RVER_ENV, startS3Server } from "./_s3.ts";
import { series } from "./_sql.ts";

const SEED = [
  "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)",
  `INSERT INTO t (body) SELECT printf('seed %d', value) FROM ${series(300)}`,
];
const SUMMARY = "SELECT count(*) AS n, total(length(body)) AS bytes FROM t";

/** A temporary folder with a replica Litestream's extension wrote. */
async function litestreamReplica(): Promise<
  { dir: string; replica: string; url: string } & AsyncDisposable
> {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-write-vfs-" });
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, SEED);
  return {
    dir,
    replica,
    url: `file://${replica}`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

function writeOptions(dir: string, more: OpenOptions = {}): OpenOptions {
  return {
    write: true,
    bufferPath: `${dir}/buffer`,
    syncInterval: "1h",
    ...more,
  };
}

/** The same statements on a plain SQLite copy: what the replica must hold. */
class Reference {
  #db = new PlainDatabase(":memory:");

  constructor(seed: readonly string[]) {
    this.#db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)");
    for (const sql of seed.slice(1)) this.#db.exec(sql);
  }

  exec(sql: string): void {
    this.#db.exec(sql);
  }

  rows(): unknown[][] {
    using statement = this.#db.prepare("SELECT id, body FROM t ORDER BY id");
    return statement.values();
  }

  [Symbol.dispose](): void {
    this.#db.close();
  }
}

function rowsOf(db: { values(sql: string): unknown[][] }): unknown[][] {
  return db.values("SELECT id, body FROM t ORDER BY id");
}

function sqliteCode(error: unknown): number | undefined {
  return error instanceof SqliteError ? error.code : undefined;
}

Deno.test("many transactions with syncs between them read back through a fresh process of ours and through Litestream's extension", async () => {
  await using r = await litestreamReplica();
  using reference = new Reference(SEED);
  const txidBefore = (await listLtxFiles(r.replica)).at(-1)!.maxTxid;
  {
    using db = open(r.url, writeOptions(r.dir));
    for (let round = 0; round < 12; round++) {
      const statements = [
        `INSERT INTO t (body) SELECT printf('round ${round} row %d ', value) || hex(randomblob(40)) FROM ${
          series(25)
        }`,
        `UPDATE t SET body = body || ' u${round}' WHERE id % ${round + 3} = 0`,
        `DELETE FROM t WHERE id % 17 = ${round}`,
      ];
      for (const sql of statements) {
        db.exec(sql);
        // randomblob() differs between the two: copy the rows it made.
        if (sql.startsWith("INSERT")) {
          for (
            const [id, body] of db.values(
              `SELECT id, body FROM t WHERE body LIKE 'round ${round} row %'`,
            )
          ) {
            reference.exec(
              `INSERT OR REPLACE INTO t (id, body) VALUES (${id}, '${body}')`,
            );
          }
        } else {
          reference.exec(sql);
        }
      }
      // Unsynced commits are seen by the writer's own reads...
      assert.deepEqual(rowsOf(db), reference.rows());
      // ...and a sync every third round uploads what piled up.
      if (round % 3 === 2) {
        const txid = BigInt(`0x${db.sync()}`);
        assert.equal(txid, txidBefore + BigInt((round + 1) / 3));
      }
    }
    assert.deepEqual(db.get("PRAGMA integrity_check"), {
      integrity_check: "ok",
    });
  }
  // Closing synced nothing more: every commit was in a sync already.
  const files = await listLtxFiles(r.replica);
  assert.equal(files.at(-1)!.maxTxid, txidBefore + 4n);
  assert.equal(
    files.filter((f) => f.level === 0 && f.minTxid > txidBefore).length,
    4,
  );

  const expected = reference.rows();
  const lines = expected.map(([id, body]) => `${id}|${body}`).join("\n");
  const ours = await sqlite3Script(
    `.load ${ourExtension()}\n.open file:fresh.db?vfs=litestream\nPRAGMA integrity_check;\nSELECT id, body FROM t ORDER BY id;\n`,
    { env: clientEnv({ LITESTREAM_REPLICA_URL: r.url }), cwd: r.dir },
  );
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(ours.stdout.trimEnd(), `ok\n${lines}`);
  const theirs = await queryWithLitestream(
    r.replica,
    "PRAGMA integrity_check; SELECT id, body FROM t ORDER BY id;",
  );
  assert.equal(theirs.trimEnd(), `ok\n${lines}`);
});

Deno.test("a new database from an empty replica takes PRAGMA page_size, and Litestream's extension reads it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-write-new-" });
  try {
    const url = `file://${dir}/replica`;
    {
      using db = open(url, writeOptions(dir));
      assert.deepEqual(db.replicaState().txid, "0000000000000000");
      db.exec("PRAGMA page_size = 8192");
      db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)");
      db.exec(
        `INSERT INTO t (body) SELECT printf('new %d', value) FROM ${
          series(500)
        }`,
      );
      assert.deepEqual(db.get("PRAGMA page_size"), { page_size: 8192 });
      assert.equal(db.sync(), "0000000000000001");
    }
    using db = open(url);
    assert.deepEqual(db.get("PRAGMA page_size"), { page_size: 8192 });
    assert.deepEqual(db.get("SELECT count(*) AS n FROM t"), { n: 500 });
    const theirs = await queryWithLitestream(
      `${dir}/replica`,
      "PRAGMA page_size; SELECT count(*) FROM t; PRAGMA integrity_check;",
    );
    assert.equal(theirs.trimEnd(), "8192\n500\nok");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("one connection writes at a time; the others read meanwhile and see each commit at their next read", async () => {
  await using r = await litestreamReplica();
  using writer = open(r.url, writeOptions(r.dir));
  using second = open(r.url, writeOptions(r.dir));
  using reader = open(r.url);
  const count = (db: typeof reader) =>
    db.get<{ n: number }>("SELECT count(*) AS n FROM t")!.n;
  writer.exec("BEGIN IMMEDIATE");
  writer.exec("INSERT INTO t (body) VALUES ('first')");
  // A second writer is refused while the first holds the write lock...
  assert.throws(
    () => second.exec("BEGIN IMMEDIATE"),
    (error: unknown) =>
      sqliteCode(error) === SQLITE_BUSY &&
      /one writer at a time/.test((error as Error).message),
  );
  // ...while readers go on, without the transaction under way.
  assert.equal(count(reader), 300);
  assert.equal(count(second), 300);
  writer.exec("COMMIT");
  assert.equal(count(reader), 301, "a commit is seen before any sync");
  assert.equal(count(second), 301);
  // The commit waits for readers mid-read: SQLITE_BUSY, then it goes.
  writer.exec("BEGIN IMMEDIATE");
  writer.exec("INSERT INTO t (body) VALUES ('second')");
  const rows = reader.prepare("SELECT id FROM t");
  const iterator = rows.iter();
  iterator.next();
  assert.throws(
    () => writer.exec("COMMIT"),
    (e) => sqliteCode(e) === SQLITE_BUSY,
  );
  iterator.return?.(undefined);
  rows.finalize();
  writer.exec("COMMIT");
  assert.equal(count(reader), 302);
  // The second connection writes once the first is done.
  second.exec("INSERT INTO t (body) VALUES ('third')");
  assert.equal(count(writer), 303);
  writer.sync();
  assert.equal(count(reader), 303);
});

Deno.test("ROLLBACK, and a transaction that spilled pages before rolling back, leave nothing behind", async () => {
  await using r = await litestreamReplica();
  using db = open(r.url, writeOptions(r.dir));
  const before = db.get(SUMMARY);
  db.exec("BEGIN");
  db.exec("UPDATE t SET body = 'gone'");
  db.exec("ROLLBACK");
  assert.deepEqual(db.get(SUMMARY), before);
  // A pager cache of a few pages spills a big transaction to the file.
  db.exec("PRAGMA cache_size = 8");
  db.exec("BEGIN");
  db.exec(
    `INSERT INTO t (body) SELECT hex(randomblob(200)) FROM ${series(3000)}`,
  );
  db.exec("ROLLBACK");
  assert.deepEqual(db.get(SUMMARY), before);
  assert.deepEqual(db.get("PRAGMA integrity_check"), { integrity_check: "ok" });
  // And the same transaction committed holds.
  db.exec(
    `INSERT INTO t (body) SELECT hex(randomblob(200)) FROM ${series(3000)}`,
  );
  db.sync();
  using fresh = open(r.url);
  assert.deepEqual(fresh.get("SELECT count(*) AS n FROM t"), { n: 3300 });
  assert.deepEqual(fresh.get("PRAGMA integrity_check"), {
    integrity_check: "ok",
  });
});

Deno.test("time travel is read-only until LATEST", async () => {
  await using r = await litestreamReplica();
  using db = open(r.url, writeOptions(r.dir));
  db.exec("INSERT INTO t (body) VALUES ('now')");
  db.sync();
  db.setTime(new Date(Date.now() + 60_000).toISOString());
  assert.throws(
    () => db.exec("INSERT INTO t (body) VALUES ('in the past')"),
    (error: unknown) =>
      sqliteCode(error) === SQLITE_READONLY &&
      /travels in time/.test((error as Error).message),
  );
  db.setTime("LATEST");
  db.exec("INSERT INTO t (body) VALUES ('back')");
  assert.deepEqual(db.get("SELECT count(*) AS n FROM t"), { n: 302 });
});

Deno.test("a writer that another writer beat is refused with SQLITE_BUSY, and its transactions stay in its buffer", async () => {
  await using r = await litestreamReplica();
  const bufferPath = `${r.dir}/buffer`;
  {
    using db = open(r.url, writeOptions(r.dir, { pollInterval: 10 }));
    db.exec("INSERT INTO t (body) VALUES ('mine, never uploaded')");
    // Another writer (Litestream's extension) moves the replica on.
    await writeWithLitestream(r.url, [
      "INSERT INTO t (body) VALUES ('theirs')",
    ]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const conflict = (error: unknown) =>
      sqliteCode(error) === SQLITE_BUSY &&
      (error as Error).cause instanceof ConflictError &&
      ((error as Error).cause as ConflictError).bufferPath === bufferPath &&
      (error as Error).message.includes(bufferPath) &&
      /Another writer moved/.test((error as Error).message);
    assert.throws(() => db.sync(), conflict);
    assert.throws(
      () => db.exec("INSERT INTO t (body) VALUES ('more')"),
      conflict,
    );
    // Reads go on, over this writer's own state.
    assert.deepEqual(db.get("SELECT count(*) AS n FROM t"), { n: 301 });
  }
  // Nothing of ours was uploaded; theirs is there.
  const theirs = await queryWithLitestream(
    r.replica,
    "SELECT count(*), sum(body = 'theirs'), sum(body LIKE 'mine%') FROM t;",
  );
  assert.equal(theirs.trimEnd(), "301|1|0");
  // The buffer still holds the transaction, and a new process says so.
  const kept = WriteBuffer.open(bufferPath, 4096, { txid: 0n, checksum: 0n });
  assert.equal(kept.transactions, 1);
  kept.close();
  {
    using db = open(r.url, writeOptions(r.dir));
    assert.throws(
      () => db.exec("INSERT INTO t (body) VALUES ('again')"),
      (error: unknown) =>
        sqliteCode(error) === SQLITE_BUSY &&
        (error as Error).message.includes(bufferPath),
    );
    // It serves the replica as it is.
    assert.deepEqual(db.get("SELECT count(*) AS n FROM t"), { n: 301 });
  }
  // With the buffer moved away, writing starts again on the new base.
  await Deno.rename(bufferPath, `${bufferPath}.conflict`);
  using db = open(r.url, writeOptions(r.dir));
  db.exec("INSERT INTO t (body) VALUES ('after the conflict')");
  db.sync();
  assert.deepEqual(db.get("SELECT count(*) AS n FROM t"), { n: 302 });
});

Deno.test("on s3://, failed uploads keep the transactions in the buffer, and a later sync uploads them", async () => {
  await using s3 = await startS3Server();
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-write-s3-" });
  try {
    await makeLitestreamReplica(`${dir}/seed`, SEED);
    await s3.upload(`${dir}/seed`, "db");
    for (const [name, value] of Object.entries(S3RVER_ENV)) {
      Deno.env.set(name, value);
    }
    Deno.env.set("LITESTREAM_S3_ENDPOINT", s3.endpoint);
    const url = `s3://${s3.bucket}/db`;
    using db = open(url, writeOptions(dir, { syncInterval: 50 }));
    db.exec("INSERT INTO t (body) VALUES ('while the server is down')");
    await s3.setFaults({ down: true });
    // Commits go on: they are durable in the buffer.
    db.exec("INSERT INTO t (body) VALUES ('still down')");
    assert.throws(() => db.sync(), (e) => e instanceof SqliteError);
    await s3.setFaults({ putErrorEvery: 1 });
    assert.throws(() => db.sync(), (e) => e instanceof SqliteError);
    assert.equal((await s3.faultsInjected()).errors > 0, true);
    await s3.clearFaults();
    // The timer's retry, or this sync, uploads both transactions at once.
    const txid = db.sync();
    assert.deepEqual(db.get("SELECT count(*) AS n FROM t"), { n: 302 });
    using fresh = open(url);
    assert.deepEqual(fresh.replicaState().txid, txid);
    assert.deepEqual(fresh.get("SELECT count(*) AS n FROM t"), { n: 302 });
  } finally {
    for (const name of [...Object.keys(S3RVER_ENV), "LITESTREAM_S3_ENDPOINT"]) {
      Deno.env.delete(name);
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("on s3://, a poller's listing from before this writer's own upload is not another writer", async () => {
  await using s3 = await startS3Server();
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-write-s3-poll-" });
  const env = { ...S3RVER_ENV, LITESTREAM_S3_ENDPOINT: s3.endpoint };
  for (const [name, value] of Object.entries(env)) Deno.env.set(name, value);
  try {
    await makeLitestreamReplica(`${dir}/seed`, SEED);
    await s3.upload(`${dir}/seed`, "db");
    const url = `s3://${s3.bucket}/db`;
    using db = open(
      url,
      writeOptions(dir, { syncInterval: 100, pollInterval: 100 }),
    );
    // Commits at a steady pace: syncs at the interval land between the
    // storage worker's polls, whose listings lag behind them.
    for (let i = 0; i < 150; i++) {
      db.exec(`INSERT INTO t (body) VALUES ('paced ${i}')`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const txid = BigInt(`0x${db.sync()}`);
    assert.ok(txid >= 4n, `only ${txid - 2n} sync(s) happened`);
    using fresh = open(url);
    assert.deepEqual(fresh.get("SELECT count(*) AS n FROM t"), { n: 450 });
  } finally {
    for (const name of Object.keys(env)) Deno.env.delete(name);
    await Deno.remove(dir, { recursive: true });
  }
});
