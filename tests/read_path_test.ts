/**
 * The read path end to end: replicas written by Litestream's own extension
 * (and, for layouts it cannot make, by our encoder), opened with `open()`
 * through the C shim and the engine, queried with real libsqlite3.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cacheStats, open, SqliteError } from "../mod.ts";
import { SQLITE_CANTOPEN, SQLITE_CORRUPT } from "../src/sqlite/mod.ts";
import { Database as PlainDatabase } from "../src/sqlite/mod.ts";
import { decodeFile } from "../src/ltx/mod.ts";
import { random } from "../src/ltx/_test_util.ts";
import { ReplicaWriter } from "../tasks/_replica_writer.ts";
import { hydrateWithLitestream, makeLitestreamReplica } from "./_litestream.ts";
import { series } from "./_sql.ts";

const TRANSACTIONS = [
  "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT, n REAL, b BLOB)",
  `INSERT INTO t (body, n, b) SELECT printf('row %d', value), value / 7.0, randomblob(value % 300) FROM ${
    series(400)
  }`,
  "UPDATE t SET body = upper(body) WHERE id % 5 = 0",
  "DELETE FROM t WHERE id % 7 = 0",
  "CREATE INDEX t_body ON t (body)",
];

const QUERY = "SELECT id, body, n, b FROM t ORDER BY id";

/** The rows of `sql` from a plain SQLite file. */
function plainRows(path: string, sql: string): unknown[] {
  using db = new PlainDatabase(path, { readonly: true });
  using statement = db.prepare(sql);
  return statement.all();
}

async function tempDir(): Promise<string & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-read-" });
  return Object.assign(dir, {
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  }) as string & AsyncDisposable;
}

for (const pageSize of [512, 1024, 4096, 65536]) {
  Deno.test(`open() reads a Litestream replica with ${pageSize}-byte pages`, async () => {
    await using dir = await tempDir();
    const replica = `${dir}/replica`;
    await makeLitestreamReplica(replica, TRANSACTIONS, { pageSize });
    await hydrateWithLitestream(replica, `${dir}/restored.db`);

    using db = open(`file://${replica}`);
    assert.equal(db.get("PRAGMA page_size")?.page_size, pageSize);
    assert.deepEqual(db.get("PRAGMA integrity_check"), {
      integrity_check: "ok",
    });
    const ours = db.query(QUERY);
    assert.equal(ours.length, 400 - Math.floor(400 / 7));
    assert.deepEqual(ours, plainRows(`${dir}/restored.db`, QUERY));
  });
}

/** A replica of about 45 MB, made once by Litestream's extension. */
let bigReplica: Promise<{ dir: string; root: string }> | undefined;
function makeBigReplica() {
  return bigReplica ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "lsvfs-big-" });
    const root = `${dir}/replica`;
    await makeLitestreamReplica(root, [
      "CREATE TABLE big (id INTEGER PRIMARY KEY, body BLOB)",
      ...Array.from(
        { length: 4 },
        () =>
          `INSERT INTO big (body) SELECT randomblob(1000) FROM ${
            series(11000)
          }`,
      ),
    ]);
    return { dir, root };
  })();
}

Deno.test("open() scans a 45 MB replica, over the default cache, with the cache bounded", async () => {
  const { root } = await makeBigReplica();
  for (const fastPath of [true, false]) {
    const before = cacheStats();
    {
      using db = open(`file://${root}`, { fastPath });
      assert.deepEqual(
        db.get("SELECT count(*) AS n, sum(length(body)) AS bytes FROM big"),
        { n: 44000, bytes: 44_000_000 },
      );
      assert.deepEqual(db.get("PRAGMA integrity_check"), {
        integrity_check: "ok",
      });
      // Every file's cache stays within its 10 MiB bound.
      const now = cacheStats()!;
      assert.ok(now.bytes <= now.maxBytes, JSON.stringify(now));
    }
    const stats = cacheStats()!;
    const evictions = stats.evictions - (before?.evictions ?? 0);
    const engineReads = stats.engineReads - (before?.engineReads ?? 0);
    // Two passes over 11,000 pages through a 2,560-page cache: pages are
    // evicted. Misses are decoded in C (the fast path), or else read from
    // the engine mostly in read-ahead runs.
    assert.ok(evictions > 10_000, `${evictions} evictions`);
    if (fastPath) {
      assert.equal(engineReads, 1, "engine reads: page 1");
    } else {
      assert.ok(engineReads < 2_000, `${engineReads} engine reads`);
    }
  }
});

/** A digest of query results, row by row. */
function digestOf(rows: Iterable<unknown[]>): string {
  const hash = createHash("sha256");
  for (const row of rows) {
    for (const value of row) {
      hash.update(value instanceof Uint8Array ? value : String(value));
      hash.update("\x00");
    }
  }
  return hash.digest("hex");
}

Deno.test("the fast path: after open, a full scan and 20,000 random lookups make no engine page read", async () => {
  const { dir, root } = await makeBigReplica();
  const restored = `${dir}/restored-fast.db`;
  await hydrateWithLitestream(root, restored);
  using plain = new PlainDatabase(restored, { readonly: true });
  const next = random(13);
  const ids = Array.from(
    { length: 20_000 },
    () => 1 + Math.floor(next() * 44000),
  );
  const run = (
    all: (sql: string) => unknown[][],
    get: (id: number) => unknown[],
  ) => ({
    scan: digestOf(all("SELECT id, body FROM big ORDER BY id")),
    lookups: digestOf(ids.map(get)),
  });
  const want = (() => {
    using lookup = plain.prepare("SELECT id, body FROM big WHERE id = ?");
    return run(
      (sql) => plain.prepare(sql).values() as unknown[][],
      (id) => lookup.values(id)[0] as unknown[],
    );
  })();

  for (const fastPath of [true, false]) {
    using db = open(`file://${root}`, {
      fastPath,
      name: `fast-${fastPath}.db`,
    });
    db.get("SELECT 1 FROM big LIMIT 1"); // the open: page 1, the schema
    const before = cacheStats()!;
    using lookup = db.prepare("SELECT id, body FROM big WHERE id = ?");
    const got = run(
      (sql) => db.prepare(sql).values() as unknown[][],
      (id) => lookup.values(id)[0] as unknown[],
    );
    const after = cacheStats()!;
    assert.deepEqual(got, want, `results with fastPath ${fastPath}`);
    const engineReads = after.engineReads - before.engineReads;
    if (fastPath) {
      assert.equal(engineReads, 0, "engine page reads");
      assert.ok(after.localReads - before.localReads > 11_000);
    } else {
      assert.ok(engineReads > 1000, `${engineReads} engine page reads`);
    }
  }
});

Deno.test("four connections interleaving reads through small caches agree with plain SQLite", async () => {
  const { dir, root } = await makeBigReplica();
  const restored = `${dir}/restored-interleaved.db`;
  await hydrateWithLitestream(root, restored);
  using plain = new PlainDatabase(restored, { readonly: true });
  using lookup = plain.prepare("SELECT body FROM big WHERE id = ?");
  const connections = [64, 128, 1024, 4096].map((kib) =>
    open(`file://${root}`, { cacheSize: kib * 1024, name: `c${kib}.db` })
  );
  try {
    const next = random(7);
    // Each step, every connection looks up a row: random ones, and runs of
    // neighbours (read-ahead), so the caches evict all the time.
    for (let step = 0; step < 400; step++) {
      for (const [i, db] of connections.entries()) {
        const id = step % 3 === 0
          ? 1 + Math.floor(next() * 44000)
          : 1 + ((step * 97 + i * 11000) % 44000);
        assert.deepEqual(
          db.get("SELECT body FROM big WHERE id = ?", id),
          lookup.get(id),
          `connection ${i}, row ${id}`,
        );
      }
    }
    const stats = cacheStats()!;
    assert.ok(stats.evictions > 500, `${stats.evictions} evictions`);
    assert.ok(stats.bytes <= stats.maxBytes, JSON.stringify(stats));
  } finally {
    for (const db of connections) db.close();
  }
});

Deno.test("open() keeps memory bounded by the cache on a scan of a database 5x its size", async () => {
  const { root } = await makeBigReplica();
  // A fresh process for each, so the figure is this scan's alone. The
  // verification worker is a thread of its own (a V8 isolate) reading
  // 1 MiB at a time: it is measured apart.
  const growth = async (verify: string) => {
    const script = `
      import { open } from "${new URL("../mod.ts", import.meta.url)}";
      using db = open("file://${root}", {
        cacheSize: 8 * 1024 * 1024,
        verify: "${verify}",
      });
      db.get("SELECT id FROM big LIMIT 1");
      const before = Deno.memoryUsage().rss;
      for (let i = 0; i < 3; i++) db.get("SELECT sum(length(body)) FROM big");
      while (db.status().pending > 0) await new Promise((r) => setTimeout(r, 20));
      console.log(JSON.stringify({ before, after: Deno.memoryUsage().rss }));
    `;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", script],
      stderr: "inherit",
    }).output();
    assert.ok(output.success);
    const { before, after } = JSON.parse(
      new TextDecoder().decode(output.stdout),
    );
    const growthMiB = (after - before) / 2 ** 20;
    console.log(
      `verify=${verify}: RSS ${(before / 2 ** 20).toFixed(0)} -> ${
        (after / 2 ** 20).toFixed(0)
      } MiB (+${
        growthMiB.toFixed(1)
      } MiB) after 3 scans of 45 MB with an 8 MiB cache`,
    );
    return growthMiB;
  };
  // Holding the database would add 45 MB; the cache, SQLite's own 2 MB and
  // the page index stay well under that.
  const off = await growth("off");
  assert.ok(off < 30, `RSS grew ${off.toFixed(1)} MiB`);
  // The worker adds its own heap (an isolate with the LTX and storage
  // modules, a 1 MiB read buffer) and nothing that grows with the data.
  const background = await growth("background");
  assert.ok(background < 60, `RSS grew ${background.toFixed(1)} MiB`);
});

Deno.test("open() sees new transactions after polling, never inside a read transaction", async () => {
  await using dir = await tempDir();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, [
    "CREATE TABLE t (x)",
    "INSERT INTO t VALUES (1)",
  ]);
  using db = open(replica, { pollInterval: 50 });
  const count = () => db.get<{ n: number }>("SELECT count(*) AS n FROM t")!.n;
  assert.equal(count(), 1);

  db.exec("BEGIN");
  assert.equal(count(), 1);
  await makeLitestreamReplica(replica, [
    `INSERT INTO t SELECT value FROM ${series(2000)}`,
  ]);
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.equal(count(), 1, "the open read transaction keeps its view");
  db.exec("COMMIT");
  assert.equal(count(), 2001, "the next read transaction sees the new data");

  await makeLitestreamReplica(replica, ["DELETE FROM t WHERE x > 10"]);
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.equal(count(), 11);
  assert.deepEqual(db.get("PRAGMA integrity_check"), { integrity_check: "ok" });
});

Deno.test("open() reads a snapshot + level-1 + level-0 replica like its level-0 twin", async () => {
  await using dir = await tempDir();
  const source = new PlainDatabase(`${dir}/source.db`);
  const layered = new ReplicaWriter(`${dir}/layered`, 4096);
  const flat = new ReplicaWriter(`${dir}/flat`, 4096);
  const commit = (sql: string) => {
    source.exec(sql);
    const bytes = Deno.readFileSync(`${dir}/source.db`);
    layered.commit(bytes);
    flat.commit(bytes);
  };
  commit("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)");
  for (let i = 1; i <= 6; i++) {
    commit(
      `INSERT INTO t (body) SELECT randomblob(200) FROM ${series(50 * i)}`,
    );
  }
  commit("DELETE FROM t WHERE id % 2 = 0");
  source.close();
  layered.compact(9, 1n, 3n);
  layered.compact(1, 4n, 6n);
  for (let txid = 1; txid <= 6; txid++) {
    const name = txid.toString(16).padStart(16, "0");
    Deno.removeSync(`${dir}/layered/ltx/0/${name}-${name}.ltx`);
  }
  using a = open(`${dir}/layered`);
  using b = open(`${dir}/flat`);
  const sql = "SELECT id, hex(body) AS body FROM t ORDER BY id";
  assert.deepEqual(a.query(sql), b.query(sql));
  assert.deepEqual(a.query(sql), plainRows(`${dir}/source.db`, sql));
  assert.deepEqual(a.get("PRAGMA integrity_check"), { integrity_check: "ok" });
});

/** Asserts `fn` throws a SqliteError with this primary code and message part. */
function assertSqliteError(fn: () => unknown, code: number, text: string) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SqliteError, String(error));
    assert.equal(error.code, code, error.message);
    assert.ok(error.message.includes(text), error.message);
    return true;
  });
}

Deno.test("open() explains a replica it cannot read, and the process goes on", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir}/empty`);
  assertSqliteError(
    () => open(`${dir}/missing`),
    SQLITE_CANTOPEN,
    `No LTX files at "file://${dir}/missing"`,
  );
  assertSqliteError(
    () => open(`${dir}/empty`),
    SQLITE_CANTOPEN,
    "No LTX files",
  );
  assert.throws(
    () => open("sftp://me:hunter2@127.0.0.1/db?token=s3cret"),
    (error: unknown) => {
      assert.ok(error instanceof SqliteError);
      assert.match(error.message, /^Cannot open replica "sftp:\/\/me:\*\*\*@/);
      assert.doesNotMatch(error.message, /hunter2|s3cret/);
      return true;
    },
  );

  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, [
    "CREATE TABLE t (x)",
    "INSERT INTO t VALUES (1)",
    "INSERT INTO t VALUES (2)",
  ]);
  const second = `${replica}/ltx/0/0000000000000002-0000000000000002.ltx`;
  const saved = Deno.readFileSync(second);

  Deno.removeSync(second);
  assertSqliteError(
    () => open(replica),
    SQLITE_CORRUPT,
    "gap in its TXID chain: its files end at TXID 0000000000000001 and the next file starts at TXID 0000000000000003",
  );

  Deno.writeFileSync(second, saved.subarray(0, saved.length - 30));
  assertSqliteError(
    () => open(replica),
    SQLITE_CORRUPT,
    "0000000000000002.ltx",
  );

  // A level folder that cannot be listed.
  Deno.writeFileSync(second, saved);
  Deno.mkdirSync(`${replica}/ltx/9`, { recursive: true });
  Deno.removeSync(`${replica}/ltx/9`);
  Deno.writeFileSync(`${replica}/ltx/9`, new Uint8Array(1));
  assertSqliteError(
    () => open(replica),
    SQLITE_CANTOPEN,
    `Cannot list "${replica}/ltx/9": Not a directory`,
  );
  Deno.removeSync(`${replica}/ltx/9`);

  // And after all that, the replica opens.
  using db = open(replica);
  assert.deepEqual(db.values("SELECT x FROM t ORDER BY x"), [[1], [2]]);
});

Deno.test("open() reports a corrupt frame found by a query as SQLITE_CORRUPT, naming the file", async () => {
  await using dir = await tempDir();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, [
    "CREATE TABLE t (x)",
    `INSERT INTO t SELECT randomblob(500) FROM ${series(100)}`,
  ]);
  const path = `${replica}/ltx/0/0000000000000002-0000000000000002.ltx`;
  const bytes = Deno.readFileSync(path);
  using db = open(replica);
  assert.equal(db.get<{ n: number }>("SELECT count(*) AS n FROM t")!.n, 100);
  db.close();
  // The last frame's page number no longer matches the index.
  const last = decodeFile(bytes, { file: path }).index.at(-1)!;
  const view = new DataView(bytes.buffer);
  view.setUint32(last.offset, last.pgno + 1000);
  Deno.writeFileSync(path, bytes);
  using again = open(replica);
  assertSqliteError(
    () => again.query("SELECT sum(length(x)) FROM t"),
    SQLITE_CORRUPT,
    "0000000000000002-0000000000000002.ltx",
  );
});

globalThis.addEventListener("unload", () => {
  void bigReplica?.then(({ dir }) => Deno.removeSync(dir, { recursive: true }));
});
