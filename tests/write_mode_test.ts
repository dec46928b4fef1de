/**
 * Write mode below the VFS: transactions committed to a
 * {@linkcode WriteBuffer}, built into level-0 LTX files and synced by a
 * {@linkcode WriteSession} on top of a replica Litestream's extension
 * wrote. What is uploaded must read back, with the rows the writer
 * committed, through our decoder, our VFS and Litestream's own extension;
 * a second writer must get a conflict, never overwrite. The pages come
 * from real SQLite writes: a plain copy of the replica, changed with
 * libsqlite3, page by page against the base.
 */

import assert from "node:assert/strict";
import { open } from "../mod.ts";
import { buildLevel0File } from "../src/engine/level0_file.ts";
import { Replica } from "../src/engine/replica.ts";
import { ConflictError } from "../src/engine/errors.ts";
import { WriteSession } from "../src/engine/write_session.ts";
import { FileReplicaClient } from "../src/storage/mod.ts";
import { WriteBuffer } from "../src/engine/write_buffer.ts";
import {
  databaseChecksum,
  decodeFile,
  decodeHeader,
  HEADER_FLAG_NO_CHECKSUM,
  ltxPath,
} from "../src/ltx/mod.ts";
import { Database as PlainDatabase } from "../src/sqlite/mod.ts";
import {
  hydrateWithLitestream,
  listLtxFiles,
  makeLitestreamReplica,
  queryWithLitestream,
} from "./_litestream.ts";

const CHANGES = [
  "UPDATE t SET body = upper(body) WHERE id % 4 = 0",
  "INSERT INTO t (body) SELECT printf('new %d', value) FROM (WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < 200) SELECT value FROM s)",
  "DELETE FROM t WHERE id % 9 = 0",
];
const QUERY = "SELECT count(*) AS n, sum(length(body)) AS bytes FROM t";

function pagesOf(path: string, pageSize: number): Uint8Array[] {
  const bytes = Deno.readFileSync(path);
  const pages: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += pageSize) {
    pages.push(bytes.subarray(at, at + pageSize));
  }
  return pages;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && a.length === b.length &&
    a.every((x, i) => x === b[i]);
}

/** Changes a copy of `base` with SQLite, and buffers every page that differs. */
function commitChanges(
  base: string,
  changed: string,
  buffer: WriteBuffer,
  changes: readonly string[] = CHANGES,
): number {
  Deno.copyFileSync(base, changed);
  {
    using db = new PlainDatabase(changed);
    db.exec("PRAGMA journal_mode = DELETE");
    for (const sql of changes) db.exec(sql);
  }
  const before = pagesOf(base, buffer.pageSize);
  const after = pagesOf(changed, buffer.pageSize);
  after.forEach((page, i) => {
    if (!sameBytes(before[i], page)) buffer.write(i + 1, page);
  });
  buffer.commit(after.length);
  return after.length;
}

function plainGet(path: string, sql: string): unknown {
  using db = new PlainDatabase(path, { readonly: true });
  using statement = db.prepare(sql);
  return statement.get();
}

Deno.test("a level-0 file built from the write buffer reads back through Litestream's extension and ours", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-level0-" });
  try {
    const replica = `${dir}/replica`;
    await makeLitestreamReplica(replica, [
      "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)",
      "INSERT INTO t (body) SELECT printf('row %d', value) FROM (WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < 3000) SELECT value FROM s)",
    ]);
    const files = await listLtxFiles(replica);
    const last = files.at(-1)!;
    const header = decodeHeader(
      Deno.readFileSync(last.path).subarray(0, 100),
      last.path,
    );
    const tracked = (header.flags & HEADER_FLAG_NO_CHECKSUM) === 0;
    const baseChecksum = tracked
      ? decodeFile(Deno.readFileSync(last.path), { file: last.path })
        .postApplyChecksum
      : 0n;

    const base = `${dir}/base.db`;
    await hydrateWithLitestream(replica, base);
    const buffer = WriteBuffer.open(`${dir}/buffer`, header.pageSize, {
      txid: last.maxTxid,
      checksum: baseChecksum,
    });
    const changed = `${dir}/changed.db`;
    const basePages = pagesOf(base, header.pageSize);
    commitChanges(base, changed, buffer);
    const built = buildLevel0File(
      buffer,
      basePages.length,
      (pgnos) => pgnos.map((pgno) => basePages[pgno - 1]),
    );
    buffer.close();
    assert.equal(built.txid, last.maxTxid + 1n);
    assert.ok(built.pages > 0);

    // Our decoder checks every frame and the file checksum.
    const name = ltxPath(0, built.txid, built.txid);
    const decoded = decodeFile(built.bytes, { file: name });
    assert.equal(
      decoded.header.commit,
      pagesOf(changed, header.pageSize).length,
    );
    if (tracked) {
      assert.equal(
        built.checksum,
        databaseChecksum(
          pagesOf(changed, header.pageSize).map((p, i) => [i + 1, p] as const),
          header.pageSize,
        ),
      );
    }
    await Deno.mkdir(`${replica}/ltx/0`, { recursive: true });
    Deno.writeFileSync(`${replica}/${name}`, built.bytes);

    const want = plainGet(changed, QUERY) as { n: number; bytes: number };
    // Litestream's extension reads the file we wrote.
    assert.equal(
      await queryWithLitestream(
        replica,
        `.mode list\n${QUERY};\nPRAGMA integrity_check;`,
      ),
      `${want.n}|${want.bytes}\nok`,
    );
    // So does ours.
    using db = open(`file://${replica}`);
    assert.deepEqual(db.get(QUERY), want);
    assert.deepEqual(db.get("PRAGMA integrity_check"), {
      integrity_check: "ok",
    });
    assert.equal(
      db.get<{ t: string }>("SELECT litestream_txid() AS t")!.t,
      built.txid.toString(16).padStart(16, "0"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a new database's first level-0 file carries the database checksum our decoder verifies", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-level0-" });
  try {
    const plain = `${dir}/new.db`;
    {
      using db = new PlainDatabase(plain);
      db.exec("PRAGMA page_size = 4096");
      db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)");
      db.exec(
        "INSERT INTO t (body) SELECT printf('row %d', value) FROM (WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < 500) SELECT value FROM s)",
      );
    }
    const pages = pagesOf(plain, 4096);
    const buffer = WriteBuffer.open(`${dir}/buffer`, 4096, {
      txid: 0n,
      checksum: 0n,
    });
    pages.forEach((page, i) => buffer.write(i + 1, page));
    buffer.commit(pages.length);
    const built = buildLevel0File(buffer, 0, () => {
      throw new Error("a new database has no base to read");
    });
    buffer.close();
    // TXID 1: a snapshot, whose post-apply checksum the decoder recomputes.
    const decoded = decodeFile(built.bytes, { file: ltxPath(0, 1n, 1n) });
    assert.equal(decoded.postApplyChecksum, built.checksum);
    assert.notEqual(built.checksum, 0n);
    const replica = `${dir}/replica`;
    await Deno.mkdir(`${replica}/ltx/0`, { recursive: true });
    Deno.writeFileSync(`${replica}/${ltxPath(0, 1n, 1n)}`, built.bytes);
    using db = open(`file://${replica}`);
    assert.deepEqual(db.get("SELECT count(*) AS n FROM t"), { n: 500 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * A write session on a folder replica, based on `base`, a copy restored at
 * `txid` (Litestream's write-mode files track no database checksum).
 */
function sessionOn(
  replica: string,
  base: string,
  bufferPath: string,
  txid: bigint,
): WriteSession {
  const basePages = pagesOf(base, 4096);
  return new WriteSession({
    replica: new Replica(new FileReplicaClient(replica)),
    bufferPath,
    pageSize: 4096,
    base: { txid, checksum: 0n, pageCount: basePages.length },
    readBase: (pgnos) => pgnos.map((pgno) => basePages[pgno - 1]),
  });
}

Deno.test("a write session syncs transaction after transaction, and a second writer gets a conflict, never an overwrite", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-session-" });
  try {
    const replica = `${dir}/replica`;
    await makeLitestreamReplica(replica, [
      "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)",
      "INSERT INTO t (body) VALUES ('first')",
    ]);
    const base = `${dir}/base.db`;
    await hydrateWithLitestream(replica, base);
    const openSession = (name: string) =>
      sessionOn(replica, base, `${dir}/${name}.buffer`, 2n);
    const writer = openSession("a");
    const rival = openSession("b");

    // The writer: two syncs of one transaction each, the second on the first.
    let current = base;
    for (
      const [i, sql] of [
        "INSERT INTO t (body) VALUES ('a1')",
        "UPDATE t SET body = 'A' || body",
      ].entries()
    ) {
      const next = `${dir}/a${i}.db`;
      commitChanges(current, next, writer.buffer, [sql]);
      assert.equal(writer.sync()?.file.maxTxid, 3n + BigInt(i));
      assert.equal(writer.buffer.isEmpty, true);
      current = next;
    }
    assert.equal(writer.sync(), undefined, "nothing left to sync");

    // The rival built on TXID 2 too: its sync conflicts, and keeps its work.
    commitChanges(base, `${dir}/b.db`, rival.buffer, [
      "INSERT INTO t (body) VALUES ('b1')",
    ]);
    assert.throws(
      () => rival.sync(),
      (e) =>
        e instanceof ConflictError && /TXID 0000000000000004/.test(e.message) &&
        e.bufferPath === `${dir}/b.buffer`,
    );
    assert.equal(rival.buffer.transactions, 1);
    rival.close();
    writer.close();

    const want = plainGet(
      current,
      "SELECT group_concat(body, ',') AS v FROM t",
    );
    assert.deepEqual(want, { v: "Afirst,Aa1" });
    assert.equal(
      await queryWithLitestream(
        replica,
        ".mode list\nSELECT group_concat(body, ',') FROM t;\nPRAGMA integrity_check;",
      ),
      "Afirst,Aa1\nok",
    );
    using db = open(`file://${replica}`);
    assert.deepEqual(
      db.get("SELECT group_concat(body, ',') AS v FROM t"),
      want,
    );

    // A rival that reopens its buffer (as after a crash) still holds its
    // transaction, and still conflicts.
    const reopened = openSession("b");
    assert.equal(reopened.buffer.transactions, 1);
    assert.throws(() => reopened.sync(), ConflictError);
    reopened.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a write session takes up a buffer a crashed process left, and syncs it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-session-" });
  try {
    const replica = `${dir}/replica`;
    await makeLitestreamReplica(replica, [
      "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)",
    ]);
    const base = `${dir}/base.db`;
    await hydrateWithLitestream(replica, base);
    const session = () => sessionOn(replica, base, `${dir}/buffer`, 1n);
    const crashed = session();
    commitChanges(base, `${dir}/changed.db`, crashed.buffer, [
      "INSERT INTO t (body) VALUES ('committed before the crash')",
    ]);
    // No sync: the process is gone, and its lock on the buffer with it.
    crashed.close();
    const next = session();
    assert.equal(next.buffer.transactions, 1);
    assert.equal(next.sync()?.file.maxTxid, 2n);
    next.close();
    using db = open(`file://${replica}`);
    assert.deepEqual(db.get("SELECT body FROM t"), {
      body: "committed before the crash",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
