/**
 * Interoperability of our LTX codec with Litestream's own code (its VFS
 * extension v0.5.17, see tests/_litestream.ts), both ways:
 *
 * - Litestream -> us: replicas written by its write mode are decoded with
 *   decodeFile (every checksum verified), applied in TXID order, and the
 *   result compared byte for byte with the database Litestream itself
 *   restores from the same files.
 * - us -> Litestream: replicas written only by encodeFile, from database
 *   files made by the sqlite3 CLI, are read by its VFS and restored by it.
 *
 * The reference bytes come from Litestream's hydration, which compacts the
 * replica's files with the ltx library and decodes them into a plain file.
 * That file holds every page exactly as SQLite wrote it, page 1 included, so
 * the comparison is exact over the whole file. Reading through its VFS would
 * not do: it rewrites page 1 on every read (bytes 18-19 set to 1, bytes 24-27
 * a random change counter), and SQLite has no sqlite_dbpage table in
 * Debian's build to read raw pages with anyway. Through its VFS we compare
 * row data and `PRAGMA integrity_check` instead.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  databaseChecksum,
  decodeFile,
  encodeFile,
  HEADER_FLAG_NO_CHECKSUM,
  lockPgno,
  type LtxFile,
  ltxPath,
  parseFileName,
} from "../src/ltx/mod.ts";
import { makeHeader } from "../src/ltx/_test_util.ts";
import { litestreamExtensionSupported } from "../tasks/setup_test_env.ts";
import {
  hydrateWithLitestream,
  listLtxFiles,
  makeLitestreamReplica,
  queryWithLitestream,
  type ReplicaFile,
  sqlite3Cli,
  vacuumWithLitestream,
} from "./_litestream.ts";

const ignore = !litestreamExtensionSupported();
const PAGE_SIZES = [512, 1024, 4096, 65536] as const;

/** Rows of both test tables, blobs in hex, in a fixed order. */
const DUMP_SQL = [
  "SELECT k, v FROM kv ORDER BY k;",
  "SELECT id, hex(b) FROM big ORDER BY id;",
].join("\n");

/** A database as a page array: index pgno - 1; holes read as zeros. */
type Pages = (Uint8Array | undefined)[];

function applyFile(db: Pages, file: LtxFile): void {
  for (const { pgno, data } of file.pages) db[pgno - 1] = data;
  // A smaller commit means the database shrank; a larger one leaves holes
  // that the file must have filled (checked by the caller).
  db.length = file.header.commit;
}

function presentPages(db: Pages): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  db.forEach((page, i) => {
    if (page) out.push([i + 1, page]);
  });
  return out;
}

function toBytes(db: Pages, pageSize: number): Uint8Array {
  const out = new Uint8Array(db.length * pageSize);
  db.forEach((page, i) => {
    if (page) out.set(page, i * pageSize);
  });
  return out;
}

function toPages(bytes: Uint8Array, pageSize: number): Pages {
  assert.equal(bytes.length % pageSize, 0, "database size is whole pages");
  const db: Pages = [];
  for (let off = 0; off < bytes.length; off += pageSize) {
    db.push(bytes.slice(off, off + pageSize));
  }
  return db;
}

/** Asserts equal bytes, naming the first differing page and offset. */
function assertSameBytes(
  actual: Uint8Array,
  expected: Uint8Array,
  pageSize: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: size in bytes`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(
        `${what}: first difference in page ${
          Math.floor(i / pageSize) + 1
        } at offset ${i % pageSize}: ${actual[i]} != ${expected[i]}`,
      );
    }
  }
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-interop-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Litestream's own restore of the replica's files up to `txid`. */
async function litestreamRestore(
  files: readonly ReplicaFile[],
  txid: bigint,
  scratch: string,
): Promise<Uint8Array> {
  const replica = await Deno.makeTempDir({ dir: scratch, prefix: "prefix-" });
  for (const f of files) {
    if (f.maxTxid > txid) continue;
    const to = join(replica, ltxPath(f.level, f.minTxid, f.maxTxid));
    await Deno.mkdir(join(to, ".."), { recursive: true });
    await Deno.copyFile(f.path, to);
  }
  const out = join(scratch, `restored-${txid}.db`);
  await hydrateWithLitestream(replica, out);
  const bytes = await Deno.readFile(out);
  await Deno.remove(replica, { recursive: true });
  await Deno.remove(out);
  return bytes;
}

/**
 * Decodes every file of a level-0 replica in TXID order, applies it, checks
 * the checksums chain where the files carry them, and compares the database
 * after each TXID with Litestream's restore when `compareEach`, else only
 * at the end. Returns the final database and the commits seen.
 */
async function decodeAndCompare(
  replica: string,
  pageSize: number,
  scratch: string,
  compareEach: boolean,
): Promise<{ db: Pages; commits: number[] }> {
  const files = await listLtxFiles(replica);
  assert.ok(files.length > 0, "the replica has files");
  const db: Pages = [];
  const commits: number[] = [];
  for (const [i, f] of files.entries()) {
    assert.equal(f.level, 0, `${f.path}: written at level 0`);
    const name = f.path.slice(f.path.lastIndexOf("/") + 1);
    const txid = BigInt(i + 1);
    assert.deepEqual(parseFileName(name), { minTxid: txid, maxTxid: txid });
    const bytes = await Deno.readFile(f.path);
    const file = decodeFile(bytes, { file: f.path });
    if (file.pages.length > 0 && (pageSize === 4096 || txid > 1n)) {
      // Litestream since v0.5.16 writes size-prefixed LZ4 blocks (page
      // header flag 1) after the 100-byte header and the first pgno.
      assert.equal(new DataView(bytes.buffer).getUint16(104), 1, name);
    }
    assert.equal(file.header.minTxid, txid, `${name}: header minTxid`);
    assert.equal(file.header.maxTxid, txid, `${name}: header maxTxid`);
    assert.equal(file.header.pageSize, pageSize, `${name}: page size`);
    assert.deepEqual(
      file.index.map((e) => e.pgno),
      file.pages.map((p) => p.pgno),
      `${name}: index lists the pages`,
    );
    const checked = (file.header.flags & HEADER_FLAG_NO_CHECKSUM) === 0;
    if (checked && txid > 1n) {
      assert.equal(
        file.header.preApplyChecksum,
        databaseChecksum(presentPages(db), pageSize),
        `${name}: pre-apply checksum`,
      );
    }
    applyFile(db, file);
    commits.push(file.header.commit);
    const lock = lockPgno(pageSize);
    for (let j = 0; j < db.length; j++) {
      if (j + 1 !== lock) assert.ok(db[j], `${name}: page ${j + 1} is known`);
    }
    if (checked) {
      assert.equal(
        file.postApplyChecksum,
        databaseChecksum(presentPages(db), pageSize),
        `${name}: post-apply checksum`,
      );
    }
    if (compareEach || i === files.length - 1) {
      assertSameBytes(
        toBytes(db, pageSize),
        await litestreamRestore(files, txid, scratch),
        pageSize,
        `database at TXID ${txid}`,
      );
    }
  }
  return { db, commits };
}

/** Writes a database file and checks it with plain SQLite. */
async function checkWithSqlite(
  db: Pages,
  pageSize: number,
  path: string,
): Promise<void> {
  await Deno.writeFile(path, toBytes(db, pageSize));
  assert.equal(
    await sqlite3Cli(path, "PRAGMA integrity_check;\nPRAGMA page_size;"),
    `ok\n${pageSize}`,
  );
}

const WRITES = [
  `CREATE TABLE kv(k TEXT PRIMARY KEY, v TEXT);
   CREATE TABLE big(id INTEGER PRIMARY KEY, b BLOB);
   CREATE INDEX big_len ON big(length(b));`,
  `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300)
   INSERT INTO kv SELECT printf('key%05d', x), printf('value %d', x * 7) FROM c;`,
  `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400)
   INSERT INTO big(b) SELECT randomblob(300 + x * 3) FROM c;`,
  `UPDATE kv SET v = v || ' updated' WHERE rowid % 3 = 0;
   DELETE FROM kv WHERE rowid % 5 = 0;`,
  `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 600)
   INSERT INTO big(b) SELECT randomblob(1500) FROM c;`,
  `DELETE FROM big WHERE id > 200;`,
  `INSERT INTO kv VALUES ('last-write', 'yes');
   UPDATE big SET b = zeroblob(10) WHERE id < 20;`,
  // Shrinks the database: the file's commit is smaller than the one before.
  // Last, because Litestream's write mode cannot write after a shrink: the
  // next process sees the old size again and writes a file whose restore is
  // malformed (its own restore too; pages past the shrink are never written).
  `VACUUM;`,
];

for (const pageSize of PAGE_SIZES) {
  Deno.test({
    name:
      `decodeFile() reads a replica written by Litestream, page size ${pageSize}`,
    ignore,
    fn: () =>
      withTempDir(async (dir) => {
        const replica = join(dir, "replica");
        // Litestream's extension only creates 4096-byte databases: for other
        // sizes TXID 1 is an empty database encoded by us (see _litestream.ts)
        // and every later file is Litestream's.
        await makeLitestreamReplica(replica, WRITES, { pageSize });
        const { db, commits } = await decodeAndCompare(
          replica,
          pageSize,
          dir,
          true,
        );
        const first = pageSize === 4096 ? 0 : 1;
        assert.equal(commits.length, WRITES.length + first);
        assert.ok(
          commits.some((c, i) => i > 0 && c < commits[i - 1]),
          `the database shrank at some TXID: ${commits}`,
        );
        const ours = join(dir, "ours.db");
        await checkWithSqlite(db, pageSize, ours);
        // Row data, through Litestream's VFS (not its integrity_check: after
        // the VACUUM its VFS still reports the page count from before the
        // shrink, so SQLite finds the pages past the end "never used").
        const rows = await sqlite3Cli(ours, DUMP_SQL);
        assert.ok(rows.includes("last-write|yes"));
        assert.equal(await queryWithLitestream(replica, DUMP_SQL), rows);
      }),
  });
}

Deno.test({
  name: "decodeFile() reads a 40 MB replica written by Litestream",
  ignore,
  fn: () =>
    withTempDir(async (dir) => {
      const replica = join(dir, "replica");
      const insert =
        `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000)
         INSERT INTO big(b) SELECT randomblob(1000) FROM c;`;
      await makeLitestreamReplica(replica, [
        "CREATE TABLE big(id INTEGER PRIMARY KEY, b BLOB);",
        insert,
        insert,
        insert,
        insert,
      ]);
      const { db } = await decodeAndCompare(replica, 4096, dir, false);
      assert.ok(db.length * 4096 >= 40_000_000, `${db.length} pages`);
      const ours = join(dir, "ours.db");
      await checkWithSqlite(db, 4096, ours);
      const sql = "SELECT count(*), sum(length(b)), hex(max(b)) FROM big;";
      const summary = await sqlite3Cli(ours, sql);
      assert.match(summary, /^40000\|40000000\|[0-9A-F]{2000}$/);
      assert.equal(await queryWithLitestream(replica, sql), summary);
    }),
});

/** How a replica is laid out for the encoder direction. */
interface Layout {
  /** Level of the TXID 1 snapshot: 0 or 9. */
  snapshotLevel: number;
  /** TXIDs whose files are written with legacy LZ4-frame pages. */
  legacy: ReadonlySet<number>;
  /**
   * Whether files carry database checksums. Litestream's hydration cannot
   * restore a replica whose last file has them (see hydrateWithLitestream),
   * so the exact restore is compared only for files without.
   */
  checksums: boolean;
}

const LAYOUTS: readonly Layout[] = [
  { snapshotLevel: 0, legacy: new Set([3]), checksums: true },
  { snapshotLevel: 9, legacy: new Set([1, 4]), checksums: false },
];

/** Changes made with plain sqlite3 before each TXID. */
const STEPS = [
  (pageSize: number) =>
    `PRAGMA page_size = ${pageSize};
     CREATE TABLE kv(k TEXT PRIMARY KEY, v TEXT);
     CREATE TABLE big(id INTEGER PRIMARY KEY, b BLOB);
     WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200)
     INSERT INTO kv SELECT printf('key%05d', x), hex(randomblob(20)) FROM c;
     WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100)
     INSERT INTO big(b) SELECT randomblob(900) FROM c;`,
  () =>
    `UPDATE kv SET v = 'changed' WHERE rowid % 4 = 0;
     WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300)
     INSERT INTO big(b) SELECT randomblob(1200) FROM c;`,
  () =>
    `DELETE FROM kv WHERE rowid % 7 = 0;
     UPDATE big SET b = randomblob(50) WHERE id % 9 = 0;`,
  // Shrinks the database.
  () => `DELETE FROM big WHERE id > 50;\nVACUUM;`,
];

for (const pageSize of PAGE_SIZES) {
  for (const layout of LAYOUTS) {
    Deno.test({
      name:
        `encodeFile() writes a replica Litestream reads, page size ${pageSize}, snapshot at level ${layout.snapshotLevel}, legacy frames in TXIDs ${[
          ...layout.legacy,
        ]}, ${layout.checksums ? "with" : "without"} checksums`,
      ignore,
      fn: () =>
        withTempDir(async (dir) => {
          const replica = join(dir, "replica");
          const work = join(dir, "work.db");
          let before: Pages = [];
          for (const [i, step] of STEPS.entries()) {
            const txid = BigInt(i + 1);
            await sqlite3Cli(work, step(pageSize));
            const bytes = await Deno.readFile(work);
            const after = toPages(bytes, pageSize);
            const lock = lockPgno(pageSize);
            const changed = after
              .map((data, j) => ({ pgno: j + 1, data: data! }))
              .filter(({ pgno, data }) =>
                pgno !== lock &&
                (txid === 1n || !sameBytes(before[pgno - 1], data))
              );
            assert.ok(changed.length > 0, `step ${txid} changed pages`);
            const checksum = (db: Pages) =>
              layout.checksums
                ? databaseChecksum(presentPages(db), pageSize)
                : 0n;
            const file = encodeFile({
              header: makeHeader({
                flags: layout.checksums ? 0 : HEADER_FLAG_NO_CHECKSUM,
                pageSize,
                commit: after.length,
                minTxid: txid,
                maxTxid: txid,
                timestamp: Date.now(),
                preApplyChecksum: txid === 1n ? 0n : checksum(before),
              }),
              pages: changed,
              postApplyChecksum: checksum(after),
            }, { legacyFrames: layout.legacy.has(i + 1) });
            const level = txid === 1n ? layout.snapshotLevel : 0;
            const path = join(replica, ltxPath(level, txid, txid));
            await Deno.mkdir(join(path, ".."), { recursive: true });
            await Deno.writeFile(path, file);
            // The first frame's page header flags: 0 for a legacy LZ4 frame,
            // 1 (size prefix, LZ4 block) otherwise.
            assert.equal(
              new DataView(file.buffer, file.byteOffset).getUint16(104),
              layout.legacy.has(i + 1) ? 0 : 1,
            );

            if (!layout.checksums) {
              // Litestream restores exactly the bytes sqlite3 wrote.
              const restored = join(dir, `restored-${txid}.db`);
              await hydrateWithLitestream(replica, restored);
              assertSameBytes(
                await Deno.readFile(restored),
                bytes,
                pageSize,
                `Litestream's restore at TXID ${txid}`,
              );
            }
            // VACUUM INTO through its VFS equals VACUUM INTO of the file:
            // exact over everything SQLite can see, free pages aside.
            const theirs = join(dir, `vacuum-litestream-${txid}.db`);
            const ours = join(dir, `vacuum-sqlite-${txid}.db`);
            await vacuumWithLitestream(replica, theirs);
            await sqlite3Cli(work, `VACUUM INTO '${ours}';`);
            assertSameBytes(
              await Deno.readFile(theirs),
              await Deno.readFile(ours),
              pageSize,
              `VACUUM INTO at TXID ${txid}`,
            );
            // Its VFS serves the same rows, and a sound database while the
            // database only grew (after a shrink its VFS keeps reporting the
            // old page count, so SQLite finds pages past the end "never
            // used": Litestream's bug, not the file's; its restore is right).
            const rows = await sqlite3Cli(work, DUMP_SQL);
            const shrank = after.length < before.length;
            assert.equal(
              shrank,
              i === STEPS.length - 1,
              "only the last step shrinks",
            );
            const checks = shrank
              ? DUMP_SQL
              : `PRAGMA integrity_check;\nPRAGMA litestream_txid;\n${DUMP_SQL}`;
            assert.equal(
              await queryWithLitestream(replica, checks),
              shrank
                ? rows
                : `ok\n${txid.toString(16).padStart(16, "0")}\n${rows}`,
            );
            before = after;
          }
          assert.ok(before.length > 0);
        }),
    });
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
