import assert from "node:assert/strict";
import { ReplicaWriter } from "../../tasks/_replica_writer.ts";
import { Database } from "../sqlite/mod.ts";
import { FileReplicaClient } from "../storage/mod.ts";
import { decodeFile, encodeFile, InvalidFrameError } from "../ltx/mod.ts";
import {
  PageNotFoundError,
  ReplicaNotFoundError,
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
    view.readPage(
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
  view.readPage(1, page);
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

Deno.test("ReplicaView.readPage() names the file of a corrupt frame", async () => {
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
    () => view.readPage(1, new Uint8Array(view.pageSize)),
    (error: unknown) =>
      error instanceof InvalidFrameError &&
      error.message.includes("0000000000000001-0000000000000001.ltx"),
  );
  view.close();
});

Deno.test("ReplicaView.readPage() zero-fills past the end and refuses a page no file holds", async () => {
  await using r = await makeReplica();
  r.commit(
    `CREATE TABLE t (x); INSERT INTO t SELECT randomblob(3000) FROM ${rows(5)}`,
  );
  const view = openView(`${r.dir}/replica`);
  view.beginRead();
  // Past the end of the database: zeros, as a short file would give.
  const page = new Uint8Array(view.pageSize).fill(7);
  view.readPage(view.size() / view.pageSize + 1, page);
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
    () => grown.readPage(last, page),
    (error: unknown) =>
      error instanceof PageNotFoundError &&
      error.message.includes(`Page ${last} of`),
  );
  grown.close();
});
