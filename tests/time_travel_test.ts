/**
 * Time travel, the SQL functions and PRAGMAs, configuration and logging,
 * end to end: replicas written over time by Litestream's own extension (one
 * process per transaction, real sleeps between, so their timestamps differ)
 * and by our encoder (chosen timestamps, compacted levels), opened with
 * `open()` through the shim and the engine.
 */

import assert from "node:assert/strict";
import {
  ConfigError,
  Database,
  open,
  register,
  SqliteError,
  TimeTravelError,
} from "../mod.ts";
import { formatTime } from "../src/engine/mod.ts";
import {
  decodeHeader,
  formatTxid,
  HEADER_SIZE,
  ltxPath,
} from "../src/ltx/mod.ts";
import { SQLITE_CANTOPEN } from "../src/sqlite/mod.ts";
import { ReplicaWriter } from "../tasks/_replica_writer.ts";
import { Database as PlainDatabase } from "../src/sqlite/mod.ts";
import { makeLitestreamReplica, queryWithLitestream } from "./_litestream.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** A subquery of `n` rows numbered from 1 (SQLite 3.40 has no generate_series). */
function rows(n: number): string {
  return `(WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < ${n}) SELECT value FROM s)`;
}

const insert = (n: number) =>
  `INSERT INTO t (body) SELECT printf('row %d', value) FROM ${rows(n)}`;

/** One transaction of the history: its TXID, the row count it left, when. */
interface Commit {
  txid: bigint;
  count: number;
  /** The LTX header timestamp of its file, ms. */
  time: number;
}

const HISTORY: [string, number][] = [
  [`CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT); ${insert(10)}`, 10],
  [insert(20), 30],
  [insert(40), 70],
  ["DELETE FROM t WHERE id % 2 = 0", 35],
];

const scratch = Deno.makeTempDirSync({ prefix: "lsvfs-time-travel-" });
const litestreamReplica = `${scratch}/litestream`;
let history: Promise<Commit[]> | undefined;

function headerTime(replica: string, level: number, min: bigint, max: bigint) {
  const path = `${replica}/${ltxPath(level, min, max)}`;
  const file = Deno.openSync(path);
  try {
    const head = new Uint8Array(HEADER_SIZE);
    file.readSync(head);
    return decodeHeader(head, path).timestamp;
  } finally {
    file.close();
  }
}

/**
 * The replica Litestream's extension writes, one transaction a process,
 * about 1.1 s apart; made once, by the first test that needs it.
 */
function litestreamHistory(): Promise<Commit[]> {
  history ??= (async () => {
    const commits: Commit[] = [];
    for (const [i, [sql, count]] of HISTORY.entries()) {
      if (i > 0) await new Promise((r) => setTimeout(r, 1100));
      await makeLitestreamReplica(litestreamReplica, [sql]);
      const txid = BigInt(i + 1);
      commits.push({
        txid,
        count,
        time: headerTime(litestreamReplica, 0, txid, txid),
      });
    }
    return commits;
  })();
  return history;
}

/** A copy of the Litestream replica (modification times kept) to write to. */
async function copyOfHistory(name: string): Promise<string> {
  await litestreamHistory();
  const copy = `${scratch}/${name}`;
  const cp = await new Deno.Command("cp", {
    args: ["-a", litestreamReplica, copy],
  }).output();
  assert.ok(cp.success);
  return copy;
}

function count(db: Database): number {
  return db.get<{ n: number }>("SELECT count(*) AS n FROM t")!.n;
}

/** Waits past a poll interval of 50 ms. */
const pollWait = () => new Promise((r) => setTimeout(r, 120));

Deno.test("time travel over a replica Litestream wrote over time shows what was committed then", async () => {
  const commits = await litestreamHistory();
  for (let i = 1; i < commits.length; i++) {
    assert.ok(commits[i].time > commits[i - 1].time, "timestamps differ");
  }
  using db = open(`file://${litestreamReplica}`, { pollInterval: 50 });
  const last = commits.at(-1)!;
  assert.equal(count(db), last.count);
  // Live: the time of the file that supplied the view, as Litestream's.
  assert.deepEqual(db.replicaState(), {
    txid: formatTxid(last.txid),
    time: formatTime(last.time),
    lag: 0,
  });

  for (const [i, commit] of commits.entries()) {
    // At its commit time, in several spellings.
    const at = new Date(commit.time);
    const plus2 = new Date(commit.time + 2 * 3_600_000).toISOString()
      .replace("Z", "+02:00");
    for (const time of [formatTime(commit.time), at, plus2]) {
      db.setTime(time);
      assert.equal(count(db), commit.count, `${commit.txid} at ${time}`);
      const state = db.replicaState();
      assert.equal(state.txid, formatTxid(commit.txid));
      assert.equal(state.time, formatTime(commit.time));
    }
    // Between this commit and the next: still this one.
    const next = commits[i + 1]?.time ?? commit.time + 60_000;
    db.setTime(new Date(Math.floor((commit.time + next) / 2)));
    assert.equal(count(db), commit.count);
    assert.equal(
      db.get("SELECT litestream_txid() AS x")!.x,
      formatTxid(commit.txid),
    );
  }

  // The PRAGMA forms.
  const second = commits[1];
  assert.deepEqual(
    db.values(`PRAGMA litestream_time = '${formatTime(second.time)}'`),
    [],
  );
  assert.deepEqual(db.values("PRAGMA litestream_time"), [[
    formatTime(second.time),
  ]]);
  assert.deepEqual(db.values("PRAGMA litestream_txid"), [[
    formatTxid(second.txid),
  ]]);
  assert.equal(count(db), second.count);

  db.setTime("LATEST");
  assert.equal(count(db), last.count);
  assert.equal(db.replicaState().txid, formatTxid(last.txid));
});

Deno.test("time travel agrees with Litestream's own extension at the same times", async () => {
  const commits = await litestreamHistory();
  using db = open(`file://${litestreamReplica}`);
  // Litestream takes files strictly before the target: 1 ms past a commit.
  for (const commit of [commits[1], commits[2]]) {
    const time = formatTime(commit.time + 1);
    const theirs = await queryWithLitestream(
      litestreamReplica,
      `SELECT litestream_set_time('${time}');\nSELECT count(*) FROM t;\nSELECT litestream_txid();`,
    );
    db.setTime(time);
    assert.deepEqual(theirs.split("\n").slice(-2), [
      String(count(db)),
      db.replicaState().txid,
    ]);
  }
});

Deno.test("time travel errors say what is available and leave the connection usable", async () => {
  const commits = await litestreamHistory();
  using db = open(`file://${litestreamReplica}`);
  db.setTime(formatTime(commits[1].time));
  const oldest = `the oldest available is ${
    formatTime(commits[0].time)
  } (TXID 0000000000000001)`;
  for (const time of ["2000-01-01T00:00:00Z", "1 week ago", "yesterday"]) {
    assert.throws(
      () => db.setTime(time),
      (error: unknown) => {
        assert.ok(error instanceof SqliteError, String(error));
        assert.ok(error.cause instanceof TimeTravelError);
        assert.match(
          error.message,
          /No state of "file:\/\/\/.*" at or before /,
        );
        assert.ok(error.message.includes(oldest), error.message);
        return true;
      },
      time,
    );
    assert.equal(count(db), commits[1].count);
  }
  assert.throws(
    () => db.setTime("2000-01-01T00:00:00Z"),
    /at or before 2000-01-01T00:00:00Z: the oldest/,
  );
  for (const bad of ["next blue moon", "2024-02-30T00:00:00Z", ""]) {
    assert.throws(
      () => db.setTime(bad),
      (error: unknown) => {
        assert.ok(error instanceof SqliteError);
        assert.ok(
          error.message.includes(`Invalid time "${bad}": use RFC 3339`),
          error.message,
        );
        assert.match(error.message, /"5 minutes ago"/);
        return true;
      },
    );
  }
  assert.throws(
    () => db.values("PRAGMA litestream_time = 'garbage'"),
    (error: unknown) =>
      error instanceof SqliteError &&
      error.message.includes('Invalid time "garbage"'),
  );
  assert.throws(
    () => db.values("PRAGMA litestream_txid = '5'"),
    /PRAGMA litestream_txid is read-only/,
  );
  // Still usable, still where it was, and it travels again.
  assert.equal(count(db), commits[1].count);
  assert.equal(db.replicaState().txid, formatTxid(commits[1].txid));
  db.setTime(formatTime(commits[2].time));
  assert.equal(count(db), commits[2].count);
});

Deno.test("a connection in time travel keeps its view while another reads latest; LATEST polls again", async () => {
  const commits = await litestreamHistory();
  const replica = await copyOfHistory("two-connections");
  const url = `file://${replica}`;
  using past = open(url, { pollInterval: 50 });
  using live = open(url, { pollInterval: 50 });
  past.setTime(formatTime(commits[1].time));
  assert.equal(count(past), commits[1].count);
  assert.equal(count(live), commits.at(-1)!.count);

  await makeLitestreamReplica(replica, [insert(100)]);
  await pollWait();
  const fifth = commits.at(-1)!.count + 100;
  assert.equal(count(live), fifth);
  assert.equal(live.replicaState().txid, "0000000000000005");
  assert.equal(count(past), commits[1].count);
  assert.equal(past.replicaState().txid, formatTxid(commits[1].txid));

  past.setTime("latest");
  assert.equal(count(past), fifth);
  await makeLitestreamReplica(replica, ["DELETE FROM t"]);
  await pollWait();
  assert.equal(count(past), 0);
  assert.equal(count(live), 0);
  assert.equal(past.replicaState().txid, "0000000000000006");
});

Deno.test("litestream_set_time() inside a read transaction applies when it ends", async () => {
  const commits = await litestreamHistory();
  using db = open(`file://${litestreamReplica}`);
  const last = commits.at(-1)!;
  db.exec("BEGIN");
  assert.equal(count(db), last.count);
  db.setTime(formatTime(commits[0].time));
  // The read transaction keeps its snapshot, and says so.
  assert.equal(count(db), last.count);
  assert.equal(db.replicaState().txid, formatTxid(last.txid));
  db.exec("COMMIT");
  assert.equal(db.replicaState().txid, "0000000000000001");
  assert.equal(count(db), commits[0].count);
});

Deno.test("time travel over snapshot, compacted and level-0 files uses header times", () => {
  // Commit k at (now - 10 h) + k h; a snapshot for 1-3, level 1 for 4-6,
  // level 0 kept for 6-8 only: states 4 and 5 are gone.
  const dir = `${scratch}/compacted`;
  const source = `${dir}/source.db`;
  const hour = 3_600_000;
  const t0 = Date.now() - 10 * hour;
  const writer = new ReplicaWriter(`${dir}/replica`, 4096);
  {
    Deno.mkdirSync(dir);
    using plain = new PlainDatabase(source);
    plain.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)");
    writer.commit(Deno.readFileSync(source), { timestamp: t0 + hour });
    for (let k = 2; k <= 8; k++) {
      plain.exec(insert(k));
      writer.commit(Deno.readFileSync(source), { timestamp: t0 + k * hour });
    }
  }
  const counts = [0, 0, 2, 5, 9, 14, 20, 27, 35]; // by TXID
  writer.compact(9, 1n, 3n, { timestamp: t0 + 3 * hour });
  writer.compact(1, 4n, 6n, { timestamp: t0 + 6 * hour });
  for (let k = 1n; k <= 5n; k++) {
    Deno.removeSync(`${dir}/replica/${ltxPath(0, k, k)}`);
  }
  using db = open(`file://${dir}/replica`);
  assert.equal(count(db), counts[8]);
  const cases: [string, number][] = [
    [formatTime(t0 + 3 * hour), 3],
    [formatTime(t0 + 5.5 * hour), 3], // 4 and 5 are gone: the newest before
    [formatTime(t0 + 6 * hour), 6], // the level-1 file's own time
    ["2 hours ago", 8],
    ["3 hours ago", 7], // t0 + 7 h
    ["5 hours ago", 3], // t0 + 5 h
  ];
  for (const [time, txid] of cases) {
    db.setTime(time);
    assert.equal(count(db), counts[txid], time);
    assert.equal(db.replicaState().txid, formatTxid(BigInt(txid)), time);
    assert.equal(
      db.replicaState().time,
      formatTime(t0 + txid * hour),
      time,
    );
  }
  assert.throws(
    () => db.setTime("8 hours ago"),
    new RegExp(
      `the oldest available is ${
        formatTime(t0 + 3 * hour).replaceAll(".", "\\.")
      } \\(TXID 0000000000000003\\)`,
    ),
  );
});

Deno.test("settings from open(), URI parameters and the environment are validated by name", async () => {
  await litestreamHistory();
  const url = `file://${litestreamReplica}`;
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => open(url, { logLevel: "LOUD" as any }),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message ===
        'Invalid logLevel "LOUD": use DEBUG, INFO, WARN or ERROR',
  );
  register();
  const uri = (extra: string) =>
    `file:x.db?vfs=litestream&replica_url=${encodeURIComponent(url)}&${extra}`;
  const cases: [string, RegExp][] = [
    [
      "log_level=LOUD",
      /Invalid log_level "LOUD": use DEBUG, INFO, WARN or ERROR/,
    ],
    [
      "cache_size=10MB",
      /Invalid cache_size "10MB": use a whole number of bytes/,
    ],
    ["poll_interval=soon", /Invalid poll_interval "soon"/],
    ["write_enabled=perhaps", /Invalid write_enabled "perhaps"/],
    ["write_enabled=true&sync_interval=often", /Invalid sync_interval "often"/],
  ];
  for (const [extra, pattern] of cases) {
    assert.throws(
      () => new Database(uri(extra), { readonly: true }),
      (error: unknown) => {
        assert.ok(error instanceof SqliteError, String(error));
        assert.equal(error.code, SQLITE_CANTOPEN);
        assert.match(error.message, pattern);
        return true;
      },
      extra,
    );
  }

  // The environment, in a process of its own (variables are process-wide).
  const script = `${scratch}/open.ts`;
  Deno.writeTextFileSync(
    script,
    `import { open } from "${ROOT}mod.ts";
try { open(Deno.args[0]).close(); console.log("opened"); }
catch (e) { console.log(e.message); }`,
  );
  const run = async (env: Record<string, string>) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "--no-check",
        "--config",
        `${ROOT}deno.json`,
        script,
        url,
      ],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout).trim();
  };
  const [level, write, interval, fine] = await Promise.all([
    run({ LITESTREAM_LOG_LEVEL: "chatty" }),
    run({ LITESTREAM_WRITE_ENABLED: "sometimes" }),
    run({
      LITESTREAM_WRITE_ENABLED: "false",
      LITESTREAM_SYNC_INTERVAL: "1 sec",
    }),
    run({ LITESTREAM_LOG_LEVEL: "error", LITESTREAM_WRITE_ENABLED: "false" }),
  ]);
  assert.match(
    level,
    /Invalid LITESTREAM_LOG_LEVEL "chatty": use DEBUG, INFO, WARN or ERROR/,
  );
  assert.match(write, /Invalid LITESTREAM_WRITE_ENABLED "sometimes"/);
  assert.match(interval, /Invalid LITESTREAM_SYNC_INTERVAL "1 sec"/);
  assert.equal(fine, "opened");
});

Deno.test("the log: DEBUG shows page fetches and cache counters, never credentials; ERROR means errors only", async () => {
  const commits = await litestreamHistory();
  const log = `${scratch}/debug.log`;
  {
    using db = open(`file://${litestreamReplica}?token=s3cr3t`, {
      logLevel: "DEBUG",
      logFile: log,
    });
    assert.equal(count(db), commits.at(-1)!.count);
    assert.equal(count(db), commits.at(-1)!.count); // from the caches
    db.setTime(formatTime(commits[0].time));
    assert.equal(count(db), commits[0].count);
  }
  const text = Deno.readTextFileSync(log);
  assert.ok(!text.includes("s3cr3t"), text);
  assert.match(text, /replica="file:\/\/\/\S+\?token=\*\*\*"/);
  assert.match(
    text,
    /level=DEBUG msg="fetch pages" pgno=1 first=1 pages=\d+ file=\S+\.ltx offset=\d+ size=\d+/,
  );
  assert.match(
    text,
    /level=DEBUG msg="time travel" target=\S+ txid=0000000000000001/,
  );
  assert.match(
    text,
    /level=DEBUG msg=closed txid=0000000000000001 cache_hits=\d+ cache_misses=\d+/,
  );
  const hits = Number(/cache_hits=(\d+)/.exec(text)![1]);
  assert.ok(hits > 0, "the second count was served by the shim's cache");

  // Litestream's extension ignores ERROR (it logs INFO); here ERROR means
  // errors only. Hydration into a folder that does not exist logs a WARN.
  register();
  const warned = async (level: string) => {
    const path = `${scratch}/${level}.log`;
    const db = new Database(
      `file:w.db?vfs=litestream&replica_url=${
        encodeURIComponent(`file://${litestreamReplica}`)
      }&hydration_enabled=true&hydration_path=${
        encodeURIComponent(`${scratch}/no-such-folder/h.db`)
      }&log_level=${level}&log_file=${encodeURIComponent(path)}`,
      { readonly: true },
    );
    db.setTime(formatTime(commits[0].time));
    assert.equal(count(db), commits[0].count);
    const status = () =>
      JSON.parse(
        String(Object.values(db.get("PRAGMA litestream_hydration")!)[0]),
      )
        .status;
    const deadline = Date.now() + 10_000;
    while (status() !== "failed" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(status(), "failed");
    db.close();
    return Deno.readTextFileSync(path);
  };
  assert.equal(await warned("ERROR"), "");
  assert.match(
    await warned("WARN"),
    /^time=\S+ level=WARN msg="hydration failed: reads go to the replica until it works" error="[^"]*no-such-folder[^"]*" replica=file:\/\/\/\S+ hydration=\S+\n$/,
  );
});

Deno.test("cleanup", async () => {
  await history?.catch(() => {});
  await Deno.remove(scratch, { recursive: true });
});
