/**
 * Integrity and health, on replicas Litestream's own extension wrote: a
 * byte flipped inside a page frame under each verification level (through
 * `open()`, with hydration, and through the extension in python3), what
 * verification remembers (in the process, and in a disk cache across
 * processes), `PRAGMA litestream_status`, a chain that breaks while a
 * database is open, and an S3 endpoint that goes down.
 *
 * @module
 */

import assert from "node:assert/strict";
import { open, type ReplicaStatus, SqliteError } from "../mod.ts";
import { decodeFile } from "../src/ltx/mod.ts";
import { SQLITE_CORRUPT } from "../src/sqlite/mod.ts";
import { tempDir } from "./_files.ts";
import { listLtxFiles, makeLitestreamReplica } from "./_litestream.ts";
import { S3RVER_ENV, startS3Server } from "./_s3.ts";
import { series } from "./_sql.ts";
import { runScript } from "./_subprocess.ts";
import { eventually } from "./_wait.ts";
import { clientEnv, ourExtension, python3 } from "./_extension.ts";

/** Each transaction's rows are random, so their frames are LZ4 literals. */
const TRANSACTIONS = [
  "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)",
  `INSERT INTO t SELECT value, randomblob(600) FROM ${series(400)}`,
  `INSERT INTO t SELECT value + 1000, randomblob(600) FROM ${series(400)}`,
];
const ROWS = "SELECT id, hex(body) AS body FROM t ORDER BY id";
/** The second transaction's file: its pages are read by every scan. */
const SECOND = "0000000000000002-0000000000000002.ltx";

/** A fresh replica and the rows it holds before anything is done to it. */
async function makeReplica(dir: string): Promise<{
  replica: string;
  rows: unknown[];
}> {
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, TRANSACTIONS);
  using db = open(replica, { verify: "off" });
  return { replica, rows: db.query(ROWS) };
}

/**
 * Flips one byte in the middle of a page frame of the second file: the
 * frame still decodes (the byte is a literal), to a page that is wrong.
 */
function flipByteInFrame(replica: string): string {
  const path = `${replica}/ltx/0/${SECOND}`;
  const bytes = Deno.readFileSync(path);
  const frame = decodeFile(bytes, { file: path }).index[10];
  bytes[frame.offset + Math.floor(frame.size / 2)] ^= 0x5a;
  Deno.writeFileSync(path, bytes);
  return path;
}

/** Runs the scan: its rows, or the SqliteError it failed with. */
function scan(db: ReturnType<typeof open>): unknown[] | SqliteError {
  try {
    return db.query(ROWS);
  } catch (error) {
    if (error instanceof SqliteError) return error;
    throw error;
  }
}

function assertCorruptNaming(result: unknown, file: string): void {
  assert.ok(result instanceof SqliteError, "expected an error, got rows");
  assert.equal(result.code, SQLITE_CORRUPT, result.message);
  assert.ok(result.message.includes(file), result.message);
}

Deno.test("verify=off serves a flipped byte unchecked: this is what verification is for", async () => {
  await using dir = await tempDir("lsvfs-integrity-");
  const { replica, rows } = await makeReplica(dir);
  flipByteInFrame(replica);
  using db = open(replica, { verify: "off" });
  const seen = scan(db);
  assert.ok(Array.isArray(seen));
  assert.equal(seen.length, rows.length);
  assert.notDeepEqual(seen, rows, "the flipped byte reached a row");
  assert.equal(db.status().verification, "off");
  assert.equal(db.status().verified, 0);
});

Deno.test("verify=background finds a flipped byte within seconds, logs it, and no wrong row follows", async () => {
  await using dir = await tempDir("lsvfs-integrity-");
  const { replica, rows } = await makeReplica(dir);
  const path = flipByteInFrame(replica);
  const logFile = `${dir}/lsvfs.log`;
  // The default for a file:// replica.
  using db = open(replica, { logFile });
  assert.equal(db.status().verification, "background");
  const started = Date.now();
  let found: SqliteError | undefined;
  while (found === undefined) {
    const seen = scan(db);
    if (seen instanceof SqliteError) found = seen;
    else assert.equal(seen.length, rows.length);
    assert.ok(Date.now() - started < 10_000, "not found within 10 s");
    await new Promise((r) => setTimeout(r, 20));
  }
  assertCorruptNaming(found, path);
  console.log(`found after ${Date.now() - started} ms`);
  // From then on: an error every time, never a row of the bad file.
  for (let i = 0; i < 5; i++) assertCorruptNaming(scan(db), path);
  // Pages of the other files are still served.
  assert.deepEqual(
    db.query("SELECT id FROM t WHERE id > 1395 ORDER BY id"),
    [{ id: 1396 }, { id: 1397 }, { id: 1398 }, { id: 1399 }, { id: 1400 }],
  );
  const status = db.status();
  assert.equal(status.bad, 1);
  assert.equal(status.verified, 2);
  assert.equal(status.pending, 0);
  assert.ok(status.badError?.includes(path), String(status.badError));
  const log = await Deno.readTextFile(logFile);
  assert.match(log, /level=ERROR msg="LTX file failed verification/);
  assert.ok(log.includes(path), log);
});

Deno.test("verify=strict fails before the first wrong row, and still serves the sound files", async () => {
  await using dir = await tempDir("lsvfs-integrity-");
  const { replica } = await makeReplica(dir);
  const path = flipByteInFrame(replica);
  using db = open(replica, { verify: "strict" });
  assertCorruptNaming(scan(db), path);
  assert.deepEqual(db.get("SELECT count(*) AS n FROM t WHERE id > 1390"), {
    n: 10,
  });
  const status = db.status();
  assert.equal(status.verification, "strict");
  assert.equal(status.bad, 1);
});

Deno.test("verify=strict serves a sound replica, and background verifies every file once per process", async () => {
  await using dir = await tempDir("lsvfs-integrity-");
  const { replica, rows } = await makeReplica(dir);
  {
    using db = open(replica, { verify: "strict" });
    assert.deepEqual(db.query(ROWS), rows);
    // The files whose pages were served are verified; the first file's
    // pages are all superseded, and the worker gets to it in the end.
    assert.ok(db.status().verified >= 2);
    assert.equal(db.status().bad, 0);
    await eventually("every file verified", () => db.status().pending === 0);
  }
  // The files checked out in this process: a new open knows it at once,
  // and reads no more of them than their headers and indexes.
  using db = open(replica, { verify: "background" });
  const status = db.status();
  assert.deepEqual(
    [status.verified, status.bad, status.pending],
    [3, 0, 0],
  );
  const sizes = (await listLtxFiles(replica)).map((f) => Deno.statSync(f.path));
  const total = sizes.reduce((n, s) => n + s.size, 0);
  assert.ok(
    status.bytesFetched < total / 2,
    `${status.bytesFetched} of ${total} bytes`,
  );
});

Deno.test("a disk cache remembers verified files for the next process", async () => {
  await using dir = await tempDir("lsvfs-integrity-");
  await using server = await startS3Server();
  const { replica } = await makeReplica(dir);
  await server.upload(replica, "db");
  const url =
    `s3://${server.bucket}/db?endpoint=${server.endpoint}&forcePathStyle=true`;
  const script = (wait: boolean) => `
    import { open } from "${new URL("../mod.ts", import.meta.url)}";
    using db = open(${JSON.stringify(url)}, {
      verify: "background",
      diskCache: ${JSON.stringify(`${dir}/cache`)},
    });
    let status = db.status();
    while (${wait} && status.pending > 0) {
      await new Promise((r) => setTimeout(r, 50));
      status = db.status();
    }
    console.log(JSON.stringify(status));
  `;
  const env = { ...S3RVER_ENV };
  const first = await runScript(dir, script(true), ["--allow-all"], { env });
  assert.deepEqual(
    pick(first as ReplicaStatus),
    { verified: 3, bad: 0, pending: 0 },
  );
  await server.resetCounts();
  const second = await runScript(dir, script(false), ["--allow-all"], { env });
  assert.deepEqual(
    pick(second as ReplicaStatus),
    { verified: 3, bad: 0, pending: 0 },
  );
  // Only headers and indexes were read: no file was downloaded again whole.
  assert.ok((second as ReplicaStatus).bytesFetched < 64 * 1024 * 3);
});

function pick({ verified, bad, pending }: ReplicaStatus) {
  return { verified, bad, pending };
}

Deno.test("a chain that breaks while open keeps the last good view, and the status and lag say so", async () => {
  await using dir = await tempDir("lsvfs-integrity-");
  const { replica, rows } = await makeReplica(dir);
  const logFile = `${dir}/lsvfs.log`;
  const pollInterval = 100;
  using db = open(replica, { pollInterval, logFile, logLevel: "WARN" });
  assert.deepEqual(db.query(ROWS), rows);
  assert.equal(db.status().poll, "ok");

  // A new transaction arrives, and a file in the middle goes missing.
  await makeLitestreamReplica(replica, ["INSERT INTO t VALUES (5000, x'00')"]);
  const second = `${replica}/ltx/0/${SECOND}`;
  const saved = await Deno.readFile(second);
  await Deno.remove(second);
  const broke = Date.now();
  await eventually(
    "the status shows the failing poll",
    () => db.status().poll === "failing",
    2 * pollInterval + 500,
  );
  const failing = db.status();
  assert.equal(failing.stale, true);
  assert.equal(failing.txid, "0000000000000003");
  assert.match(String(failing.pollError), /gap/);
  console.log(`failing poll seen after ${Date.now() - broke} ms`);
  // Neither the new row nor a mix: exactly the last good state.
  assert.deepEqual(db.query(ROWS), rows);
  const lag = db.get<{ lag: number }>("SELECT litestream_lag() AS lag")!.lag;
  await new Promise((r) => setTimeout(r, 2_100));
  assert.deepEqual(db.query(ROWS), rows);
  const later = db.get<{ lag: number }>("SELECT litestream_lag() AS lag")!.lag;
  assert.ok(later >= lag + 2, `lag ${lag} then ${later}`);
  assert.ok(db.status().pollFailures >= 2);
  const log = await Deno.readTextFile(logFile);
  assert.match(
    log,
    /level=WARN msg="poll failed: serving the last good state".*gap/,
  );

  // The file comes back: the view moves on, and the status is clean.
  await Deno.writeFile(second, saved);
  await eventually(
    "the new row shows up",
    () => db.get("SELECT id FROM t WHERE id = 5000") !== undefined,
    5_000,
  );
  const healthy = db.status();
  assert.deepEqual(
    [healthy.poll, healthy.stale, healthy.pollError, healthy.txid],
    ["ok", false, null, "0000000000000004"],
  );
  assert.ok(healthy.lag <= 1);
});

Deno.test("PRAGMA litestream_status is one row of JSON with the cache's counters, and is read-only", async () => {
  await using dir = await tempDir("lsvfs-integrity-");
  const { replica, rows } = await makeReplica(dir);
  using db = open(replica, { verify: "off" });
  assert.deepEqual(db.query(ROWS), rows);
  assert.deepEqual(db.query(ROWS), rows);
  const result = db.query("PRAGMA litestream_status");
  assert.equal(result.length, 1);
  const text = String(Object.values(result[0])[0]);
  const status = JSON.parse(text);
  assert.equal(status.txid, "0000000000000003");
  assert.equal(status.files, 3);
  assert.equal(status.levels, 1);
  assert.ok(status.cache_hits > 0 && status.cache_misses > 0, text);
  assert.ok(status.bytes_fetched > 0, text);
  assert.equal(status.poll, "ok");
  // The same through the SQL function.
  const viaFunction = JSON.parse(
    db.get<{ s: string }>("SELECT litestream_status() AS s")!.s,
  );
  assert.equal(viaFunction.txid, status.txid);
  assert.throws(
    () => db.query("PRAGMA litestream_status = 1"),
    /litestream_status is read-only/,
  );
});

Deno.test("with hydration on, a bad file found in the background stops the hydration file serving its pages", async () => {
  await using dir = await tempDir("lsvfs-integrity-");
  const { replica, rows } = await makeReplica(dir);
  const path = flipByteInFrame(replica);
  // Hydration turns background verification on, whatever the replica.
  using db = open(replica, { hydration: true, pollInterval: 50 });
  assert.equal(db.status().verification, "background");
  let found: SqliteError | undefined;
  await eventually("the flipped byte is found", () => {
    const seen = scan(db);
    if (seen instanceof SqliteError) found = seen;
    else assert.equal(seen.length, rows.length);
    return found !== undefined;
  });
  assertCorruptNaming(found, path);
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < 3; i++) assertCorruptNaming(scan(db), path);
});

Deno.test("an S3 endpoint that goes down shows as a failing poll within two intervals, and lag grows", async () => {
  await using dir = await tempDir("lsvfs-integrity-");
  await using server = await startS3Server();
  const { replica, rows } = await makeReplica(dir);
  await server.upload(replica, "db");
  for (const [k, v] of Object.entries(S3RVER_ENV)) Deno.env.set(k, v);
  const pollInterval = 200;
  using db = open(
    `s3://${server.bucket}/db?endpoint=${server.endpoint}&forcePathStyle=true`,
    { pollInterval, cacheSize: 64 * 1024 * 1024 },
  );
  assert.deepEqual(db.query(ROWS), rows);
  assert.equal(db.status().poll, "ok");
  await server.setFaults({ down: true });
  const down = Date.now();
  await eventually(
    "the status shows the failing poll",
    () => db.status().poll === "failing",
    2 * pollInterval + 1_500,
  );
  console.log(`failing poll seen after ${Date.now() - down} ms`);
  const failing = db.status();
  assert.equal(failing.stale, true);
  assert.ok(failing.pollError !== null && failing.pollError.length > 0);
  // What is cached is still served, at the last good TXID.
  assert.deepEqual(db.query(ROWS), rows);
  await new Promise((r) => setTimeout(r, 2_100));
  assert.ok(db.status().lag >= 2, `lag ${db.status().lag}`);
  await server.clearFaults();
  await eventually("polls work again", () => db.status().poll === "ok");
  assert.ok(db.status().lag <= 1);
});

Deno.test("through the extension in python3: strict fails before the first wrong row, background after, and the status is a PRAGMA", async () => {
  await using dir = await tempDir("lsvfs-integrity-");
  const { replica } = await makeReplica(dir);
  const path = flipByteInFrame(replica);
  const program = `
import json, sqlite3, time
loader = sqlite3.connect(":memory:")
loader.enable_load_extension(True)
loader.load_extension(${JSON.stringify(ourExtension())})
def connect(verify):
    return sqlite3.connect(
        f"file:db?vfs=litestream&replica_url=file://${replica}&verify={verify}&poll_interval=50ms",
        uri=True,
    )
def scan(db):
    try:
        return len(db.execute("SELECT id, hex(body) FROM t ORDER BY id").fetchall())
    except sqlite3.Error as error:
        return error.sqlite_errorname
strict = connect("strict")
print("strict", scan(strict))
background = connect("background")
results = [scan(background)]
deadline = time.time() + 10
while results[-1] != "SQLITE_CORRUPT" and time.time() < deadline:
    time.sleep(0.02)
    results.append(scan(background))
print("background", results[-1], [scan(background) for _ in range(3)])
status = json.loads(background.execute("PRAGMA litestream_status").fetchone()[0])
print("status", status["bad"], status["verified"] + status["pending"], status["cache_misses"] > 0)
print("function", json.loads(strict.execute("SELECT litestream_status()").fetchone()[0])["bad"])
`;
  const run = await python3(program, { env: clientEnv(), timeoutMs: 60_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(
    run.stdout,
    [
      "strict SQLITE_CORRUPT",
      "background SQLITE_CORRUPT ['SQLITE_CORRUPT', 'SQLITE_CORRUPT', 'SQLITE_CORRUPT']",
      "status 1 2 True",
      "function 1",
      "",
    ].join("\n"),
    run.stderr,
  );
  assert.ok(run.stderr.replaceAll('\\"', '"').includes(path), run.stderr);
});
