/**
 * The loadable extension in clients that are not Deno: Debian's sqlite3 CLI
 * and python3 load dist/litestream-vfs.so as they load Litestream's, and its
 * pipe port serves them from an engine child (dist/lsvfs engine). The
 * replica is written by Litestream's own extension (tests/_litestream.ts).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  hydrateWithLitestream,
  makeLitestreamReplica,
  queryWithLitestream,
} from "./_litestream.ts";
import {
  clientEnv,
  ourExtension,
  python3,
  ROOT,
  runClient,
  sqlite3Script,
} from "./_extension.ts";

const lib = ourExtension();
const scratch = await Deno.makeTempDir({ prefix: "lsvfs-extension-" });
const replica = join(scratch, "replica");
const replicaUrl = `file://${replica}`;
globalThis.addEventListener("unload", () => {
  Deno.removeSync(scratch, { recursive: true });
});

// TXID 1-2, then a time between them and TXID 3-4, for time travel.
await makeLitestreamReplica(replica, [
  "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);" +
  "INSERT INTO users VALUES (1, 'ada'), (2, 'bob');",
  "INSERT INTO users VALUES (3, 'cy');",
]);
await new Promise((r) => setTimeout(r, 20));
const betweenTxids = new Date().toISOString();
await new Promise((r) => setTimeout(r, 20));
await makeLitestreamReplica(replica, [
  "INSERT INTO users VALUES (4, 'dee');",
  // About 250 pages, so a scan keeps asking the engine for more.
  "CREATE TABLE big(id INTEGER PRIMARY KEY, v BLOB);" +
  "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)" +
  " INSERT INTO big SELECT i, randomblob(500) FROM n;",
]);

/** A script whose output is the same through either extension. */
const DETERMINISTIC = `.mode list
SELECT id, name FROM users ORDER BY id;
SELECT count(*), sum(length(v)) FROM big;
SELECT litestream_txid();
PRAGMA integrity_check;`;

/** Python that lists the engine children of this process (Linux /proc). */
const PY_CHILDREN = `
import glob, os
def children():
    pids = []
    for f in glob.glob(f"/proc/{os.getpid()}/task/*/children"):
        pids += [int(p) for p in open(f).read().split()]
    return pids
`;

Deno.test("sqlite3 CLI reads a Litestream replica through the extension", async (t) => {
  const queries = `.mode list
SELECT group_concat(name, ',') FROM (SELECT name FROM users ORDER BY id);
PRAGMA integrity_check;
SELECT litestream_txid();
SELECT litestream_time() > '2000';
SELECT litestream_lag() >= 0;
SELECT litestream_set_time('${betweenTxids}');
SELECT count(*), litestream_txid() FROM users;
PRAGMA litestream_time = 'LATEST';
SELECT count(*), litestream_txid() FROM users;
`;
  const expected = [
    "ada,bob,cy,dee",
    "ok",
    "0000000000000004",
    "1",
    "1",
    "",
    "3|0000000000000002",
    "4|0000000000000004",
  ].join("\n");

  await t.step("with LITESTREAM_REPLICA_URL", async () => {
    const run = await sqlite3Script(
      `.load ./dist/litestream-vfs.so\n.open file:mydb.db?vfs=litestream\n${queries}`,
      { env: clientEnv({ LITESTREAM_REPLICA_URL: replicaUrl }) },
    );
    assert.equal(run.stderr, "");
    assert.equal(run.code, 0);
    assert.equal(run.stdout.trimEnd(), expected);
  });

  await t.step(
    "with replica_url in the URI, the library by absolute path",
    async () => {
      const run = await sqlite3Script(
        `.load ${lib}\n.open file:mydb.db?vfs=litestream&replica_url=${replicaUrl}\n${queries}`,
        { cwd: scratch },
      );
      assert.equal(run.stderr, "");
      assert.equal(run.code, 0);
      assert.equal(run.stdout.trimEnd(), expected);
    },
  );

  await t.step("PRAGMA litestream_time reads the time shown", async () => {
    const run = await sqlite3Script(
      `.load ${lib}\n.open file:mydb.db?vfs=litestream\n` +
        `SELECT litestream_set_time('${betweenTxids}');\n` +
        `SELECT count(*) FROM users;\nPRAGMA litestream_time;\n`,
      { env: clientEnv({ LITESTREAM_REPLICA_URL: replicaUrl }) },
    );
    assert.equal(run.code, 0, run.stderr);
    const [, count, time] = run.stdout.trimEnd().split("\n");
    assert.equal(count, "3");
    assert.ok(time < betweenTxids, `${time} is not before ${betweenTxids}`);
  });
});

Deno.test("sqlite3 CLI prints the same through our extension as through Litestream's", async () => {
  const theirs = await queryWithLitestream(replica, DETERMINISTIC);
  const ours = await sqlite3Script(
    `.load ./dist/litestream-vfs.so\n.open file:db.db?vfs=litestream\n${DETERMINISTIC}\n`,
    { env: clientEnv({ LITESTREAM_REPLICA_URL: replicaUrl }) },
  );
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(ours.stdout.trimEnd(), theirs);
  assert.match(theirs, /^1\|ada\n2\|bob\n3\|cy\n4\|dee\n2000\|1000000\n/);
});

Deno.test("python3 runs the Python example of Litestream's docs/VFS.md through the extension", async () => {
  // docs/VFS.md verbatim, but for the replica URL (theirs is s3://).
  const example = `import os
import sqlite3

os.environ["LITESTREAM_REPLICA_URL"] = ${JSON.stringify(replicaUrl)}

conn = sqlite3.connect(":memory:")
conn.enable_load_extension(True)
conn.load_extension("./dist/litestream-vfs.so")

# Open database using the litestream VFS
conn = sqlite3.connect("file:mydb.db?vfs=litestream")
cursor = conn.execute("SELECT * FROM users")
for row in cursor:
    print(row)
`;
  const run = await python3(example, { cwd: ROOT });
  assert.equal(run.stderr, "");
  assert.equal(run.code, 0);
  assert.equal(
    run.stdout,
    "(1, 'ada')\n(2, 'bob')\n(3, 'cy')\n(4, 'dee')\n",
  );
  const stray = await Array.fromAsync(Deno.readDir(ROOT)).then((entries) =>
    entries.filter((e) => e.name.startsWith("file:mydb.db"))
  );
  assert.deepEqual(stray, [], "the URI was opened as a plain file name");
});

Deno.test("python3 gets an error it can catch when the engine process is killed, and the next open starts a new one", async () => {
  const program = `${PY_CHILDREN}
import signal, sqlite3
conn = sqlite3.connect(":memory:")
conn.enable_load_extension(True)
conn.load_extension(${JSON.stringify(lib)})
# Without the fast path, so that every page read needs the engine.
uri = "file:k.db?vfs=litestream&cache_size=4096&fast_path=false&replica_url=${replicaUrl}"
db = sqlite3.connect(uri, uri=True)
cursor = db.execute("SELECT id, v FROM big ORDER BY id")
cursor.fetchone()
[first] = children()
os.kill(first, signal.SIGKILL)
try:
    cursor.fetchall()
    print("no error")
except sqlite3.OperationalError as error:
    print("error:", error)
try:
    db.execute("SELECT count(*) FROM users").fetchone()
    print("no error")
except sqlite3.OperationalError as error:
    print("error:", error)
db.close()
db = sqlite3.connect(uri, uri=True)
print(db.execute("SELECT count(*) FROM users").fetchone()[0])
[second] = children()
print("new child" if second != first else "same child")
db.close()
`;
  const run = await python3(program);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(
    run.stdout,
    "error: disk I/O error\nerror: disk I/O error\n4\nnew child\n",
  );
  assert.match(
    run.stderr,
    /litestream: the engine process \(pid \d+\) closed its pipe and was killed by signal 9/,
  );
});

Deno.test("python3 gets a clear error for an empty or missing replica, and opens the next database", async () => {
  const empty = join(scratch, "empty");
  await Deno.mkdir(empty);
  const program = `
import sqlite3
conn = sqlite3.connect(":memory:")
conn.enable_load_extension(True)
conn.load_extension("./dist/litestream-vfs.so")
for url in ["file://${empty}", "file://${scratch}/missing"]:
    try:
        sqlite3.connect(f"file:x.db?vfs=litestream&replica_url={url}", uri=True)
        print("opened")
    except sqlite3.OperationalError as error:
        print("error:", error)
print(sqlite3.connect(":memory:").execute("SELECT 6 * 7").fetchone()[0])
try:
    sqlite3.connect("file:x.db?vfs=litestream", uri=True)
except sqlite3.OperationalError as error:
    print("error:", error)
db = sqlite3.connect("file:x.db?vfs=litestream&replica_url=${replicaUrl}", uri=True)
print(db.execute("SELECT count(*) FROM users").fetchone()[0])
`;
  const run = await python3(program, { timeoutMs: 30_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(
    run.stdout,
    [
      "error: unable to open database file",
      "error: unable to open database file",
      "42",
      "error: unable to open database file",
      "4",
      "",
    ].join("\n"),
  );
  assert.match(
    run.stderr,
    new RegExp(`No LTX files at \\\\"file://${empty}\\\\"`),
  );
  assert.match(run.stderr, /No LTX files at \\"file:\/\/.*\/missing\\"/);
  assert.match(run.stderr, /No replica URL: add replica_url=<url>/);
});

Deno.test("valgrind finds no invalid access and no leak of the extension in the sqlite3 CLI", async () => {
  const cycle =
    `.open file:v.db?vfs=litestream&replica_url=${replicaUrl}&cache_size=65536\n` +
    "SELECT count(*) FROM users;\nSELECT sum(length(v)) FROM big;\n" +
    "SELECT litestream_txid();\n.open :memory:\n";
  const run = await runValgrind(`.load ${lib}\n${cycle}${cycle}${cycle}`);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(
    run.stdout,
    "4\n1000000\n0000000000000004\n".repeat(3),
  );
  assert.match(run.stderr, /ERROR SUMMARY: 0 errors/);
});

Deno.test("valgrind finds no invalid access and no leak in write mode: commits, a rollback, a spill, a sync", async () => {
  const dir = join(scratch, "valgrind-write");
  await makeLitestreamReplica(join(dir, "replica"), [
    "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);",
  ]);
  const open =
    `.open file:w.db?vfs=litestream&replica_url=file://${dir}/replica&write_enabled=true&buffer_path=${dir}/buffer&sync_interval=1h\n`;
  const script = `.load ${lib}\n${open}` +
    "PRAGMA cache_size = 4;\n" +
    "INSERT INTO t (v) VALUES ('one');\n" +
    "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) INSERT INTO t (v) SELECT hex(randomblob(100)) FROM n; ROLLBACK;\n" +
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) INSERT INTO t (v) SELECT hex(randomblob(100)) FROM n;\n" +
    "SELECT count(*) FROM t;\nSELECT length(litestream_txid()) FROM (SELECT 1);\n" +
    "PRAGMA integrity_check;\n.open :memory:\n" + open +
    "SELECT count(*) FROM t;\n";
  const run = await runValgrind(script);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "401\n16\nok\n401\n");
  assert.match(run.stderr, /ERROR SUMMARY: 0 errors/);
  // Closing synced what the interval had not yet.
  assert.equal(
    (await queryWithLitestream(join(dir, "replica"), "SELECT count(*) FROM t;"))
      .trim(),
    "401",
  );
});

Deno.test("python3 threads, each with its own connection (a pool), write one at a time and lose nothing", async () => {
  const dir = join(scratch, "pool");
  await makeLitestreamReplica(join(dir, "replica"), [
    "CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT, n INTEGER);",
  ]);
  const program = `
import sqlite3, threading
conn = sqlite3.connect(":memory:")
conn.enable_load_extension(True)
conn.load_extension(${JSON.stringify(lib)})
uri = "file:pool.db?vfs=litestream&replica_url=file://${dir}/replica&write_enabled=true&buffer_path=${dir}/buffer&sync_interval=100ms"
errors = []
def work(who):
    try:
        db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
        for n in range(25):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO t (who, n) VALUES (?, ?)", (who, n))
            db.execute("COMMIT")
            db.execute("SELECT count(*) FROM t").fetchone()
        db.close()
    except Exception as error:
        errors.append(f"{who}: {error}")
threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
db = sqlite3.connect(uri, uri=True, isolation_level=None)
print(errors)
print(db.execute("SELECT count(*), count(DISTINCT who), sum(n) FROM t").fetchone())
print(db.execute("PRAGMA integrity_check").fetchone()[0])
db.close()
`;
  const run = await python3(program, { timeoutMs: 120_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "[]\n(100, 4, 1200)\nok\n");
  assert.equal(
    (await queryWithLitestream(
      join(dir, "replica"),
      "SELECT count(*), sum(n) FROM t; PRAGMA integrity_check;",
    )).trim(),
    "100|1200\nok",
  );
});

/**
 * The sqlite3 CLI under valgrind (memcheck). Invalid reads and writes, and
 * bytes definitely lost, fail the run (--error-exitcode). The shim's
 * process-wide buffers (pipe messages, the file table) live until exit and
 * are "still reachable", which does not count; the engine child is another
 * process, which valgrind does not follow (no --trace-children).
 */
function runValgrind(script: string) {
  return runClient(
    "/usr/bin/valgrind",
    [
      "--error-exitcode=99",
      "--leak-check=full",
      "--errors-for-leak-kinds=definite",
      "--show-leak-kinds=definite",
      "/usr/bin/sqlite3",
      "-bail",
      "-batch",
    ],
    script,
    { timeoutMs: 180_000 },
  );
}

Deno.test("sqlite3 CLI fails the open, and does not hang, when LITESTREAM_VFS_ENGINE names an engine that never answers or is missing", async () => {
  const hung = join(scratch, "hung-engine");
  await Deno.writeTextFile(hung, "#!/bin/sh\nexec sleep 60\n", { mode: 0o755 });
  const script = `.load ${lib}\n` +
    `.open file:h.db?vfs=litestream&replica_url=${replicaUrl}\n` +
    `.open file:h.db?vfs=litestream&replica_url=${replicaUrl}\n` +
    ".open :memory:\nSELECT 'still here';\n";
  const started = Date.now();
  const run = await sqlite3Script(script, {
    env: clientEnv({
      LITESTREAM_VFS_ENGINE: hung,
      LSVFS_ENGINE_TIMEOUT_MS: "500",
    }),
    timeoutMs: 20_000,
  });
  assert.equal(run.stdout, "still here\n");
  assert.ok(Date.now() - started < 10_000, "the open waited too long");
  assert.match(run.stderr, /unable to open database file/);
  assert.match(
    run.stderr,
    /litestream: the engine process \(pid \d+\) did not answer within 500 ms \(LSVFS_ENGINE_TIMEOUT_MS\) and was killed by signal 9/,
  );

  const missing = await sqlite3Script(script, {
    env: clientEnv({ LITESTREAM_VFS_ENGINE: join(scratch, "no-such-engine") }),
  });
  assert.equal(missing.stdout, "still here\n");
  assert.match(
    missing.stderr,
    /litestream: cannot start the engine process ".*no-such-engine engine": No such file or directory \(run "deno task build-ext"/,
  );
});

Deno.test("python3 reads a hydrated replica from the hydration file, with no engine page read", async () => {
  const hydrationPath = join(scratch, "hydrated.db");
  const program = `
import json, sqlite3, sys, time
conn = sqlite3.connect(":memory:")
conn.enable_load_extension(True)
conn.load_extension(${JSON.stringify(lib)})
db = sqlite3.connect("file:h.db?vfs=litestream&cache_size=4096&hydration_enabled=true&replica_url=${replicaUrl}", uri=True)
scan = "SELECT count(*), sum(length(v)) FROM big"
print(db.execute(scan).fetchone())
deadline = time.time() + 30
while True:
    txid = db.execute("SELECT litestream_txid() FROM (SELECT count(*) FROM sqlite_master)").fetchone()[0]
    state = json.loads(db.execute("PRAGMA litestream_hydration").fetchone()[0])
    if state["status"] == "complete" and state["txid"] == txid:
        break
    if time.time() > deadline:
        sys.exit("not hydrated: " + json.dumps(state))
    time.sleep(0.02)
print(db.execute("PRAGMA litestream_hydration_progress").fetchone()[0])
print(db.execute("PRAGMA litestream_hydration_file").fetchone()[0])
db.execute("PRAGMA cache_size = 0")
sys.stderr.write("-- scan --\\n")
sys.stderr.flush()
print(db.execute(scan).fetchone())
sys.stderr.write("-- end --\\n")
sys.stderr.flush()
`;
  const run = await python3(program, {
    env: clientEnv({
      LITESTREAM_LOG_LEVEL: "DEBUG",
      LITESTREAM_HYDRATION_PATH: hydrationPath,
    }),
    timeoutMs: 60_000,
  });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(
    run.stdout,
    `(2000, 1000000)\n100\n${hydrationPath}\n(2000, 1000000)\n`,
  );
  assert.match(run.stderr, /msg="hydration complete"/);
  const scan = run.stderr.split("-- scan --\n")[1].split("-- end --\n")[0];
  assert.doesNotMatch(scan, /msg="fetch pages"/, "pages read by the engine");
  assert.ok(Deno.statSync(`${hydrationPath}.meta.json`).isFile);
});

Deno.test("python3 threads, each with its own connection and a small cache, read the same rows at once", async () => {
  const program = `
import random, sqlite3, threading
conn = sqlite3.connect(":memory:")
conn.enable_load_extension(True)
conn.load_extension(${JSON.stringify(lib)})
uri = "file:t{}.db?vfs=litestream&cache_size={}&replica_url=${replicaUrl}"
query = "SELECT id, hex(v) FROM big WHERE id = ?"
reference = sqlite3.connect(uri.format("ref", 1 << 20), uri=True)
want = {i: reference.execute(query, (i,)).fetchone() for i in range(1, 2001)}
wrong = []
def work(n):
    db = sqlite3.connect(uri.format(n, 4096 * (n + 1)), uri=True)
    rng = random.Random(n)
    for _ in range(3000):
        i = rng.randint(1, 2000)
        if db.execute(query, (i,)).fetchone() != want[i]:
            wrong.append((n, i))
    db.close()
threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(len(want), len(wrong))
`;
  const run = await python3(program, { timeoutMs: 120_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "2000 0\n");
});

Deno.test("python3: the fast path serves a full scan and 20,000 lookups with no engine page read, as a restored copy does", async () => {
  const restored = join(scratch, "restored-fast.db");
  await hydrateWithLitestream(replica, restored);
  const program = `
import hashlib, random, sqlite3, sys
conn = sqlite3.connect(":memory:")
conn.enable_load_extension(True)
conn.load_extension(${JSON.stringify(lib)})
def digest(db):
    h = hashlib.sha256()
    for row in db.execute("SELECT id, v FROM big ORDER BY id"):
        h.update(repr(row).encode())
    rng = random.Random(5)
    for _ in range(20000):
        h.update(repr(db.execute("SELECT id, v FROM big WHERE id = ?", (rng.randint(1, 2000),)).fetchone()).encode())
    return h.hexdigest()
want = digest(sqlite3.connect(${JSON.stringify(restored)}))
for fast in ("true", "false"):
    db = sqlite3.connect(f"file:f{fast}.db?vfs=litestream&cache_size=4096&fast_path={fast}&replica_url=${replicaUrl}", uri=True)
    db.execute("SELECT 1 FROM big LIMIT 1").fetchone()
    sys.stderr.write(f"-- {fast} --\\n")
    sys.stderr.flush()
    print(fast, digest(db) == want)
    sys.stderr.write("-- end --\\n")
    sys.stderr.flush()
`;
  const run = await python3(program, {
    env: clientEnv({ LITESTREAM_LOG_LEVEL: "DEBUG" }),
    timeoutMs: 120_000,
  });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "true True\nfalse True\n");
  const fetches = (fast: string) =>
    run.stderr.split(`-- ${fast} --\n`)[1].split("-- end --\n")[0]
      .split("\n").filter((line) =>
        line.includes('msg="fetch pages"') && !/ pgno=1 /.test(line)
      ).length;
  assert.equal(fetches("true"), 0, "engine page reads with the fast path");
  assert.ok(fetches("false") > 100, "engine page reads without it");
});
