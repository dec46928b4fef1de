import assert from "node:assert/strict";
import { ReplicaWriter } from "../../tasks/_replica_writer.ts";
import { Database } from "../sqlite/mod.ts";
import { FileReplicaClient } from "../storage/mod.ts";
import { decodeFile, encodeFile, InvalidFrameError } from "../ltx/mod.ts";
import { Logger } from "../log/mod.ts";
import {
  PageNotFoundError,
  ReplicaNotFoundError,
  TimeTravelError,
  TxidGapError,
} from "./errors.ts";
import { Replica } from "./replica.ts";
import { ReplicaView } from "./view.ts";

/** A subquery of `n` rows numbered from 1 (SQLite 3.40 has no generate_series). */
function rows(n: number): string {
  return `(WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < ${n}) SELECT value FROM s)`;
}

/** A plain SQLite file and a replica of its successive states. */
async function makeReplica(pageSize = 4096) {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-view-" });
  const dbPath = `${dir}/source.db`;
  const db = new Database(dbPath);
  db.exec(`PRAGMA page_size = ${pageSize}`);
  const writer = new ReplicaWriter(`${dir}/replica`, pageSize);
  const states: Uint8Array[] = [];
  const commit = (sql: string, timestamp?: number) => {
    db.exec(sql);
    const bytes = Deno.readFileSync(dbPath);
    states.push(bytes);
    writer.commit(bytes, { timestamp });
  };
  return {
    dir,
    writer,
    states,
    commit,
    [Symbol.asyncDispose]: async () => {
      db.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function openView(root: string, now = () => 0, pollIntervalMs = 1000) {
  const replica = new Replica(new FileReplicaClient(root));
  return new ReplicaView(replica, {
    replicaUrl: `file://${root}`,
    pollIntervalMs,
  }, { now, onClose: () => replica.close() });
}

/** Every page of the view, page 1's patched header bytes set back to the source's. */
function readAll(view: ReplicaView, source: Uint8Array): Uint8Array {
  const out = new Uint8Array(view.size());
  for (let pgno = 1; pgno * view.pageSize <= out.length; pgno++) {
    view.readPages(
      pgno,
      out.subarray((pgno - 1) * view.pageSize, pgno * view.pageSize),
    );
  }
  for (
    const offset of [18, 19, 24, 25, 26, 27, 28, 29, 30, 31, 92, 93, 94, 95]
  ) {
    out[offset] = source[offset];
  }
  return out;
}

Deno.test("ReplicaView serves the bytes of the latest state", async () => {
  for (const pageSize of [512, 4096, 65536]) {
    await using r = await makeReplica(pageSize);
    r.commit("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)");
    r.commit(
      `INSERT INTO t (body) SELECT printf('row %d %s', value, hex(randomblob(50))) FROM ${
        rows(300)
      }`,
    );
    r.commit("DELETE FROM t WHERE id % 3 = 0");
    const view = openView(`${r.dir}/replica`);
    assert.equal(view.pageSize, pageSize);
    assert.equal(view.beginRead(), 3n);
    const latest = r.states[2];
    assert.deepEqual(readAll(view, latest), latest);
    view.endRead();
    view.close();
  }
});

Deno.test("ReplicaView presents page 1 in rollback mode with a TXID change counter", async () => {
  await using r = await makeReplica();
  r.commit("PRAGMA journal_mode = WAL; CREATE TABLE t (x)");
  r.commit("INSERT INTO t VALUES (1)");
  const view = openView(`${r.dir}/replica`);
  view.beginRead();
  const page = new Uint8Array(view.pageSize);
  view.readPages(1, page);
  const header = new DataView(page.buffer);
  assert.equal(page[18], 1);
  assert.equal(page[19], 1);
  assert.equal(header.getUint32(24), 2);
  assert.equal(header.getUint32(92), 2);
  assert.equal(header.getUint32(28), view.size() / view.pageSize);
  view.close();
});

Deno.test("ReplicaView opens a snapshot + level-1 + level-0 replica to the same bytes as its level-0 twin", async () => {
  await using r = await makeReplica(1024);
  r.commit("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)");
  for (let i = 0; i < 8; i++) {
    r.commit(
      `INSERT INTO t (body) SELECT randomblob(300) FROM ${rows(20 + i)}`,
    );
  }
  r.commit("UPDATE t SET body = randomblob(10) WHERE id % 2 = 0");
  r.commit("DELETE FROM t WHERE id > 100; VACUUM");
  const twin = openView(`${r.dir}/replica`);
  twin.beginRead();
  const expected = readAll(twin, r.states.at(-1)!);
  twin.close();
  assert.deepEqual(expected, r.states.at(-1));

  r.writer.compact(9, 1n, 4n);
  r.writer.compact(1, 3n, 8n);
  for (let txid = 1n; txid <= 8n; txid++) {
    const name = `${txid.toString(16).padStart(16, "0")}`;
    Deno.removeSync(`${r.dir}/replica/ltx/0/${name}-${name}.ltx`);
  }
  const layered = openView(`${r.dir}/replica`);
  assert.equal(layered.beginRead(), 11n);
  assert.deepEqual(readAll(layered, r.states.at(-1)!), expected);
  layered.close();
});

Deno.test("ReplicaView.beginRead() moves to new transactions only once the poll interval has passed", async () => {
  await using r = await makeReplica();
  r.commit("CREATE TABLE t (x)");
  let now = 0;
  const view = openView(`${r.dir}/replica`, () => now, 1000);
  assert.equal(view.beginRead(), 1n);
  r.commit(`INSERT INTO t SELECT randomblob(5000) FROM ${rows(20)}`);
  // Inside the read transaction the view must not move, whatever the clock.
  now = 5000;
  const sizeBefore = view.size();
  view.endRead();
  now = 5500;
  assert.equal(view.beginRead(), 2n, "polled: interval passed");
  assert.ok(view.size() > sizeBefore);
  view.endRead();
  r.commit("DELETE FROM t");
  now = 5600;
  assert.equal(view.beginRead(), 2n, "not polled: 100 ms since the last poll");
  view.endRead();
  now = 6600;
  assert.equal(view.beginRead(), 3n);
  assert.deepEqual(readAll(view, r.states[2]), r.states[2]);
  view.close();
});

Deno.test("ReplicaView reports an empty or missing replica as not found", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const root of [dir, `${dir}/missing`]) {
      assert.throws(() => openView(root), ReplicaNotFoundError);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ReplicaView refuses a replica with a gap in its TXID chain", async () => {
  await using r = await makeReplica();
  r.commit("CREATE TABLE t (x)");
  r.commit("INSERT INTO t VALUES (1)");
  r.commit("INSERT INTO t VALUES (2)");
  Deno.removeSync(
    `${r.dir}/replica/ltx/0/0000000000000002-0000000000000002.ltx`,
  );
  assert.throws(() => openView(`${r.dir}/replica`), TxidGapError);
});

Deno.test("ReplicaView.readPages() names the file of a corrupt frame", async () => {
  await using r = await makeReplica();
  r.commit("CREATE TABLE t (x); INSERT INTO t VALUES (randomblob(3000))");
  const path = `${r.dir}/replica/ltx/0/0000000000000001-0000000000000001.ltx`;
  const bytes = Deno.readFileSync(path);
  // Page 1's frame: header at 100, its page number in the first 4 bytes.
  bytes[100 + 3] = 9;
  Deno.writeFileSync(path, bytes);
  const view = openView(`${r.dir}/replica`);
  view.beginRead();
  assert.throws(
    () => view.readPages(1, new Uint8Array(view.pageSize)),
    (error: unknown) =>
      error instanceof InvalidFrameError &&
      error.message.includes("0000000000000001-0000000000000001.ltx"),
  );
  view.close();
});

Deno.test("ReplicaView.readPages() zero-fills past the end and refuses a page no file holds", async () => {
  await using r = await makeReplica();
  r.commit(
    `CREATE TABLE t (x); INSERT INTO t SELECT randomblob(3000) FROM ${rows(5)}`,
  );
  const view = openView(`${r.dir}/replica`);
  view.beginRead();
  // Past the end of the database: zeros, as a short file would give.
  const page = new Uint8Array(view.pageSize).fill(7);
  view.readPages(view.size() / view.pageSize + 1, page);
  assert.ok(page.every((b) => b === 0));
  view.close();
  // A later file that claims a bigger database without holding its pages.
  r.commit(`INSERT INTO t SELECT randomblob(3000) FROM ${rows(3)}`);
  const path = `${r.dir}/replica/ltx/0/0000000000000002-0000000000000002.ltx`;
  const spec = decodeFile(Deno.readFileSync(path), { file: path });
  const last = spec.pages.at(-1)!.pgno;
  Deno.writeFileSync(
    path,
    encodeFile({
      header: spec.header,
      pages: spec.pages.filter((p) => p.pgno !== last),
      postApplyChecksum: spec.postApplyChecksum,
    }),
  );
  const grown = openView(`${r.dir}/replica`);
  grown.beginRead();
  assert.throws(
    () => grown.readPages(last, page),
    (error: unknown) =>
      error instanceof PageNotFoundError &&
      error.message.includes(`Page ${last} of`),
  );
  grown.close();
});

const HOUR = 3_600_000;
/** Commit k (1-based) of the time-travel replicas is at T0 + k hours. */
const T0 = Date.UTC(2024, 4, 10, 0, 0, 0);

/** A replica of 5 commits an hour apart: table t with k * 10 rows at TXID k. */
async function makeHourlyReplica() {
  const r = await makeReplica();
  r.commit("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)", T0 + HOUR);
  for (let k = 1; k <= 4; k++) {
    r.commit(
      `INSERT INTO t (body) SELECT printf('row %d', value) FROM ${rows(10)}`,
      T0 + (k + 1) * HOUR,
    );
  }
  return r;
}

Deno.test("ReplicaView.setTime() shows the newest state at or before a time", async () => {
  await using r = await makeHourlyReplica();
  let now = T0 + 10 * HOUR;
  const view = openView(`${r.dir}/replica`, () => now);
  try {
    assert.equal(view.txid, 5n);
    assert.equal(view.pragma("litestream_time", null), "2024-05-10T05:00:00Z");
    assert.equal(view.targetTime, undefined);

    view.setTime("2024-05-10T02:30:00Z");
    assert.equal(view.txid, 2n);
    assert.equal(view.targetTime, T0 + 2.5 * HOUR);
    assert.deepEqual(readAll(view, r.states[1]), r.states[1]);
    assert.equal(view.pragma("litestream_txid", null), "0000000000000002");
    // The view's time is its state's commit time, not the target.
    assert.equal(view.pragma("litestream_time", null), "2024-05-10T02:00:00Z");

    // Exactly at a commit's time, that commit counts.
    assert.equal(view.pragma("LITESTREAM_TIME", "2024-05-10T03:00:00Z"), null);
    assert.equal(view.txid, 3n);
    assert.deepEqual(readAll(view, r.states[2]), r.states[2]);

    // Relative times against the clock: 10:00 - 7 h = 03:00.
    view.setTime("7 hours ago");
    assert.equal(view.txid, 3n);
    view.setTime("481 minutes ago"); // 01:59
    assert.equal(view.txid, 1n);
    now = T0 + 28 * HOUR; // the next day, 04:00
    view.setTime("yesterday"); // 04:00 the day before
    assert.equal(view.txid, 4n);

    view.setTime("latest");
    assert.equal(view.txid, 5n);
    assert.equal(view.targetTime, undefined);
    assert.deepEqual(readAll(view, r.states[4]), r.states[4]);
  } finally {
    view.close();
  }
});

Deno.test("ReplicaView.setTime() errors leave the view as it was", async () => {
  await using r = await makeHourlyReplica();
  const view = openView(`${r.dir}/replica`, () => T0 + 10 * HOUR);
  try {
    view.setTime("2024-05-10T04:00:00Z");
    assert.throws(
      () => view.setTime("2 days ago"),
      (error: unknown) =>
        error instanceof TimeTravelError &&
        error.message.includes("at or before 2024-05-08T10:00:00Z") &&
        error.message.includes(
          "the oldest available is 2024-05-10T01:00:00Z (TXID 0000000000000001)",
        ),
    );
    assert.throws(
      () => view.pragma("litestream_time", "someday"),
      (error: unknown) =>
        error instanceof SyntaxError &&
        error.message.startsWith('Invalid time "someday": use RFC 3339'),
    );
    assert.equal(view.txid, 4n);
    assert.deepEqual(readAll(view, r.states[3]), r.states[3]);
  } finally {
    view.close();
  }
});

Deno.test("ReplicaView.setTime() inside a read moves the view when the read ends", async () => {
  await using r = await makeHourlyReplica();
  const view = openView(`${r.dir}/replica`, () => T0 + 10 * HOUR);
  try {
    assert.equal(view.beginRead(), 5n);
    view.setTime("2024-05-10T01:00:00Z");
    assert.equal(view.txid, 5n);
    assert.equal(view.pragma("litestream_txid", null), "0000000000000005");
    assert.deepEqual(readAll(view, r.states[4]), r.states[4]);
    view.endRead();
    assert.equal(view.txid, 1n);
    // Back in time, the version still moves on: it never repeats.
    assert.equal(view.beginRead(), 6n);
    assert.equal(view.txid, 1n);
    view.endRead();
  } finally {
    view.close();
  }
});

Deno.test("ReplicaView in time travel stops polling; LATEST polls again", async () => {
  await using r = await makeHourlyReplica();
  let now = T0 + 10 * HOUR;
  const view = openView(`${r.dir}/replica`, () => now, 1000);
  try {
    view.setTime("2024-05-10T03:00:00Z");
    r.commit("DELETE FROM t", T0 + 11 * HOUR);
    now += 5000;
    assert.equal(view.beginRead(), 6n);
    assert.equal(view.txid, 3n);
    view.endRead();
    // Polls stopped: the lag grows from the open's listing.
    assert.equal(view.pragma("litestream_lag", null), "5");
    view.setTime("LATEST");
    assert.equal(view.txid, 6n);
    assert.equal(view.lag(), 0);
    r.commit("INSERT INTO t (body) VALUES ('again')", T0 + 12 * HOUR);
    now += 1000;
    assert.equal(view.beginRead(), 7n);
    view.endRead();
  } finally {
    view.close();
  }
});

Deno.test("ReplicaView.lag() counts whole seconds since the last successful poll", async () => {
  await using r = await makeHourlyReplica();
  let now = 1_000_000;
  const view = openView(`${r.dir}/replica`, () => now, 1000);
  try {
    assert.equal(view.lag(), 0); // the open listed the replica
    now += 2999;
    assert.equal(view.lag(), 2);
    view.beginRead(); // polls
    view.endRead();
    assert.equal(view.lag(), 0);
    // A failed poll (the replica is gone) keeps the view and the lag grows.
    await Deno.remove(`${r.dir}/replica`, { recursive: true });
    now += 4000;
    assert.equal(view.beginRead(), 5n);
    view.endRead();
    assert.equal(view.lag(), 4);
  } finally {
    view.close();
  }
});

Deno.test("ReplicaView.pragma() answers litestream_* and leaves the rest to SQLite", async () => {
  await using r = await makeHourlyReplica();
  const view = openView(`${r.dir}/replica`, () => T0 + 10 * HOUR);
  try {
    assert.equal(view.pragma("litestream_txid", null), "0000000000000005");
    assert.equal(view.pragma("litestream_write_enabled", null), "0");
    assert.equal(view.pragma("litestream_write_enabled", "off"), null);
    assert.throws(
      () => view.pragma("litestream_write_enabled", "1"),
      /opened read-only: open it with write_enabled=true/,
    );
    assert.throws(
      () => view.pragma("litestream_txid", "7"),
      /^TypeError: PRAGMA litestream_txid is read-only$/,
    );
    assert.throws(
      () => view.pragma("litestream_lag", "0"),
      /PRAGMA litestream_lag is read-only/,
    );
    assert.equal(view.pragma("litestream_nope", null), undefined);
    assert.equal(view.pragma("page_count", null), undefined);
  } finally {
    view.close();
  }
});

Deno.test("ReplicaView logs page fetches at DEBUG, and the shim's counters at close", async () => {
  await using r = await makeHourlyReplica();
  const lines: string[] = [];
  const replica = new Replica(new FileReplicaClient(`${r.dir}/replica`));
  const view = new ReplicaView(replica, {
    replicaUrl: `file://${r.dir}/replica`,
    pollIntervalMs: 1000,
  }, {
    now: () => 0,
    onClose: () => replica.close(),
    logger: new Logger({
      level: "DEBUG",
      sink: { write: (line) => lines.push(line) },
      fields: { replica: "file:///r" },
      now: () => 0,
    }),
  });
  const page = new Uint8Array(view.pageSize);
  view.beginRead();
  view.readPages(2, page);
  view.endRead();
  view.close({
    hits: 7,
    misses: 1,
    evictions: 0,
    drops: 0,
    bytes: 4096,
    pages: 1,
    maxBytes: 1 << 20,
    localReads: 0,
    engineReads: 0,
  });
  assert.match(lines[0], /level=DEBUG msg=opened txid=0000000000000005 /);
  assert.match(
    lines[1],
    /level=DEBUG msg="fetch pages" pgno=2 first=2 pages=1 file=\S+\/ltx\/0\/0000000000000005-0000000000000005\.ltx offset=\d+ size=\d+ replica=file:\/\/\/r\n$/,
  );
  assert.match(lines[2], /msg=closed .*cache_hits=7 cache_misses=1 /);

  // Below DEBUG, nothing is built or written for reads.
  lines.length = 0;
  const quiet = openView(`${r.dir}/replica`);
  quiet.beginRead();
  quiet.readPages(2, page);
  quiet.endRead();
  quiet.close();
  assert.deepEqual(lines, []);
});

Deno.test("ReplicaView.readPages() reads ahead both ways while misses are sequential, within one file", async () => {
  await using r = await makeReplica();
  r.commit(
    `CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT);
     INSERT INTO t (body) SELECT hex(randomblob(500)) FROM ${rows(800)}`,
  );
  r.commit("UPDATE t SET body = 'x' WHERE id = 400");
  const latest = r.states[1];
  const pageSize = 4096;
  const pageAt = (pgno: number) =>
    latest.subarray((pgno - 1) * pageSize, pgno * pageSize);
  const second = decodeFile(
    Deno.readFileSync(
      `${r.dir}/replica/ltx/0/0000000000000002-0000000000000002.ltx`,
    ),
    { file: "second" },
  );
  const changed = second.pages.map((p) => p.pgno).filter((p) => p > 1);
  assert.equal(changed.length, 1);
  const [moved] = changed;

  const view = openView(`${r.dir}/replica`);
  view.beginRead();
  const pages = view.size() / pageSize;
  assert.ok(pages > 200);
  const out = new Uint8Array(16 * pageSize);
  const runs: [number, number][] = [];
  for (let pgno = 2; pgno <= pages;) {
    const { first, count } = view.readPages(pgno, out);
    assert.equal(first, pgno);
    assert.ok(count >= 1 && count <= 16);
    for (let i = 0; i < count; i++) {
      assert.deepEqual(
        out.subarray(i * pageSize, (i + 1) * pageSize),
        pageAt(pgno + i),
        `page ${pgno + i}`,
      );
    }
    runs.push([pgno, count]);
    pgno += count;
  }
  // Doubling from 2 to the 16 pages the buffer holds.
  assert.deepEqual(runs.slice(0, 4).map(([, n]) => n), [2, 4, 8, 16]);
  // No run reads past the page the second file holds: it is in another file.
  for (const [start, count] of runs) {
    if (start !== moved) {
      assert.ok(
        moved < start || moved >= start + count,
        `run ${start}+${count} holds ${moved}`,
      );
    }
  }
  assert.ok(runs.some(([start]) => start === moved));
  // A miss elsewhere reads the one page asked for.
  assert.deepEqual(view.readPages(100, out), { first: 100, count: 1 });
  assert.deepEqual(out.subarray(0, pageSize), pageAt(100));
  // Walking down from there reads runs that end at the page asked for.
  assert.deepEqual(view.readPages(99, out), { first: 98, count: 2 });
  assert.deepEqual(
    out.subarray(0, 2 * pageSize),
    latest.subarray(97 * pageSize, 99 * pageSize),
  );
  assert.deepEqual(view.readPages(97, out), { first: 94, count: 4 });
  // A buffer of one page takes one page.
  assert.deepEqual(view.readPages(93, out.subarray(0, pageSize)), {
    first: 93,
    count: 1,
  });
  assert.throws(() => view.readPages(22, out.subarray(0, 100)), RangeError);
  view.endRead();
  view.close();
});
