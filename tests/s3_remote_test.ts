/**
 * Remote reads over `s3://` (issue 6): what a read costs in round trips and
 * GETs, and what it does when the server misbehaves. Replicas are written by
 * Litestream's own extension, uploaded to s3rver on 127.0.0.1 and read with
 * `open()` through the storage worker; the proxy in front of s3rver
 * (tests/_s3_proxy.ts) logs each request and injects the faults.
 *
 * Figures go to the test output (`console.log`), so a run shows them.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cacheStats, type Database, open, SqliteError } from "../mod.ts";
import { SQLITE_BUSY, SQLITE_IOERR } from "../src/sqlite/mod.ts";
import { listLtxFiles, makeLitestreamReplica } from "./_litestream.ts";
import {
  type Faults,
  type LoggedRequest,
  S3RVER_ENV,
  type S3Server,
  sequentialWaves,
  startS3Server,
} from "./_s3.ts";

for (const [k, v] of Object.entries(S3RVER_ENV)) Deno.env.set(k, v);

/** Bound on one query against a faulty server, retries included, in ms. */
const FAULT_BOUND_MS = 30_000;

/** Page count over range GETs a full scan must reach at least. */
const MIN_PAGES_PER_GET = 10;

const BIG_ROWS = 10_000;
const BIG_TRANSACTIONS = 4;
const BIG_QUERY =
  "SELECT id, length(body) AS n, hex(substr(body, 1, 8)) AS head FROM big ORDER BY id";

/** Folders made once for the whole file, removed when it ends. */
const scratch: string[] = [];
globalThis.addEventListener("unload", () => {
  for (const dir of scratch) Deno.removeSync(dir, { recursive: true });
});

async function scratchDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-s3-remote-" });
  scratch.push(dir);
  return dir;
}

/** 50 LTX files: one table, then 49 small inserts, one process each. */
let manyFiles: Promise<string> | undefined;
function makeManyFiles(): Promise<string> {
  return manyFiles ??= (async () => {
    const root = `${await scratchDir()}/replica`;
    await makeLitestreamReplica(root, [
      "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
      ...Array.from(
        { length: 49 },
        (_, i) =>
          `INSERT INTO t (v) SELECT printf('tx %d row %d', ${i}, value) FROM generate_series(1, 20)`,
      ),
    ]);
    return root;
  })();
}

/** About 40 MB: 40,000 rows of 1,000 random bytes, in 4 transactions. */
let bigReplica: Promise<string> | undefined;
function makeBigReplica(): Promise<string> {
  return bigReplica ??= (async () => {
    const root = `${await scratchDir()}/replica`;
    await makeLitestreamReplica(root, [
      "CREATE TABLE big (id INTEGER PRIMARY KEY, body BLOB)",
      ...Array.from(
        { length: BIG_TRANSACTIONS },
        () =>
          `INSERT INTO big (body) SELECT randomblob(1000) FROM generate_series(1, ${BIG_ROWS})`,
      ),
    ]);
    return root;
  })();
}

/**
 * The big replica uploaded to a new s3rver as "big", with the rows of
 * {@linkcode BIG_QUERY} as its file:// twin gives them.
 */
async function bigOnS3(): Promise<
  { server: S3Server; want: unknown[] } & AsyncDisposable
> {
  const replica = await makeBigReplica();
  const server = await startS3Server();
  await server.upload(replica, "big");
  using local = open(`file://${replica}`);
  return {
    server,
    want: local.query(BIG_QUERY),
    [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
  };
}

function s3Url(server: S3Server, path: string): string {
  return `s3://${server.bucket}/${path}?endpoint=${server.endpoint}&forcePathStyle=true`;
}

function isLtxRangeGet(r: LoggedRequest): boolean {
  return r.kind === "GET" && r.range !== undefined && r.path.endsWith(".ltx");
}

/** What a request log holds, for messages. */
function describeLog(log: readonly LoggedRequest[]): string {
  const kinds = new Map<string, number>();
  for (const r of log) kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
  return [...kinds].map(([k, n]) => `${n} ${k}`).join(", ") || "no requests";
}

/** The most requests of a log that were in flight at one moment. */
function maxInFlight(log: readonly LoggedRequest[]): number {
  const edges = log.flatMap((r) => [[r.start, 1], [r.end, -1]])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, now += step);
  return most;
}

/** Waves by kind and concurrency, for messages about a wave count. */
function describeWaves(log: readonly LoggedRequest[]): string {
  const lists = log.filter((r) => r.kind === "LIST");
  const gets = log.filter((r) => r.kind === "GET");
  return `LISTs alone ${sequentialWaves(lists)} waves, GETs alone ${
    sequentialWaves(gets)
  } waves, at most ${maxInFlight(log)} requests in flight`;
}

/** The index of the first row where two results differ, or -1. */
function firstDifference(a: readonly unknown[], b: readonly unknown[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (JSON.stringify(a[i]) !== JSON.stringify(b[i])) return i;
  }
  return -1;
}

/** Asserts two query results are the same, row for row, without a 40,000-row diff. */
function assertSameRows(
  got: readonly unknown[],
  want: readonly unknown[],
  what: string,
): void {
  const at = firstDifference(got, want);
  assert.equal(
    at,
    -1,
    `${what}: row ${at} differs (${got.length} rows, want ${want.length}): got ${
      JSON.stringify(got[at])
    }, want ${JSON.stringify(want[at])}`,
  );
}

/** Asserts a clean failure: a SqliteError of the BUSY or IOERR family that names the storage problem. */
function assertStorageFailure(error: unknown, problem: RegExp): SqliteError {
  assert.ok(error instanceof SqliteError, `not a SqliteError: ${error}`);
  assert.ok(
    error.code === SQLITE_BUSY || error.code === SQLITE_IOERR,
    `code ${error.code} (extended ${error.extendedCode}): ${error.message}`,
  );
  assert.match(error.message, /S3 (read|list) "/);
  assert.match(error.message, problem);
  return error;
}

interface FaultRun {
  /** "rows" when the query returned the right rows, else the error message. */
  outcome: string;
  /** Open and query, in ms. */
  ms: number;
  /** The faults the proxy injected. */
  injected: { errors: number; drops: number; cuts: number };
}

/**
 * Opens the big replica with `faults` in force from before the open, runs
 * the full query and checks that it returns the file:// twin's rows, or
 * fails cleanly naming `problem`, within the bound; then, with the faults
 * cleared, that the connection returns the right rows.
 */
async function runWithFaults(
  server: S3Server,
  want: readonly unknown[],
  faults: Faults,
  problem: RegExp,
): Promise<FaultRun> {
  await server.setFaults(faults);
  const started = performance.now();
  let db: Database | undefined;
  let rows: unknown[] = [];
  let failure: unknown;
  try {
    db = open(s3Url(server, "big"));
    rows = db.query(BIG_QUERY);
  } catch (error) {
    failure = error;
  }
  const ms = performance.now() - started;
  const injected = await server.faultsInjected();
  await server.clearFaults();
  try {
    const outcome = failure === undefined
      ? "rows"
      : assertStorageFailure(failure, problem).message;
    console.log(
      `${JSON.stringify(faults)}: ${outcome} in ${ms.toFixed(0)} ms; injected ${
        JSON.stringify(injected)
      }`,
    );
    if (failure === undefined) {
      assertSameRows(rows, want, JSON.stringify(faults));
    }
    assert.ok(ms < FAULT_BOUND_MS, `took ${ms.toFixed(0)} ms`);
    if (db !== undefined) {
      assertSameRows(db.query(BIG_QUERY), want, "after the faults");
    }
    return { outcome, ms, injected };
  } finally {
    db?.close();
  }
}

Deno.test("open() opens a 50-file s3:// replica in at most 3 request waves", async () => {
  const replica = await makeManyFiles();
  const files = await listLtxFiles(replica);
  assert.ok(files.length >= 50, `${files.length} LTX files`);
  await using server = await startS3Server();
  await server.upload(replica, "many");
  using local = open(`file://${replica}`);

  // A round trip of 40 ms, as to a real bucket, so that requests sent
  // together overlap even when this machine is slow to open 50
  // connections: waves then count the client's round trips.
  await server.setFaults({ latencyMs: 40 });
  await server.resetCounts();
  const started = performance.now();
  using db = open(s3Url(server, "many"));
  const openMs = performance.now() - started;
  const atOpen = await server.requests();
  const openWaves = await server.waves();
  const first = db.get("SELECT * FROM t LIMIT 1");
  const firstMs = performance.now() - started;
  const toFirst = await server.requests();
  const firstWaves = await server.waves();
  console.log(
    `open() of ${files.length} files: ${openWaves} waves, ${atOpen.length} requests (${
      describeLog(atOpen)
    }; ${describeWaves(atOpen)}), ${
      openMs.toFixed(0)
    } ms; to the first row: ${firstWaves} waves, ${toFirst.length} requests (${
      describeLog(toFirst)
    }), ${firstMs.toFixed(0)} ms`,
  );

  assert.deepEqual(first, local.get("SELECT * FROM t LIMIT 1"));
  // Every file of the plan had its index read at open.
  const read = new Set(atOpen.filter(isLtxRangeGet).map((r) => r.path));
  assert.ok(read.size >= 50, `${read.size} LTX files read at open`);
  assert.ok(
    openWaves <= 3,
    `open() took ${openWaves} sequential request waves (${
      describeLog(atOpen)
    }; ${describeWaves(atOpen)})`,
  );
});

Deno.test("open() scans a 40 MB s3:// replica with 10x fewer range GETs than it has pages", async () => {
  const replica = await makeBigReplica();
  await using server = await startS3Server();
  await server.upload(replica, "big");

  await server.resetCounts();
  using db = open(s3Url(server, "big"));
  const atOpen = (await server.requests()).filter(isLtxRangeGet).length;
  const pages = db.get<{ page_count: number }>("PRAGMA page_count")!
    .page_count;
  const started = performance.now();
  const result = db.get(
    "SELECT count(*) AS n, sum(length(body)) AS bytes FROM big",
  );
  const scanMs = performance.now() - started;
  const log = await server.requests();
  const gets = log.filter(isLtxRangeGet).length;
  console.log(
    `scan of ${pages} pages: ${gets} range GETs of LTX files (${atOpen} at open), ${await server
      .waves()} waves, ${scanMs.toFixed(0)} ms; ${
      (pages / gets).toFixed(1)
    } pages per GET`,
  );

  const rows = BIG_ROWS * BIG_TRANSACTIONS;
  assert.deepEqual(result, { n: rows, bytes: rows * 1000 });
  assert.ok(pages * 4096 > 40_000_000, `${pages} pages`);
  assert.ok(
    gets * MIN_PAGES_PER_GET <= pages,
    `${gets} range GETs for ${pages} pages`,
  );
});

Deno.test("open() returns the same rows over s3:// when some GETs answer HTTP 500", async () => {
  await using big = await bigOnS3();
  const { server, want } = big;
  for (
    const faults of [{ errorEvery: 4 }, { errorRate: 0.3, seed: 7 }]
  ) {
    const run = await runWithFaults(server, want, faults, /HTTP 500/);
    assert.ok(run.injected.errors > 10, JSON.stringify(run.injected));
  }
});

Deno.test("open() returns the same rows over s3:// with 20 ms of latency per request", async () => {
  await using big = await bigOnS3();
  const { server, want } = big;
  await server.resetCounts();
  await server.setFaults({ latencyMs: 20 });
  const started = performance.now();
  using db = open(s3Url(server, "big"));
  const openMs = performance.now() - started;
  const openWaves = await server.waves();
  const rows = db.query(BIG_QUERY);
  const ms = performance.now() - started;
  const log = await server.requests();
  const waves = await server.waves();
  await server.clearFaults();
  console.log(
    `with 20 ms latency: open() ${openWaves} waves, ${
      openMs.toFixed(0)
    } ms; open() and the query ${waves} waves, ${log.length} requests (${
      describeLog(log)
    }), ${ms.toFixed(0)} ms`,
  );
  assertSameRows(rows, want, "with latency");
  // The latency was there, on every request, and the waves add up to the
  // time the query waited.
  const fast = log.filter((r) => r.end - r.start < 20);
  assert.equal(fast.length, 0, `${fast.length} requests took under 20 ms`);
  assert.ok(ms >= 20 * waves, `${waves} waves in ${ms.toFixed(0)} ms`);
  assert.ok(ms < FAULT_BOUND_MS, `took ${ms.toFixed(0)} ms`);
});

Deno.test("open() returns the same rows over s3:// when connections drop", async () => {
  await using big = await bigOnS3();
  const { server, want } = big;
  const dropped = await runWithFaults(
    server,
    want,
    { dropEvery: 5 },
    /socket|connection|ECONNRESET|hang up/i,
  );
  assert.ok(dropped.injected.drops > 10, JSON.stringify(dropped.injected));
  const cut = await runWithFaults(
    server,
    want,
    { cutEvery: 5 },
    /socket|connection|ECONNRESET|hang up|aborted|Short read/i,
  );
  assert.ok(cut.injected.cuts > 10, JSON.stringify(cut.injected));
});

/**
 * Opens the big replica on a healthy server, then makes GETs fail, and
 * expects the full query to fail cleanly within the bound and to work on
 * the same connection once they succeed again.
 */
async function failEveryGet(faults: Faults): Promise<void> {
  await using big = await bigOnS3();
  const { server, want } = big;
  using db = open(s3Url(server, "big"));
  await server.setFaults(faults);
  const started = performance.now();
  let failure: unknown;
  try {
    db.query(BIG_QUERY);
  } catch (error) {
    failure = error;
  }
  const ms = performance.now() - started;
  const injected = await server.faultsInjected();
  await server.clearFaults();
  console.log(
    `${JSON.stringify(faults)}: failed in ${ms.toFixed(0)} ms after ${
      JSON.stringify(injected)
    }: ${failure}`,
  );
  assert.ok(failure !== undefined, "the query succeeded on a failing server");
  assertStorageFailure(failure, /HTTP 500/);
  assert.ok(ms < FAULT_BOUND_MS, `took ${ms.toFixed(0)} ms`);
  assertSameRows(db.query(BIG_QUERY), want, "after the faults cleared");
}

Deno.test("open() fails with SQLITE_BUSY within 30 s when every GET fails, and works again once GETs succeed", async () => {
  await failEveryGet({ errorEvery: 1 });
});

Deno.test("open() fails with SQLITE_BUSY within 30 s when every range GET of an LTX file fails, and works again", async () => {
  await failEveryGet({ errorEvery: 1, ltxRangesOnly: true });
});

Deno.test("with a disk cache, the second scan of an s3:// replica makes no storage request and no engine page read", async () => {
  const replica = await makeBigReplica();
  const files = await listLtxFiles(replica);
  await using server = await startS3Server();
  await server.upload(replica, "big");
  const cacheDir = await scratchDir();
  const scan = "SELECT count(*) AS n, sum(length(body)) AS bytes FROM big";
  const rows = BIG_ROWS * BIG_TRANSACTIONS;

  using db = open(s3Url(server, "big"), { diskCache: cacheDir });
  assert.deepEqual(db.get(scan), { n: rows, bytes: rows * 1000 });
  // The files whose pages were read (all but those whose every page a later
  // file replaced) are copied whole, in the background: wait until no copy
  // is under way and the count holds still.
  const copies = () => {
    const names: string[] = [];
    const walk = (dir: string) => {
      for (const entry of Deno.readDirSync(dir)) {
        if (entry.isDirectory) walk(`${dir}/${entry.name}`);
        else names.push(entry.name);
      }
    };
    walk(cacheDir);
    return {
      done: names.filter((n) => n.endsWith(".ltx")).length,
      writing: names.some((n) => n.endsWith(".tmp")),
    };
  };
  const deadline = Date.now() + 30_000;
  let last = -1;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const now = copies();
    if (!now.writing && now.done > 0 && now.done === last) break;
    assert.ok(Date.now() < deadline, `copies: ${JSON.stringify(now)}`);
    last = now.done;
  }
  assert.ok(
    last >= files.length - 1,
    `${last} of ${files.length} files copied`,
  );

  await server.resetCounts();
  const before = cacheStats()!;
  assert.deepEqual(db.get(scan), { n: rows, bytes: rows * 1000 });
  const after = cacheStats()!;
  const gets = (await server.requests()).filter((r) => r.kind === "GET");
  assert.deepEqual(gets, [], "storage GETs in the second scan");
  assert.equal(after.engineReads - before.engineReads, 0, "engine page reads");
  assert.ok(after.localReads - before.localReads > 9000);
});
