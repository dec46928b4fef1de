/**
 * Hydration end to end: replicas written by Litestream's own extension,
 * opened with `open(url, { hydration })`, the hydration worker restoring
 * them to a local file, and the shim reading that file directly. Counts, not
 * times: engine page reads are the shim's cache misses, direct reads are
 * its `localReads`, storage requests are the S3 proxy's log.
 */

import assert from "node:assert/strict";
import { cacheStats, type Database, open } from "../mod.ts";
import { Database as PlainDatabase } from "../src/sqlite/mod.ts";
import {
  hydrateWithLitestream,
  listLtxFiles,
  makeLitestreamReplica,
} from "./_litestream.ts";
import { type LoggedRequest, S3RVER_ENV, startS3Server } from "./_s3.ts";
import { series } from "./_sql.ts";
import { eventually } from "./_wait.ts";

for (const [k, v] of Object.entries(S3RVER_ENV)) Deno.env.set(k, v);

/** About 5 MB: 1,250 pages of 4 KiB. */
const TRANSACTIONS = [
  "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT, b BLOB)",
  `INSERT INTO t (body, b) SELECT printf('row %d', value), randomblob(1000) FROM ${
    series(5000)
  }`,
];

const QUERY = "SELECT id, body, hex(b) AS b FROM t ORDER BY id";
const SCAN = "SELECT count(*) AS n, sum(length(b)) AS bytes FROM t";

async function tempDir(): Promise<string & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-hydration-test-" });
  return Object.assign(dir, {
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  }) as string & AsyncDisposable;
}

/** The rows of `sql` from a copy restored by Litestream's extension. */
async function restoredRows(
  replica: string,
  dir: string,
  sql: string,
): Promise<unknown[]> {
  const path = `${dir}/restored-${crypto.randomUUID()}.db`;
  await hydrateWithLitestream(replica, path);
  using db = new PlainDatabase(path, { readonly: true });
  using statement = db.prepare(sql);
  return statement.all();
}

/** What `PRAGMA litestream_hydration` says, parsed. */
function hydrationOf(db: Database): Record<string, unknown> {
  return JSON.parse(
    String(Object.values(db.get("PRAGMA litestream_hydration")!)[0]),
  );
}

/**
 * Waits until the hydration file holds the view's TXID (a read starts, so
 * the view polls first), at most `ms`.
 */
async function waitHydrated(db: Database, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    // Reading the schema takes a read lock: the view polls first.
    const txid = db.get<{ t: string }>(
      "SELECT litestream_txid() AS t FROM (SELECT count(*) FROM sqlite_master)",
    )!.t;
    const state = hydrationOf(db);
    if (state.status === "complete" && state.txid === txid) return;
    if (Date.now() > deadline) {
      throw new Error(
        `hydration did not reach TXID ${txid} in ${ms} ms: ${
          JSON.stringify(state)
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs `sql` and says how many page reads went to the engine and to the local file. */
function countReads(db: Database, sql: string) {
  const before = cacheStats()!;
  const result = db.query(sql);
  const after = cacheStats()!;
  return {
    result,
    engineReads: after.misses - before.misses,
    localReads: after.localReads - before.localReads,
  };
}

Deno.test("hydration completes, then a full scan makes no engine call", async () => {
  await using dir = await tempDir();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, TRANSACTIONS);
  const want = await restoredRows(replica, dir, QUERY);

  using db = open(`file://${replica}`, { hydration: true });
  // Reads work before hydration ends, from the replica.
  assert.deepEqual(db.get(SCAN), { n: 5000, bytes: 5_000_000 });
  await waitHydrated(db);
  const pages = db.get<{ page_count: number }>("PRAGMA page_count")!
    .page_count;
  const scan = countReads(db, SCAN);
  assert.deepEqual(scan.result, [{ n: 5000, bytes: 5_000_000 }]);
  assert.equal(scan.engineReads, 0, "page reads that went to the engine");
  assert.ok(
    scan.localReads >= pages - 2,
    `${scan.localReads} local reads of ${pages} pages`,
  );
  assert.deepEqual(db.query(QUERY), want);
  assert.deepEqual(db.get("PRAGMA integrity_check"), {
    integrity_check: "ok",
  });
  assert.equal(
    Object.values(db.get("PRAGMA litestream_hydration_progress")!)[0],
    "100",
  );

  // A temporary hydration file goes away with the last connection.
  const path = String(
    Object.values(db.get("PRAGMA litestream_hydration_file")!)[0],
  );
  assert.ok(Deno.statSync(path).size >= pages * 4096);
  db.close();
  assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
});

Deno.test("a hydrated replica that grows and shrinks stays correct across polls", async () => {
  await using dir = await tempDir();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, TRANSACTIONS);
  using db = open(`file://${replica}`, {
    hydration: `${dir}/hydrated.db`,
    pollInterval: 50,
  });
  await waitHydrated(db);

  const changes = [
    "UPDATE t SET body = upper(body) WHERE id % 3 = 0",
    `INSERT INTO t (body, b) SELECT printf('more %d', value), randomblob(2000) FROM ${
      series(500)
    }`,
    "DELETE FROM t WHERE id > 1000",
  ];
  for (const change of changes) {
    await makeLitestreamReplica(replica, [change]);
    await waitHydrated(db);
    const want = await restoredRows(replica, dir, QUERY);
    const read = countReads(db, QUERY);
    assert.deepEqual(read.result, want, `after "${change}"`);
    // Page 1 of each new version comes from the engine, which patches it.
    assert.ok(read.engineReads <= 1, `engine reads after "${change}"`);
  }
  // The shrink reaches the file: it is exactly the database again.
  const pages = db.get<{ page_count: number }>("PRAGMA page_count")!
    .page_count;
  assert.equal(Deno.statSync(`${dir}/hydrated.db`).size, pages * 4096);
  assert.deepEqual(db.get("PRAGMA integrity_check"), {
    integrity_check: "ok",
  });
});

/** Bytes a logged GET asked for, from its Range header (the whole object if none). */
function rangeLength(request: LoggedRequest, size: number): number {
  const m = /^bytes=(\d*)-(\d*)$/.exec(request.range ?? "");
  if (m === null) return size;
  if (m[1] === "") return Number(m[2]);
  const end = m[2] === "" ? size - 1 : Number(m[2]);
  return end - Number(m[1]) + 1;
}

Deno.test("a restart with a persistent hydration file fetches only the LTX files after its TXID", async () => {
  await using dir = await tempDir();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, TRANSACTIONS);
  await using server = await startS3Server();
  await server.upload(replica, "db");
  const url =
    `s3://${server.bucket}/db?endpoint=${server.endpoint}&forcePathStyle=true`;
  const path = `${dir}/hydrated.db`;
  const old = new Set(
    (await listLtxFiles(replica)).map((f) => f.path.slice(replica.length)),
  );
  const oldBytes = (log: LoggedRequest[]) =>
    log.filter((r) =>
      r.kind === "GET" && old.has(r.path.slice(`/${server.bucket}/db`.length))
    )
      .reduce((sum, r) => {
        const file = `${replica}${r.path.slice(`/${server.bucket}/db`.length)}`;
        return sum + rangeLength(r, Deno.statSync(file).size);
      }, 0);

  await server.resetCounts();
  {
    using db = open(url, { hydration: path });
    await waitHydrated(db);
    // Hydration turns verification on; what checked out is listed beside
    // the hydration file for the next process.
    await eventually("files verified", () => db.status().pending === 0);
  }
  assert.ok(Deno.statSync(`${path}.verified-ltx.txt`).size > 0);
  const firstRun = oldBytes(await server.requests());
  assert.ok(firstRun >= 5_000_000, `the first run fetched ${firstRun} bytes`);

  await makeLitestreamReplica(replica, [
    "UPDATE t SET body = 'changed' WHERE id <= 10",
    "INSERT INTO t (body, b) VALUES ('new', x'00')",
  ]);
  await server.upload(replica, "db");
  const want = await restoredRows(replica, dir, QUERY);

  await server.resetCounts();
  using db = open(url, { hydration: path });
  await waitHydrated(db);
  const log = await server.requests();
  const secondRun = oldBytes(log);
  // The view reads each old file's header and index at open; hydration
  // reads none of their pages again.
  assert.ok(
    secondRun < 64 * 1024,
    `the restart fetched ${secondRun} bytes of the files it had`,
  );
  const read = countReads(db, QUERY);
  assert.deepEqual(read.result, want);
  assert.ok(read.engineReads <= 1, `${read.engineReads} engine reads`);
});

Deno.test("a truncated, corrupt or foreign hydration file is rebuilt, never served", async () => {
  await using dir = await tempDir();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, TRANSACTIONS);
  const want = await restoredRows(replica, dir, QUERY);
  const path = `${dir}/hydrated.db`;
  const logFile = `${dir}/log.txt`;
  {
    using db = open(`file://${replica}`, { hydration: path });
    await waitHydrated(db);
  }
  const damages: [string, () => void, RegExp][] = [
    ["truncated", () => {
      using file = Deno.openSync(path, { write: true });
      file.truncateSync(Deno.statSync(path).size - 4096);
    }, /hydration file rebuilt: it has \d+ bytes/],
    ["corrupt", () => {
      using file = Deno.openSync(path, { read: true, write: true });
      const byte = new Uint8Array(1);
      file.seekSync(4096 * 100 + 17, Deno.SeekMode.Start);
      file.readSync(byte);
      byte[0] ^= 0xff;
      file.seekSync(4096 * 100 + 17, Deno.SeekMode.Start);
      file.writeSync(byte);
    }, /hydration file rebuilt: its pages do not match its checksum/],
    ["foreign", () => {
      const meta = JSON.parse(Deno.readTextFileSync(`${path}.meta.json`));
      meta.replica = "file:///some/other/replica";
      Deno.writeTextFileSync(`${path}.meta.json`, JSON.stringify(meta));
    }, /hydration file rebuilt: it holds another replica/],
  ];
  for (const [what, damage, message] of damages) {
    damage();
    using db = open(`file://${replica}`, { hydration: path, logFile });
    await waitHydrated(db);
    assert.deepEqual(db.query(QUERY), want, `${what} file`);
    assert.match(Deno.readTextFileSync(logFile), message, what);
  }
});
