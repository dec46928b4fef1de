/**
 * End-to-end tests of the C shim and the host port, with real SQLite
 * (src/sqlite) on both sides.
 *
 * The engine is written elsewhere; here a test-only opener stands in for it:
 * it serves the pages of plain SQLite database files made by src/sqlite,
 * held in memory as "fixtures" the tests change, fail and count. Each
 * database is opened as `file:NAME?vfs=litestream&fixture=KEY&...`; the
 * opener finds the fixture by that URI parameter.
 */

import assert from "node:assert/strict";
import type { DatabaseFile, PageRun } from "../src/engine/database_file.ts";
import {
  BusyError,
  ReadOnlyError,
  ReplicaNotFoundError,
} from "../src/engine/errors.ts";
import {
  encodeLocalMap,
  LOCAL_FILE,
  LOCAL_FRAMES,
  type LocalMap,
} from "../src/engine/local_map.ts";
import {
  decodeFile,
  encodeFile,
  HEADER_FLAG_NO_CHECKSUM,
  type PageIndexEntry,
} from "../src/ltx/mod.ts";
import { makeHeader } from "../src/ltx/_test_util.ts";
import { InvalidFrameError } from "../src/ltx/errors.ts";
import {
  Database,
  SQLITE_BUSY,
  SQLITE_CANTOPEN,
  SQLITE_CORRUPT,
  SQLITE_IOERR_READ,
  SQLITE_READONLY,
  SqliteError,
} from "../src/sqlite/mod.ts";
import { StorageError } from "../src/storage/errors.ts";
import {
  type CacheStats,
  registerVfs,
  takeLastEngineError,
  type VfsRegistration,
} from "../src/vfs/mod.ts";

/** A database the test opener serves, and what was asked of it. */
interface Fixture {
  /** The database file's bytes; replace them to change the content. */
  bytes: Uint8Array;
  /** The view version beginRead() reports. */
  version: bigint;
  /** Thrown by readPages() while set. */
  failRead?: unknown;
  /** How many beginRead() calls fail with BusyError, as while another connection commits. */
  busyReads?: number;
  /** Pages readPages() returns at once, read-ahead included; default 1. */
  runPages?: number;
  /** True: readPages() returns runs that end at the page asked for. */
  runBackward?: boolean;
  /** What pragma() answers, by lower-case name; undefined: not the engine's. */
  pragmas?: Record<
    string,
    string | null | ((value: string | null) => string | null)
  >;
  /** What localGeneration() and localMap() answer; none by default. */
  local?: { generation: number; map: LocalMap };
  /** Calls made on files of this fixture. */
  calls: {
    open: number;
    beginRead: number;
    endRead: number;
    size: number;
    readPage: number;
    close: number;
    pragma: [string, string | null][];
    localMap: number;
  };
}

const fixtures = new Map<string, Fixture>();

function pageSizeOf(bytes: Uint8Array): number {
  const raw = (bytes[16] << 8) | bytes[17];
  return raw === 1 ? 65536 : raw;
}

/** A DatabaseFile over a fixture; it checks that the shim brackets reads. */
class FixtureFile implements DatabaseFile {
  readonly pageSize: number;
  readonly writable = false;
  #fixture: Fixture;
  #view: Uint8Array | undefined;
  #closed = false;

  constructor(fixture: Fixture) {
    this.#fixture = fixture;
    this.pageSize = pageSizeOf(fixture.bytes);
  }

  beginRead(): bigint {
    assert.equal(this.#view, undefined, "beginRead() inside a read");
    this.#fixture.calls.beginRead++;
    if ((this.#fixture.busyReads ?? 0) > 0) {
      this.#fixture.busyReads!--;
      throw new BusyError("Another connection is committing: try again");
    }
    this.#view = this.#fixture.bytes;
    return this.#fixture.version;
  }

  endRead(): void {
    assert.notEqual(this.#view, undefined, "endRead() outside a read");
    this.#fixture.calls.endRead++;
    this.#view = undefined;
  }

  localGeneration(): number {
    assert.notEqual(this.#view, undefined, "localGeneration() outside a read");
    return this.#fixture.local?.generation ?? 0;
  }

  localMap(): Uint8Array {
    assert.notEqual(this.#view, undefined, "localMap() outside a read");
    this.#fixture.calls.localMap++;
    const local = this.#fixture.local;
    return local === undefined ? new Uint8Array(0) : encodeLocalMap(local.map);
  }

  size(): number {
    assert.notEqual(this.#view, undefined, "size() outside a read");
    this.#fixture.calls.size++;
    return this.#view!.byteLength;
  }

  readPages(pgno: number, out: Uint8Array): PageRun {
    const view = this.#view;
    assert.notEqual(view, undefined, "readPages() outside a read");
    assert.ok(out.byteLength >= this.pageSize);
    assert.equal(out.byteLength % this.pageSize, 0);
    this.#fixture.calls.readPage++;
    if (this.#fixture.failRead !== undefined) throw this.#fixture.failRead;
    const pages = view!.byteLength / this.pageSize;
    assert.ok(pgno <= pages, `page ${pgno} past end`);
    const room = out.byteLength / this.pageSize;
    const run = this.#fixture.runPages ?? 1;
    const first = this.#fixture.runBackward
      ? Math.max(1, pgno - Math.min(run, room) + 1)
      : pgno;
    const count = Math.min(run, room, pages - first + 1);
    const start = (first - 1) * this.pageSize;
    out.set(view!.subarray(start, start + count * this.pageSize));
    return { first, count };
  }

  pragma(name: string, value: string | null): string | null | undefined {
    this.#fixture.calls.pragma.push([name, value]);
    const answer = this.#fixture.pragmas?.[name.toLowerCase()];
    if (typeof answer === "function") return answer(value);
    return answer;
  }

  lockWrite(): void {
    throw new ReadOnlyError("Fixtures are read-only");
  }

  write(): void {
    throw new ReadOnlyError("Fixtures are read-only");
  }

  truncate(): void {
    throw new ReadOnlyError("Fixtures are read-only");
  }

  commit(): bigint {
    throw new ReadOnlyError("Fixtures are read-only");
  }

  close(): void {
    assert.equal(this.#closed, false, "closed twice");
    this.#closed = true;
    this.#fixture.calls.close++;
  }
}

/** The stand-in for the engine's opener. */
function opener(_name: string, params: ReadonlyMap<string, string>) {
  const key = params.get("fixture");
  if (key === undefined || !fixtures.has(key)) {
    throw new ReplicaNotFoundError(`test://${key}`);
  }
  const fixture = fixtures.get(key)!;
  fixture.calls.open++;
  return new FixtureFile(fixture);
}

const dir = Deno.makeTempDirSync({ prefix: "lsvfs_shim_test_" });

/** Makes a rollback-journal database of `rows` rows and returns its bytes. */
function makeDatabase(
  name: string,
  options: { pageSize?: number; rows?: number; tag?: string } = {},
): Uint8Array {
  const path = `${dir}/${name}`;
  try {
    Deno.removeSync(path);
  } catch {
    // Not there yet.
  }
  const db = new Database(path);
  db.exec(`PRAGMA page_size = ${options.pageSize ?? 4096}`);
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, tag TEXT, s TEXT)");
  db.exec("CREATE INDEX t_s ON t (s)");
  db.exec(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO t SELECT i, ?, printf('row-%06d-%s', i, hex(randomblob(40))) FROM n`,
    options.rows ?? 500,
    options.tag ?? name,
  );
  db.close();
  return Deno.readFileSync(path);
}

function addFixture(key: string, bytes: Uint8Array): Fixture {
  const fixture: Fixture = {
    bytes,
    version: 1n,
    calls: {
      open: 0,
      beginRead: 0,
      endRead: 0,
      size: 0,
      readPage: 0,
      close: 0,
      pragma: [],
      localMap: 0,
    },
  };
  fixtures.set(key, fixture);
  return fixture;
}

function openVfs(key: string, extra = ""): Database {
  return new Database(`file:${key}.db?vfs=litestream&fixture=${key}${extra}`);
}

function fileStats(vfs: VfsRegistration, key: string): CacheStats {
  const info = vfs.files().find((f) => f.params.get("fixture") === key);
  assert.ok(info, `no open file for fixture "${key}"`);
  return vfs.cacheStats(info.id)!;
}

// Registered once for the whole file, outside any test, so the test
// sanitizers do not count the shim's handle against the first test.
const vfs = registerVfs({ opener });

Deno.test("registerVfs() is idempotent and refuses a second opener", () => {
  assert.equal(registerVfs({ opener }), vfs);
  assert.throws(
    () => registerVfs({ opener: () => new FixtureFile(fixtures.get("a")!) }),
    /another opener/,
  );
});

Deno.test("litestream VFS serves rows and passes integrity_check", () => {
  addFixture("basic", makeDatabase("basic.db", { rows: 800 }));
  using db = openVfs("basic");
  assert.deepEqual(db.prepare("SELECT count(*) AS n FROM t").get(), { n: 800 });
  assert.deepEqual(
    db.prepare("SELECT id, tag FROM t WHERE id = ?").get(417),
    { id: 417, tag: "basic.db" },
  );
  assert.deepEqual(db.prepare("PRAGMA integrity_check").values(), [["ok"]]);
  const files = vfs.files();
  assert.equal(files.length, 1);
  assert.match(files[0].name, /basic\.db$/);
  assert.equal(files[0].params.get("vfs"), "litestream");
  assert.equal(files[0].params.get("fixture"), "basic");
});

Deno.test("litestream VFS refuses writes with SQLITE_READONLY", () => {
  addFixture("ro", makeDatabase("ro.db"));
  using db = openVfs("ro");
  assert.throws(
    () => db.exec("INSERT INTO t (tag) VALUES ('x')"),
    (e) => e instanceof SqliteError && e.code === SQLITE_READONLY,
  );
  assert.throws(
    () => db.exec("CREATE TABLE u (x)"),
    (e) => e instanceof SqliteError && e.code === SQLITE_READONLY,
  );
  assert.deepEqual(db.prepare("SELECT count(*) AS n FROM t").get(), { n: 500 });
});

Deno.test("litestream VFS repeats a query on an unchanged view without reading pages", () => {
  const fixture = addFixture("repeat", makeDatabase("repeat.db"));
  using db = openVfs("repeat");
  const sql = "SELECT sum(length(s)) AS n FROM t";
  const first = db.prepare(sql).get();
  const reads = fixture.calls.readPage;
  assert.ok(reads > 1);
  const begins = fixture.calls.beginRead;
  assert.deepEqual(db.prepare(sql).get(), first);
  assert.equal(fixture.calls.readPage, reads, "second run read pages");
  assert.ok(fixture.calls.beginRead > begins, "second run took no lock");
  assert.equal(fixture.calls.beginRead, fixture.calls.endRead);
});

Deno.test("litestream VFS reads every page but page 1 from a local file the engine names", () => {
  const bytes = makeDatabase("local.db", { rows: 3000 });
  const fixture = addFixture("local", bytes);
  const map: LocalMap = { kind: LOCAL_FILE, path: `${dir}/local.db` };
  fixture.local = { generation: 1, map };
  using db = openVfs("local");
  const sql = "SELECT count(*) AS n, sum(length(s)) AS b FROM t";
  assert.deepEqual(db.prepare(sql).get(), { n: 3000, b: 3000 * 91 });
  assert.deepEqual(db.prepare("PRAGMA integrity_check").values(), [["ok"]]);
  // Page 1 comes from the engine (it patches the header); nothing else does.
  assert.equal(fixture.calls.readPage, 1);
  const stats = fileStats(vfs, "local");
  assert.ok(
    stats.localReads >= bytes.length / 4096 - 1,
    `${stats.localReads} local reads`,
  );
  assert.equal(fixture.calls.localMap, 1, "one map per generation");

  // A new generation is asked for anew.
  fixture.local = { generation: 2, map };
  fixture.version = 2n;
  assert.deepEqual(db.prepare(sql).get(), { n: 3000, b: 3000 * 91 });
  assert.equal(fixture.calls.localMap, 2);
});

Deno.test("litestream VFS reads from the engine when the local file cannot be opened", () => {
  const fixture = addFixture("nolocal", makeDatabase("nolocal.db"));
  fixture.local = {
    generation: 1,
    map: { kind: LOCAL_FILE, path: `${dir}/no-such-file.db` },
  };
  using db = openVfs("nolocal");
  assert.deepEqual(db.prepare("SELECT count(*) AS n FROM t").get(), { n: 500 });
  assert.ok(fixture.calls.readPage > 1);
  assert.equal(fileStats(vfs, "nolocal").localReads, 0);
});

/**
 * The fixture's database as one LTX file written by our encoder, in a
 * legacy-free layout (every frame an LZ4 block with its size prefix), and
 * a frame map over it; `damage` may change the file's bytes after.
 */
function frameMapOf(
  name: string,
  bytes: Uint8Array,
  damage?: (ltx: Uint8Array, index: PageIndexEntry[]) => void,
): LocalMap {
  const pageSize = pageSizeOf(bytes);
  const pages = [];
  for (let pgno = 1; pgno * pageSize <= bytes.length; pgno++) {
    pages.push({
      pgno,
      data: bytes.subarray((pgno - 1) * pageSize, pgno * pageSize),
    });
  }
  const ltx = encodeFile({
    header: makeHeader({
      pageSize,
      commit: pages.length,
      flags: HEADER_FLAG_NO_CHECKSUM,
    }),
    pages,
    postApplyChecksum: 0n,
  });
  const { index } = decodeFile(ltx, { file: name });
  damage?.(ltx, index);
  const path = `${dir}/${name}.ltx`;
  Deno.writeFileSync(path, ltx);
  const byPgno = new Map(index.map((e) => [e.pgno, e]));
  return {
    kind: LOCAL_FRAMES,
    paths: [path],
    pages: pages.length,
    entry: (pgno) => {
      const e = byPgno.get(pgno)!;
      return pgno === 1
        ? { file: 0, offset: 0, size: 0 }
        : { file: 1, offset: e.offset, size: e.size };
    },
  };
}

Deno.test("litestream VFS decodes cache misses from a frame map, with no engine call", () => {
  const bytes = makeDatabase("frames.db", { rows: 3000 });
  const fixture = addFixture("frames", bytes);
  fixture.local = { generation: 1, map: frameMapOf("frames", bytes) };
  using db = openVfs("frames", "&cache_size=65536");
  const sql = "SELECT count(*) AS n, sum(length(s)) AS b FROM t";
  assert.deepEqual(db.prepare(sql).get(), { n: 3000, b: 3000 * 91 });
  assert.deepEqual(db.prepare("PRAGMA integrity_check").values(), [["ok"]]);
  // Page 1 from the engine, once (it is kept aside, never evicted); every
  // other page from the frames, decoded in C, through a 16-page cache.
  assert.equal(fixture.calls.readPage, 1);
  const stats = fileStats(vfs, "frames");
  assert.equal(stats.engineReads, 1);
  assert.ok(stats.localReads > bytes.length / 4096 - 2, JSON.stringify(stats));
  assert.ok(stats.evictions > 0, "a 16-page cache evicts");
});

Deno.test("litestream VFS sends a frame that fails a check to the engine, never serves it", () => {
  const bytes = makeDatabase("badframes.db", { rows: 3000 });
  const fixture = addFixture("badframes", bytes);
  let damaged = 0;
  fixture.local = {
    generation: 1,
    map: frameMapOf("badframes", bytes, (ltx, index) => {
      for (const e of index) {
        if (e.pgno % 3 === 0) {
          ltx[e.offset + 3] ^= 0xff; // the page number in its header
          damaged++;
        } else if (e.pgno % 3 === 1 && e.pgno > 1) {
          ltx[e.offset + 9] += 1; // the block size prefix
          damaged++;
        }
      }
    }),
  };
  using db = openVfs("badframes");
  const sql = "SELECT count(*) AS n, sum(length(s)) AS b FROM t";
  assert.deepEqual(db.prepare(sql).get(), { n: 3000, b: 3000 * 91 });
  assert.deepEqual(db.prepare("PRAGMA integrity_check").values(), [["ok"]]);
  // Every damaged frame went to the engine (which has the good page here).
  assert.equal(fixture.calls.readPage, 1 + damaged);
});

Deno.test("litestream VFS drops its cache when the view version changes", () => {
  const fixture = addFixture("version", makeDatabase("version.db"));
  using db = openVfs("version");
  const sql = "SELECT count(*) AS n, max(tag) AS tag FROM t";
  assert.deepEqual(db.prepare(sql).get(), { n: 500, tag: "version.db" });
  const before = fileStats(vfs, "version");
  assert.ok(before.pages > 1);

  // Same content, new version: the shim's cache goes, SQLite's own stays
  // (the change counter in page 1 is unchanged), so only page 1 is read.
  fixture.version = 2n;
  let reads = fixture.calls.readPage;
  assert.deepEqual(db.prepare(sql).get(), { n: 500, tag: "version.db" });
  const after = fileStats(vfs, "version");
  assert.equal(after.drops, before.drops + 1);
  assert.equal(fixture.calls.readPage - reads, 1);
  assert.equal(after.pages, 1);

  // New content and version: the new rows show.
  fixture.bytes = makeDatabase("version2.db", { rows: 321, tag: "v2" });
  fixture.version = 3n;
  reads = fixture.calls.readPage;
  assert.deepEqual(db.prepare(sql).get(), { n: 321, tag: "v2" });
  assert.ok(fixture.calls.readPage - reads > 1);
  assert.equal(fileStats(vfs, "version").drops, before.drops + 2);
});

Deno.test("litestream VFS caches every page a read-ahead run returns", () => {
  const single = addFixture("run1", makeDatabase("run1.db", { rows: 3000 }));
  const runs = addFixture("run8", makeDatabase("run8.db", { rows: 3000 }));
  runs.runPages = 8;
  using one = openVfs("run1");
  using eight = openVfs("run8");
  // integrity_check reads every page once: one at a time, or eight at a time.
  const check = "PRAGMA integrity_check";
  assert.deepEqual(one.prepare(check).values(), [["ok"]]);
  assert.deepEqual(eight.prepare(check).values(), [["ok"]]);
  const pages = single.bytes.byteLength / 4096;
  assert.equal(single.calls.readPage, pages);
  // integrity_check walks the b-trees, not the file in order, so some
  // pages of a run are cached already; the others spare calls.
  assert.ok(
    runs.calls.readPage < pages * 0.75,
    `${runs.calls.readPage} calls for ${pages} pages`,
  );
  const stats = fileStats(vfs, "run8");
  assert.equal(stats.pages, pages);
  assert.equal(stats.misses, runs.calls.readPage);
  const sql = "SELECT count(*) AS n, sum(length(s)) AS len FROM t";
  assert.deepEqual(eight.prepare(sql).get(), one.prepare(sql).get());
});

Deno.test("litestream VFS caches a run that ends at the page asked for", () => {
  const fixture = addFixture("back8", makeDatabase("back8.db", { rows: 3000 }));
  fixture.runPages = 8;
  fixture.runBackward = true;
  using db = openVfs("back8");
  assert.deepEqual(db.prepare("PRAGMA integrity_check").values(), [["ok"]]);
  const pages = fixture.bytes.byteLength / 4096;
  assert.ok(fixture.calls.readPage < pages * 0.75);
  assert.equal(fileStats(vfs, "back8").pages, pages);
  assert.deepEqual(
    db.prepare("SELECT count(*) AS n, max(id) AS id FROM t").get(),
    { n: 3000, id: 3000 },
  );
});

Deno.test("litestream VFS reads one page at a time when cache_size holds one", () => {
  const fixture = addFixture("run-small", makeDatabase("run-small.db"));
  fixture.runPages = 8;
  using db = openVfs("run-small", "&cache_size=4096");
  assert.deepEqual(db.prepare("SELECT count(*) AS n FROM t").get(), { n: 500 });
  assert.equal(fileStats(vfs, "run-small").pages, 1);
});

Deno.test("litestream VFS bounds its cache by cache_size", () => {
  const fixture = addFixture(
    "bounded",
    makeDatabase("bounded.db", { rows: 20000 }),
  );
  assert.ok(fixture.bytes.byteLength > 1_000_000);
  using db = openVfs("bounded", "&cache_size=65536");
  db.exec("PRAGMA cache_size = 10"); // SQLite's own cache: 10 pages
  const sql = "SELECT count(*) AS n, sum(length(s)) AS len FROM t";
  const row = db.prepare(sql).get();
  let stats = fileStats(vfs, "bounded");
  assert.equal(stats.maxBytes, 65536);
  assert.ok(stats.bytes <= 65536 && stats.bytes > 0);
  assert.equal(stats.pages, stats.bytes / 4096);
  assert.ok(stats.evictions > 0);
  const reads = fixture.calls.readPage;
  assert.deepEqual(db.prepare(sql).get(), row);
  stats = fileStats(vfs, "bounded");
  assert.ok(stats.bytes <= 65536);
  assert.ok(
    fixture.calls.readPage - reads > 16,
    "a scan larger than the cache re-reads",
  );

  const process = vfs.cacheStats()!;
  assert.ok(process.hits >= stats.hits && process.misses >= stats.misses);
});

Deno.test("litestream VFS with cache_size=0 caches nothing", () => {
  const fixture = addFixture("nocache", makeDatabase("nocache.db"));
  using db = openVfs("nocache", "&cache_size=0");
  assert.deepEqual(db.prepare("SELECT count(*) AS n FROM t").get(), { n: 500 });
  const stats = fileStats(vfs, "nocache");
  assert.equal(stats.bytes, 0);
  assert.equal(stats.hits, 0);
  assert.ok(fixture.calls.readPage > 0);
});

Deno.test("litestream VFS refuses a malformed cache_size with SQLITE_CANTOPEN", () => {
  addFixture("badcache", makeDatabase("badcache.db"));
  assert.throws(
    () => openVfs("badcache", "&cache_size=10MB"),
    (e) => e instanceof SqliteError && e.code === SQLITE_CANTOPEN,
  );
  // The engine sees the parameters first (the real one rejects cache_size
  // with a message naming it); this opener does not, so the shim's own
  // check refuses and closes what was opened.
  const { calls } = fixtures.get("badcache")!;
  assert.equal(calls.open, 1);
  assert.equal(calls.close, 1);
});

function failingQuery(key: string, error: unknown): SqliteError {
  const fixture = fixtures.get(key)!;
  using db = openVfs(key);
  fixture.failRead = error;
  try {
    db.prepare("SELECT sum(length(s)) AS n FROM t").get();
  } catch (e) {
    assert.ok(e instanceof SqliteError, String(e));
    return e;
  } finally {
    fixture.failRead = undefined;
  }
  assert.fail("the query did not fail");
}

Deno.test("litestream VFS reports a readPage error with its SQLite code and message", () => {
  addFixture("fail", makeDatabase("fail.db"));
  takeLastEngineError();

  const ioerr = new StorageError('Cannot read "fail.ltx": connection refused');
  let e = failingQuery("fail", ioerr);
  assert.equal(e.extendedCode, SQLITE_IOERR_READ);
  assert.equal(takeLastEngineError(), ioerr);
  assert.equal(takeLastEngineError(), undefined);

  const busy = new StorageError("Throttled", { retryable: true });
  e = failingQuery("fail", new Error("Cannot fetch page 2", { cause: busy }));
  assert.equal(e.code, SQLITE_BUSY);
  assert.equal(takeLastEngineError()?.message, "Cannot fetch page 2");

  const corrupt = new InvalidFrameError("a.ltx", "page 2 decodes to 17 bytes");
  e = failingQuery("fail", corrupt);
  assert.equal(e.code, SQLITE_CORRUPT);
  assert.equal(takeLastEngineError(), corrupt);

  e = failingQuery("fail", "a string, not an Error");
  assert.equal(e.extendedCode, SQLITE_IOERR_READ);
  assert.equal(takeLastEngineError()?.message, "a string, not an Error");

  // The file still works once the engine does.
  using db = openVfs("fail");
  assert.deepEqual(db.prepare("SELECT count(*) AS n FROM t").get(), { n: 500 });
});

Deno.test("litestream VFS fails an open with SQLITE_CANTOPEN and opens the next database", () => {
  addFixture("next", makeDatabase("next.db"));
  takeLastEngineError();
  assert.throws(
    () => openVfs("missing"),
    (e) => e instanceof SqliteError && e.code === SQLITE_CANTOPEN,
  );
  const cause = takeLastEngineError();
  assert.ok(cause instanceof ReplicaNotFoundError);
  assert.match(cause.message, /test:\/\/missing/);
  assert.equal(vfs.files().length, 0);

  using db = openVfs("next");
  assert.deepEqual(db.prepare("SELECT count(*) AS n FROM t").get(), { n: 500 });
  using plain = new Database(":memory:");
  assert.deepEqual(plain.prepare("SELECT 1 AS one").get(), { one: 1 });
});

Deno.test("litestream VFS serves two databases at once by their URI parameters", () => {
  addFixture("left", makeDatabase("left.db", { rows: 10, tag: "L" }));
  addFixture("right", makeDatabase("right.db", { rows: 20, tag: "R" }));
  using left = openVfs("left", "&cache_size=8192");
  using right = openVfs("right");
  const sql = "SELECT count(*) AS n, max(tag) AS tag FROM t";
  assert.deepEqual(left.prepare(sql).get(), { n: 10, tag: "L" });
  assert.deepEqual(right.prepare(sql).get(), { n: 20, tag: "R" });
  assert.deepEqual(left.prepare(sql).get(), { n: 10, tag: "L" });
  assert.equal(fileStats(vfs, "left").maxBytes, 8192);
  assert.equal(fileStats(vfs, "right").maxBytes, 10 * 1024 * 1024);
  assert.equal(vfs.files().length, 2);

  // Both at once in one connection, too.
  left.exec(`ATTACH 'file:right.db?vfs=litestream&fixture=right' AS r`);
  assert.deepEqual(
    left.prepare(
      "SELECT (SELECT count(*) FROM t) AS l, (SELECT count(*) FROM r.t) AS r",
    )
      .get(),
    { l: 10, r: 20 },
  );
  left.exec("DETACH r");
});

for (const pageSize of [512, 65536]) {
  Deno.test(`litestream VFS serves ${pageSize}-byte pages`, () => {
    const key = `page${pageSize}`;
    const fixture = addFixture(
      key,
      makeDatabase(`${key}.db`, { pageSize, rows: 3000 }),
    );
    assert.equal(pageSizeOf(fixture.bytes), pageSize);
    using db = openVfs(key);
    assert.deepEqual(db.prepare("PRAGMA page_size").values(), [[pageSize]]);
    assert.deepEqual(db.prepare("SELECT count(*) AS n FROM t").get(), {
      n: 3000,
    });
    assert.deepEqual(db.prepare("PRAGMA integrity_check").values(), [["ok"]]);
    assert.equal(fileStats(vfs, key).bytes % pageSize, 0);
  });
}

Deno.test("litestream VFS sends temp files to the default VFS", () => {
  addFixture("temp", makeDatabase("temp.db", { rows: 3000 }));
  using db = openVfs("temp");
  db.exec("PRAGMA temp_store = FILE");
  db.exec("CREATE TEMP TABLE x AS SELECT * FROM t");
  assert.deepEqual(
    db.prepare(
      "SELECT count(DISTINCT s) AS n FROM (SELECT s FROM x ORDER BY random())",
    ).get(),
    { n: 3000 },
  );
});

Deno.test("the shim's page cache passes its C unit test", () => {
  const root = new URL("../ffi/", import.meta.url).pathname;
  const exe = `${dir}/lru_test`;
  const build = new Deno.Command("cc", {
    args: [
      "-std=c11",
      "-Wall",
      "-Wextra",
      "-Werror",
      "-O1",
      "-I",
      `${root}vendor`,
      `${root}lru_test.c`,
      "-o",
      exe,
    ],
  }).outputSync();
  assert.ok(build.success, new TextDecoder().decode(build.stderr));
  const run = new Deno.Command(exe).outputSync();
  assert.ok(run.success, new TextDecoder().decode(run.stderr));
  assert.match(new TextDecoder().decode(run.stdout), /lru_test\.c: ok/);
});

Deno.test("litestream VFS sends litestream_* PRAGMAs to the engine, and no others", () => {
  const fixture = addFixture("pragma", makeDatabase("pragma.db"));
  let time = "2024-01-15T10:30:00Z";
  fixture.pragmas = {
    litestream_txid: "0000000000000007",
    litestream_time: (value) => {
      if (value === null) return time;
      time = value;
      return null;
    },
  };
  using db = openVfs("pragma");
  assert.deepEqual(db.prepare("PRAGMA litestream_txid").values(), [[
    "0000000000000007",
  ]]);
  assert.deepEqual(
    db.prepare("PRAGMA Litestream_Time = '5 minutes ago'").values(),
    [],
  );
  assert.deepEqual(db.prepare("PRAGMA main.litestream_time").values(), [[
    "5 minutes ago",
  ]]);
  // Not the engine's: SQLite's own pragma, and an unknown one (no rows).
  assert.deepEqual(db.prepare("PRAGMA litestream_nope").values(), []);
  assert.ok(db.prepare("PRAGMA page_count").values()[0][0] as number > 0);
  assert.deepEqual(fixture.calls.pragma, [
    ["litestream_txid", null],
    ["Litestream_Time", "5 minutes ago"],
    ["litestream_time", null],
    ["litestream_nope", null],
  ]);
});

Deno.test("litestream VFS returns a PRAGMA's error with the engine's message, and goes on", () => {
  const fixture = addFixture("pragmaerr", makeDatabase("pragmaerr.db"));
  fixture.pragmas = {
    litestream_time: (value) => {
      if (value === null) return "latest";
      throw new SyntaxError(`Invalid time "${value}": use RFC 3339`);
    },
  };
  using db = openVfs("pragmaerr");
  assert.throws(
    () => db.prepare("PRAGMA litestream_time = 'soon'"),
    (e) =>
      e instanceof SqliteError && e.code === 1 &&
      e.message.includes('Invalid time "soon": use RFC 3339'),
  );
  takeLastEngineError();
  assert.deepEqual(db.prepare("PRAGMA litestream_time").values(), [[
    "latest",
  ]]);
  assert.equal(db.prepare("SELECT count(*) AS n FROM t").get()!.n, 500);
});

Deno.test("litestream VFS has the SQL functions on every connection that uses it", () => {
  const a = addFixture("funca", makeDatabase("funca.db", { rows: 10 }));
  const b = addFixture("funcb", makeDatabase("funcb.db", { rows: 20 }));
  for (
    const [fixture, txid] of [[a, "000000000000000a"], [
      b,
      "000000000000000b",
    ]] as const
  ) {
    fixture.pragmas = {
      litestream_txid: txid,
      litestream_time: (value) => {
        if (value === null) return "2024-01-15T10:30:00.5Z";
        if (value === "bad") throw new SyntaxError('Invalid time "bad"');
        return null;
      },
      litestream_lag: "-1",
    };
  }
  using dbA = openVfs("funca");
  using dbB = openVfs("funcb");
  const query =
    "SELECT litestream_txid() AS txid, litestream_time() AS time, litestream_lag() AS lag, (SELECT count(*) FROM t) AS n";
  assert.deepEqual(dbA.prepare(query).get(), {
    txid: "000000000000000a",
    time: "2024-01-15T10:30:00.5Z",
    lag: -1,
    n: 10,
  });
  assert.equal(dbB.prepare(query).get()!.txid, "000000000000000b");
  assert.deepEqual(
    dbA.prepare("SELECT litestream_set_time('1 hour ago') AS r").get(),
    { r: null },
  );
  assert.deepEqual(a.calls.pragma.at(-1), ["litestream_time", "1 hour ago"]);
  assert.throws(
    () => dbA.prepare("SELECT litestream_set_time('bad')").get(),
    (e) => e instanceof SqliteError && e.message.includes('Invalid time "bad"'),
  );
  takeLastEngineError();
  assert.throws(
    () => dbA.prepare("SELECT litestream_set_time(NULL)").get(),
    (e) =>
      e instanceof SqliteError &&
      e.message.includes("litestream_set_time(): expected a time"),
  );
  // DIRECTONLY: not from a view or trigger of a schema (TEMP ones are
  // the application's own, so SQLite allows those).
  dbA.exec("ATTACH ':memory:' AS aux");
  dbA.exec(
    "CREATE VIEW aux.travel AS SELECT litestream_set_time('x') AS r",
  );
  assert.throws(
    () => dbA.prepare("SELECT * FROM aux.travel").get(),
    (e) =>
      e instanceof SqliteError &&
      /unsafe use of litestream_set_time/.test(e.message),
  );
  assert.equal(dbA.prepare("SELECT count(*) AS n FROM t").get()!.n, 10);
});

Deno.test("the shim leaves connections that do not use it alone", () => {
  // Opening other databases works with the shim's auto-extension in place
  // (Litestream's broke every later sqlite3_open), and they get no functions.
  using memory = new Database(":memory:");
  assert.throws(
    () => memory.prepare("SELECT litestream_txid()"),
    /no such function: litestream_txid/,
  );
  assert.equal(vfs.registerFunctions(memory.unsafeHandle), false);
  using file = new Database(`${dir}/plain.db`);
  file.exec("CREATE TABLE IF NOT EXISTS x (y)");
  assert.deepEqual(file.prepare("PRAGMA litestream_txid").values(), []);
  // Registering by hand on a connection that uses the VFS works (again).
  addFixture("byhand", makeDatabase("byhand.db"));
  using db = openVfs("byhand");
  assert.equal(vfs.registerFunctions(db.unsafeHandle), true);
});

// Last: it unregisters the VFS and removes the fixtures folder.
Deno.test("litestream VFS: a read outside any lock waits for another connection's commit, within a bound", () => {
  addFixture("busy", makeDatabase("busy.db"));
  const fixture = fixtures.get("busy")!;
  // SQLite reads the header at open, before any lock and with no busy
  // handler: a commit under way must not fail the open.
  fixture.busyReads = 5;
  {
    using db = openVfs("busy");
    assert.ok(db.prepare("SELECT count(*) AS n FROM t").get());
  }
  assert.equal(fixture.busyReads, 0);
  // A commit that never ends: the open fails with SQLITE_BUSY in about 2 s.
  fixture.busyReads = Infinity;
  const started = performance.now();
  assert.throws(
    () => openVfs("busy").prepare("SELECT count(*) FROM t").get(),
    (error: unknown) => {
      assert.ok(error instanceof SqliteError, String(error));
      assert.equal(error.code, SQLITE_BUSY, error.message);
      return true;
    },
  );
  const ms = performance.now() - started;
  assert.ok(ms >= 1_500 && ms < 10_000, `gave up after ${ms} ms`);
  fixture.busyReads = 0;
});

Deno.test("VfsRegistration.unregister() waits for open files, then detaches", () => {
  addFixture("last", makeDatabase("last.db"));
  const db = openVfs("last");
  assert.throws(() => vfs.unregister(), /still open/);
  db.close();
  vfs.unregister();
  vfs.unregister();
  assert.throws(
    () => openVfs("last"),
    (e) => e instanceof SqliteError && e.code === SQLITE_CANTOPEN,
  );
  const again = registerVfs({ opener });
  try {
    assert.notEqual(again, vfs);
    using db2 = openVfs("last");
    assert.deepEqual(db2.prepare("SELECT count(*) AS n FROM t").get(), {
      n: 500,
    });
  } finally {
    again.unregister();
  }
  Deno.removeSync(dir, { recursive: true });
});
