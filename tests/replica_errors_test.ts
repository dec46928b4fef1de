/**
 * Bad replicas at every front door. Three replicas that cannot be read:
 *
 * - a chain written by Litestream's own extension (three transactions, so
 *   three level-0 files) whose middle file is cut to half its size,
 * - an empty replica folder,
 * - a replica folder that does not exist,
 *
 * each opened through `open()` of mod.ts (in this process), and through the
 * loadable extension in Debian's sqlite3 CLI and in Debian's python3. Every
 * front door must:
 *
 * - fail with the right SQLite code (`SQLITE_CORRUPT` for the cut file,
 *   `SQLITE_CANTOPEN` for the others) and a message that names the LTX file
 *   or the replica URL (`No LTX files at "file:///..."`),
 * - fail within {@linkcode BOUND_MS} (Litestream's own VFS hangs forever on an
 *   empty replica; a hang here fails the test rather than blocking CI),
 * - leave the client working: a good replica opened before the failure still
 *   reads, one opened after it reads, and so does `:memory:`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { type Database, open, SqliteError } from "../mod.ts";
import { SQLITE_CANTOPEN, SQLITE_CORRUPT } from "../src/sqlite/mod.ts";
import { sqlite3CliPath } from "../tasks/setup_test_env.ts";
import {
  type ClientRun,
  ourExtension,
  python3,
  runClient,
} from "./_extension.ts";
import { listLtxFiles, makeLitestreamReplica } from "./_litestream.ts";

/** How long a failing open, or a whole client run, may take. */
const BOUND_MS = 10_000;

/** When a client is killed (and the test fails) if it has not finished. */
const KILL_MS = 30_000;

/** Three transactions: three level-0 files, TXIDs 1 to 3. */
const TRANSACTIONS = [
  "CREATE TABLE t (x)",
  "INSERT INTO t VALUES (1)",
  "INSERT INTO t VALUES (2)",
];

/** What the good replica holds, as `SELECT x FROM t ORDER BY x` gives it. */
const GOOD_ROWS = [1, 2];

const lib = ourExtension();
const scratch = await Deno.makeTempDir({ prefix: "lsvfs-replica-errors-" });
globalThis.addEventListener("unload", () => {
  Deno.removeSync(scratch, { recursive: true });
});

const goodUrl = `file://${join(scratch, "good")}`;
await makeLitestreamReplica(join(scratch, "good"), TRANSACTIONS);
const cutFile = await makeReplicaWithCutFile(join(scratch, "truncated"));
await Deno.mkdir(join(scratch, "empty"));

/** A replica that cannot be read, and how each front door must say so. */
interface BadReplica {
  /** What is wrong with it, for test names. */
  what: string;
  /** Its URL. */
  url: string;
  /** The primary result code open() must throw. */
  code: number;
  /** The code's name, as Python's `sqlite_errorname` gives it. */
  codeName: string;
  /** `sqlite3_errstr(code)`: what SQLite prints for it. */
  sqliteMessage: string;
  /** What the engine's message must contain: the URL or the LTX file. */
  reason: string;
}

const BAD_REPLICAS: readonly BadReplica[] = [
  {
    what: `a chain whose middle file ${basename(cutFile)} is truncated`,
    url: `file://${join(scratch, "truncated")}`,
    code: SQLITE_CORRUPT,
    codeName: "SQLITE_CORRUPT",
    sqliteMessage: "database disk image is malformed",
    reason: `"file://${cutFile}"`,
  },
  ...["empty", "missing"].map((name) => ({
    what: `${name === "empty" ? "an empty" : "a missing"} replica folder`,
    url: `file://${join(scratch, name)}`,
    code: SQLITE_CANTOPEN,
    codeName: "SQLITE_CANTOPEN",
    sqliteMessage: "unable to open database file",
    reason: `No LTX files at "file://${join(scratch, name)}"`,
  })),
];

for (const bad of BAD_REPLICAS) {
  Deno.test(`open() fails fast on ${bad.what}, naming it, and the process reads a good replica after`, async () => {
    using before = open(goodUrl);
    assert.deepEqual(rows(before), GOOD_ROWS);

    using _watchdog = await watchdog(`open() of ${bad.url}`);
    const error = await withinBound(
      `open() of ${bad.url}`,
      () => thrownBy(() => open(bad.url)),
    );
    assert.ok(error instanceof SqliteError, String(error));
    assert.equal(error.code, bad.code, error.message);
    assert.ok(
      error.message.startsWith(`Cannot open replica "${bad.url}": `),
      error.message,
    );
    assert.ok(error.message.includes(bad.reason), error.message);

    using after = open(goodUrl);
    assert.deepEqual(rows(after), GOOD_ROWS);
    assert.deepEqual(rows(before), GOOD_ROWS);
  });

  Deno.test(`sqlite3 CLI fails fast on ${bad.what}, naming it, and reads a good replica after`, async () => {
    const uri = (name: string, url: string) =>
      `'file:${name}.db?vfs=litestream&replica_url=${url}'`;
    const select = (label: string) =>
      `SELECT '${label}', group_concat(x) FROM (SELECT x FROM t ORDER BY x);`;
    // No -bail: the script goes on after the failed .open.
    const script = [
      `.load ${lib}`,
      `.open ${uri("before", goodUrl)}`,
      select("before"),
      `.open ${uri("bad", bad.url)}`,
      select("bad"),
      `.open ${uri("after", goodUrl)}`,
      select("after"),
      ".open :memory:",
      "SELECT 'memory', 6 * 7;",
      "",
    ].join("\n");
    const run = await withinBound(
      `sqlite3 on ${bad.url}`,
      () =>
        runClient(sqlite3CliPath(), ["-batch"], script, {
          cwd: scratch,
          timeoutMs: KILL_MS,
        }),
    );
    const good = GOOD_ROWS.join(",");
    assert.equal(
      run.stdout,
      `before|${good}\nafter|${good}\nmemory|42\n`,
      run.stderr,
    );
    assert.ok(
      run.stderr.includes(
        `Error: unable to open database ${
          uri("bad", bad.url).replaceAll("'", '"')
        }: ${bad.sqliteMessage}`,
      ),
      run.stderr,
    );
    assertNames(run, bad);
  });

  Deno.test(`python3 fails fast on ${bad.what}, naming it, and reads a good replica after`, async () => {
    const program = `
import sqlite3
loader = sqlite3.connect(":memory:")
loader.enable_load_extension(True)
loader.load_extension(${JSON.stringify(lib)})
def connect(name, url):
    return sqlite3.connect(f"file:{name}.db?vfs=litestream&replica_url={url}", uri=True)
def rows(db):
    return [x for (x,) in db.execute("SELECT x FROM t ORDER BY x")]
before = connect("before", ${JSON.stringify(goodUrl)})
print("before", rows(before))
try:
    print("bad", rows(connect("bad", ${JSON.stringify(bad.url)})))
except sqlite3.Error as error:
    print("error", error.sqlite_errorname, error)
print("after", rows(connect("after", ${JSON.stringify(goodUrl)})), rows(before))
print("memory", sqlite3.connect(":memory:").execute("SELECT 6 * 7").fetchone()[0])
`;
    const run = await withinBound(
      `python3 on ${bad.url}`,
      () => python3(program, { cwd: scratch, timeoutMs: KILL_MS }),
    );
    assert.equal(run.code, 0, run.stderr);
    const good = `[${GOOD_ROWS.join(", ")}]`;
    assert.equal(
      run.stdout,
      [
        `before ${good}`,
        `error ${bad.codeName} ${bad.sqliteMessage}`,
        `after ${good} ${good}`,
        "memory 42",
        "",
      ].join("\n"),
      run.stderr,
    );
    assertNames(run, bad);
  });
}

/**
 * Writes a replica with Litestream's extension and cuts its middle level-0
 * file to half its size.
 *
 * @param dir The replica's folder.
 * @returns The path of the file cut.
 */
async function makeReplicaWithCutFile(dir: string): Promise<string> {
  await makeLitestreamReplica(dir, TRANSACTIONS);
  const level0 = (await listLtxFiles(dir)).filter((f) => f.level === 0);
  assert.equal(level0.length, TRANSACTIONS.length, "one file a transaction");
  const middle = level0[1];
  assert.equal(middle.minTxid, 2n);
  const bytes = await Deno.readFile(middle.path);
  await Deno.writeFile(middle.path, bytes.subarray(0, bytes.length >> 1));
  return middle.path;
}

/** The rows of a replica made of {@linkcode TRANSACTIONS}. */
function rows(db: Database): unknown[] {
  return db.values("SELECT x FROM t ORDER BY x").map(([x]) => x);
}

/** A client's stderr carries the engine's reason (its log escapes quotes). */
function assertNames(run: ClientRun, bad: BadReplica): void {
  assert.ok(
    run.stderr.replaceAll('\\"', '"').includes(bad.reason),
    `stderr does not say ${bad.reason}: ${run.stderr}`,
  );
}

/** What `fn` throws; fails the test when it returns. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail("no error thrown");
}

/**
 * Runs `fn` and fails the test when it took {@linkcode BOUND_MS} or longer.
 *
 * @param what What runs, for the failure's message.
 * @param fn The work.
 * @returns What `fn` returned.
 */
async function withinBound<T>(
  what: string,
  fn: () => T | Promise<T>,
): Promise<T> {
  const started = performance.now();
  const result = await fn();
  const ms = Math.round(performance.now() - started);
  assert.ok(ms < BOUND_MS, `${what} took ${ms} ms (bound ${BOUND_MS} ms)`);
  return result;
}

/**
 * Arms a watchdog for synchronous work, which no timer of this thread can
 * interrupt: a worker thread that, unless disarmed within
 * {@linkcode KILL_MS}, says what hung and kills this process, so that a
 * hang fails the run instead of blocking it.
 *
 * @param what What runs, for the message.
 * @returns The armed watchdog; disposing of it disarms it.
 */
async function watchdog(what: string): Promise<Disposable> {
  const message =
    `${what} did not return within ${KILL_MS} ms: killing the test process`;
  const source = `setTimeout(() => {
    console.error(${JSON.stringify(message)});
    Deno.kill(${Deno.pid}, "SIGKILL");
  }, ${KILL_MS});
  postMessage("armed");`;
  const url = URL.createObjectURL(
    new Blob([source], { type: "text/javascript" }),
  );
  const worker = new Worker(url, { type: "module" });
  await new Promise((armed) => worker.onmessage = armed);
  URL.revokeObjectURL(url);
  return { [Symbol.dispose]: () => worker.terminate() };
}
