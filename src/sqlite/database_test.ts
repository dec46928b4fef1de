import assert from "node:assert/strict";
import { join } from "node:path";
import {
  Database,
  SQLITE_BUSY,
  SQLITE_CANTOPEN,
  SQLITE_ERROR,
  SQLITE_READONLY,
  SqliteError,
} from "./mod.ts";

async function withTempDir(fn: (dir: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs_sqlite_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function seed(path: string): void {
  using db = new Database(path);
  db.exec(`
    CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
    INSERT INTO t (v) VALUES ('a'), ('b'), ('c');
  `);
}

Deno.test("new Database() creates a database file", async () => {
  await withTempDir((dir) => {
    const path = join(dir, "new.db");
    using db = new Database(path);
    db.exec("CREATE TABLE t (a)");
    assert.equal(db.path, path);
    assert.equal(db.isOpen, true);
    assert.ok(Deno.statSync(path).isFile);
  });
});

Deno.test("new Database() with create: false fails on a missing file", async () => {
  await withTempDir((dir) => {
    const path = join(dir, "missing.db");
    assert.throws(() => new Database(path, { create: false }), (e) => {
      assert.ok(e instanceof SqliteError);
      assert.equal(e.code, SQLITE_CANTOPEN);
      assert.equal(
        e.message,
        `Cannot open database "${path}": unable to open database file`,
      );
      return true;
    });
    assert.throws(() => new Database(path, { readonly: true }), {
      code: SQLITE_CANTOPEN,
    });
  });
});

Deno.test("new Database() with readonly: true rejects writes", async () => {
  await withTempDir((dir) => {
    const path = join(dir, "ro.db");
    seed(path);
    using db = new Database(path, { readonly: true });
    assert.deepEqual(db.prepare("SELECT count(*) AS n FROM t").get(), { n: 3 });
    assert.throws(() => db.exec("INSERT INTO t (v) VALUES ('d')"), (e) => {
      assert.ok(e instanceof SqliteError);
      assert.equal(e.code, SQLITE_READONLY);
      assert.equal(e.message, "attempt to write a readonly database");
      return true;
    });
  });
});

Deno.test("new Database() opens file: URIs", async () => {
  await withTempDir((dir) => {
    const path = join(dir, "uri.db");
    seed(path);
    using db = new Database(`file:${path}?mode=ro`);
    assert.deepEqual(db.prepare("SELECT v FROM t WHERE id = 2").get(), {
      v: "b",
    });
    assert.throws(() => db.exec("DELETE FROM t"), { code: SQLITE_READONLY });
    using mem = new Database("file:shared?mode=memory&cache=shared");
    mem.exec("CREATE TABLE m (x)");
    using mem2 = new Database("file:shared?mode=memory&cache=shared");
    assert.deepEqual(mem2.prepare("SELECT count(*) AS n FROM m").get(), {
      n: 0,
    });
  });
});

Deno.test("new Database() with uri: false takes file: names literally", async () => {
  await withTempDir((dir) => {
    const name = join(dir, "file:plain.db");
    using db = new Database(name, { uri: false });
    db.exec("CREATE TABLE t (a)");
    assert.ok(Deno.statSync(name).isFile);
  });
});

Deno.test("new Database() with vfs opens through that VFS", async () => {
  await withTempDir((dir) => {
    const path = join(dir, "vfs.db");
    using db = new Database(path, { vfs: "unix-none" });
    db.exec("CREATE TABLE t (a)");
    assert.throws(() => new Database(path, { vfs: "no-such-vfs" }), {
      name: "SqliteError",
      code: SQLITE_ERROR,
      message: `Cannot open database "${path}": no such vfs: no-such-vfs`,
    });
  });
});

Deno.test("Database.exec() runs a multi-statement script", () => {
  using db = new Database(":memory:");
  const changes = db.exec(`
    -- a comment
    CREATE TABLE t (a INTEGER);
    INSERT INTO t VALUES (1), (2), (3);
    SELECT * FROM t;
    UPDATE t SET a = a * 10 WHERE a > 1;
    /* trailing comment */
  `);
  assert.equal(changes, 5);
  assert.deepEqual(db.prepare("SELECT a FROM t ORDER BY a").values(), [
    [1],
    [20],
    [30],
  ]);
  assert.equal(db.exec(""), 0);
  assert.equal(db.exec("  ;  "), 0);
});

Deno.test("Database.exec() runs one statement with parameters", () => {
  using db = new Database(":memory:");
  db.exec("CREATE TABLE t (a, b)");
  assert.equal(db.exec("INSERT INTO t VALUES (?, ?)", 1, "x"), 1);
  assert.equal(db.exec("INSERT INTO t VALUES (:a, :b)", { a: 2, b: "y" }), 1);
  assert.equal(db.exec("DELETE FROM t WHERE a = ?", 1), 1);
  assert.throws(
    () =>
      db.exec("INSERT INTO t VALUES (?, 1); INSERT INTO t VALUES (2, 2)", 1),
    RangeError,
  );
  assert.deepEqual(db.prepare("SELECT * FROM t").all(), [{ a: 2, b: "y" }]);
});

Deno.test("Database.exec() stops at the first failing statement", () => {
  using db = new Database(":memory:");
  assert.throws(
    () =>
      db.exec(`
        CREATE TABLE t (a UNIQUE);
        INSERT INTO t VALUES (1);
        INSERT INTO t VALUES (1);
        INSERT INTO t VALUES (2);
      `),
    { name: "SqliteError", message: "UNIQUE constraint failed: t.a" },
  );
  assert.deepEqual(db.prepare("SELECT a FROM t").values(), [[1]]);
  assert.throws(() => db.exec("SELECT 1; SELEKT 2"), {
    message: 'near "SELEKT": syntax error',
  });
});

Deno.test("Database reports changes, totalChanges, lastInsertRowId and autocommit", () => {
  using db = new Database(":memory:");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v)");
  assert.equal(db.autocommit, true);
  db.exec("BEGIN");
  assert.equal(db.autocommit, false);
  db.exec("INSERT INTO t (v) VALUES (1), (2)");
  assert.equal(db.changes, 2);
  assert.equal(db.lastInsertRowId, 2);
  db.exec("COMMIT");
  assert.equal(db.autocommit, true);
  db.exec("UPDATE t SET v = 0");
  assert.equal(db.changes, 2);
  assert.equal(db.totalChanges, 4);
  db.exec("INSERT INTO t (id, v) VALUES (?, 'big')", 2n ** 62n);
  assert.equal(db.lastInsertRowId, 2n ** 62n);
  db.exec("INSERT INTO t (id, v) VALUES (?, 'safe')", 2 ** 53 - 1);
  assert.equal(db.lastInsertRowId, 2 ** 53 - 1);
});

Deno.test("Database ends read transactions after each statement call", async () => {
  await withTempDir((dir) => {
    const path = join(dir, "locks.db");
    seed(path);
    using reader = new Database(path);
    using writer = new Database(path);
    using first = reader.prepare("SELECT v FROM t ORDER BY id");
    // get() reads one row of three: the read must still end.
    assert.deepEqual(first.get(), { v: "a" });
    for (const _ of first.iter()) break;
    assert.equal(reader.autocommit, true);
    assert.equal(writer.exec("DELETE FROM t WHERE id = 1"), 1);
    // While an iteration is open the reader holds its SHARED lock.
    const it = first.iter();
    it.next();
    assert.throws(() => writer.exec("DELETE FROM t"), { code: SQLITE_BUSY });
    it.return?.();
    assert.equal(writer.exec("DELETE FROM t"), 2);
  });
});

Deno.test("Database.close() finalizes open statements and is idempotent", () => {
  const db = new Database(":memory:");
  const a = db.prepare("SELECT 1");
  const b = db.prepare("SELECT 2");
  b.finalize();
  const it = db.prepare("SELECT 3 UNION ALL SELECT 4").iter();
  it.next();
  db.close();
  assert.equal(db.isOpen, false);
  assert.equal(db.unsafeHandle, null);
  assert.equal(a.isOpen, false);
  assert.throws(() => a.all(), { message: "Database is closed" });
  assert.throws(() => it.next(), /stale/);
  db.close();
});

Deno.test("Database use after close throws a clear error", () => {
  const db = new Database(":memory:");
  db.close();
  const closed = { message: "Database is closed" };
  assert.throws(() => db.prepare("SELECT 1"), closed);
  assert.throws(() => db.exec("SELECT 1"), closed);
  assert.throws(() => db.exec("SELECT ?", 1), closed);
  assert.throws(() => db.changes, closed);
  assert.throws(() => db.totalChanges, closed);
  assert.throws(() => db.lastInsertRowId, closed);
  assert.throws(() => db.autocommit, closed);
  assert.throws(() => db.loadExtension("x"), closed);
  assert.throws(() => db.enableLoadExtension(true), closed);
});

Deno.test("Database [Symbol.dispose] closes", () => {
  let outer: Database;
  {
    using db = new Database(":memory:");
    outer = db;
    assert.equal(db.isOpen, true);
  }
  assert.equal(outer.isOpen, false);
});

Deno.test("Database.loadExtension() of a missing file throws SqliteError", async () => {
  await withTempDir((dir) => {
    using db = new Database(":memory:");
    const file = join(dir, "no_such_extension");
    assert.throws(() => db.loadExtension(file), (e) => {
      assert.ok(e instanceof SqliteError);
      assert.equal(e.code, SQLITE_ERROR);
      assert.match(e.message, /^Cannot load extension ".*no_such_extension": /);
      return true;
    });
    assert.throws(() => db.loadExtension(file, "sqlite3_x_init"), SqliteError);
    // The connection is still usable.
    assert.deepEqual(db.prepare("SELECT 1 AS one").get(), { one: 1 });
  });
});

Deno.test("Database.loadExtension() leaves SQL load_extension() disabled", () => {
  using db = new Database(":memory:");
  assert.throws(() => db.loadExtension("/nonexistent/ext"), SqliteError);
  assert.throws(() => db.exec("SELECT load_extension('/nonexistent/ext')"), {
    message: "not authorized",
  });
  db.enableLoadExtension(true);
  assert.throws(
    () => db.exec("SELECT load_extension('/nonexistent/ext')"),
    (e) => e instanceof SqliteError && e.message !== "not authorized",
  );
  db.enableLoadExtension(false);
  assert.throws(() => db.exec("SELECT load_extension('/nonexistent/ext')"), {
    message: "not authorized",
  });
});

Deno.test("Database.loadExtension() loads a real extension", {
  ignore: !hasCompiler(),
}, async () => {
  await withTempDir(async (dir) => {
    const src = join(dir, "hello.c");
    const lib = join(dir, "hello.so");
    await Deno.writeTextFile(
      src,
      `#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1
static void hello(sqlite3_context *c, int n, sqlite3_value **v) {
  sqlite3_result_text(c, "hello", -1, SQLITE_STATIC);
}
int sqlite3_hello_init(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
  SQLITE_EXTENSION_INIT2(api);
  return sqlite3_create_function_v2(db, "hello", 0, SQLITE_UTF8, 0, hello, 0, 0, 0);
}
`,
    );
    const cc = await new Deno.Command("cc", {
      args: ["-shared", "-fPIC", "-o", lib, src],
    }).output();
    assert.equal(cc.code, 0, new TextDecoder().decode(cc.stderr));
    using db = new Database(":memory:");
    db.loadExtension(lib);
    assert.deepEqual(db.prepare("SELECT hello() AS h").get(), { h: "hello" });
  });
});

function hasCompiler(): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    Deno.statSync("/usr/include/sqlite3ext.h");
    return new Deno.Command("cc", { args: ["--version"] }).outputSync()
      .success;
  } catch {
    return false;
  }
}

Deno.test("Database and Statement left open are finalized when collected", async () => {
  await withTempDir(async (dir) => {
    const script = join(dir, "gc.ts");
    await Deno.writeTextFile(
      script,
      `
import { Database } from ${JSON.stringify(import.meta.resolve("./mod.ts"))};
const path = ${JSON.stringify(join(dir, "gc.db"))};
{
  using db = new Database(path);
  db.exec("CREATE TABLE t (a); INSERT INTO t VALUES (1), (2);");
}
(() => {
  const it = new Database(path).prepare("SELECT a FROM t").iter();
  it.next(); // holds a SHARED lock; neither closed nor finalized
})();
using writer = new Database(path);
try {
  writer.exec("DELETE FROM t");
} catch (e) {
  console.log(e.message);
}
for (let i = 0; i < 20; i++) {
  globalThis.gc();
  await new Promise((r) => setTimeout(r, 5));
}
console.log(writer.exec("DELETE FROM t"));
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--v8-flags=--expose-gc", script],
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(
      new TextDecoder().decode(out.stdout),
      "database is locked\n2\n",
    );
  });
});
