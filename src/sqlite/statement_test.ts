import assert from "node:assert/strict";
import {
  type BindValue,
  Database,
  SQLITE_CONSTRAINT,
  SQLITE_CONSTRAINT_NOTNULL,
  SQLITE_CONSTRAINT_UNIQUE,
  SQLITE_ERROR,
  SqliteError,
} from "./mod.ts";

function memory(): Database {
  return new Database(":memory:");
}

function roundTrip(db: Database, value: BindValue): unknown {
  using stmt = db.prepare("SELECT ? AS v");
  return stmt.get(value)?.v;
}

function typeOf(db: Database, value: BindValue): unknown {
  using stmt = db.prepare("SELECT typeof(?) AS t");
  return stmt.get(value)?.t;
}

Deno.test("Statement.get() round-trips integers as number when safe", () => {
  using db = memory();
  for (
    const n of [0, 1, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1, -(2 ** 53 - 1)]
  ) {
    const v = roundTrip(db, n);
    assert.equal(typeof v, "number");
    assert.equal(v, n);
    assert.equal(typeOf(db, n), "integer");
  }
});

Deno.test("Statement.all() returns 64-bit integers as bigint", () => {
  using db = memory();
  const values = [
    2n ** 53n,
    -(2n ** 53n),
    2n ** 53n + 1n,
    2n ** 63n - 1n,
    -(2n ** 63n),
  ];
  db.exec("CREATE TABLE t (n INTEGER)");
  using insert = db.prepare("INSERT INTO t VALUES (?)");
  for (const n of values) insert.run(n);
  assert.deepEqual(
    db.prepare("SELECT n FROM t ORDER BY rowid").all(),
    values.map((n) => ({ n })),
  );
  assert.equal(
    db.prepare("SELECT 9007199254740991 AS n").get()?.n,
    2 ** 53 - 1,
  );
});

Deno.test("Statement.get() binds small bigints as INTEGER and returns number", () => {
  using db = memory();
  assert.equal(roundTrip(db, 42n), 42);
  assert.equal(typeOf(db, 42n), "integer");
});

Deno.test("Statement.run() rejects bigints outside the int64 range", () => {
  using db = memory();
  using stmt = db.prepare("SELECT ?");
  assert.throws(() => stmt.run(2n ** 63n), RangeError);
  assert.throws(() => stmt.run(-(2n ** 63n) - 1n), RangeError);
  // The statement is still usable afterwards.
  assert.deepEqual(stmt.values(1), [[1]]);
});

Deno.test("Statement.get() round-trips reals", () => {
  using db = memory();
  for (const n of [1.5, -0.25, 1e300, -1e-300, Math.PI, Infinity, -Infinity]) {
    assert.equal(roundTrip(db, n), n);
    assert.equal(typeOf(db, n), "real");
  }
  // Integers beyond int64 are bound as REAL.
  assert.equal(typeOf(db, 2 ** 64), "real");
  assert.equal(roundTrip(db, 2 ** 64), 2 ** 64);
  // SQLite stores NaN as NULL.
  assert.equal(roundTrip(db, NaN), null);
});

Deno.test("Statement.get() round-trips text as UTF-8", () => {
  using db = memory();
  const texts = [
    "",
    "hello",
    "héllo wörld",
    "日本語のテキスト",
    "emoji 🦕🎉",
    "nul\0inside",
    "\0",
    "x".repeat(100_000),
    "ü".repeat(50_000) + "🦕".repeat(1000),
  ];
  for (const s of texts) {
    assert.equal(roundTrip(db, s), s);
    assert.equal(typeOf(db, s), "text");
  }
  assert.equal(
    db.prepare("SELECT length(?) AS n").get("🦕é")?.n,
    2,
  );
});

Deno.test("Statement.get() round-trips blobs as copied Uint8Array", () => {
  using db = memory();
  const blobs = [
    new Uint8Array(0),
    new Uint8Array([0, 1, 2, 255]),
    crypto.getRandomValues(new Uint8Array(65536)),
    new Uint8Array([9, 8, 7, 6, 5]).subarray(1, 4),
  ];
  for (const b of blobs) {
    const v = roundTrip(db, b);
    assert.ok(v instanceof Uint8Array);
    assert.deepEqual(v, new Uint8Array(b));
    assert.equal(typeOf(db, b), "blob");
  }
  db.exec("CREATE TABLE t (b BLOB)");
  db.exec("INSERT INTO t VALUES (x'0102')");
  using stmt = db.prepare("SELECT b FROM t");
  const first = stmt.get()?.b as Uint8Array;
  first[0] = 99;
  assert.deepEqual(stmt.get()?.b, new Uint8Array([1, 2]));
});

Deno.test("Statement.get() binds null, undefined and booleans", () => {
  using db = memory();
  assert.equal(roundTrip(db, null), null);
  assert.equal(roundTrip(db, undefined), null);
  assert.equal(typeOf(db, null), "null");
  assert.equal(roundTrip(db, true), 1);
  assert.equal(roundTrip(db, false), 0);
  assert.equal(typeOf(db, true), "integer");
});

Deno.test("Statement.run() rejects unsupported values with TypeError", () => {
  using db = memory();
  using stmt = db.prepare("SELECT ?");
  const bad = [
    new Date(),
    [1],
    Symbol("s"),
    () => 1,
    new Uint16Array(1),
  ] as unknown as BindValue[];
  for (const v of bad) assert.throws(() => stmt.run(v), TypeError);
  assert.throws(() => stmt.run(1, 2), RangeError);
});

Deno.test("Statement binds positional ? and ?NNN parameters", () => {
  using db = memory();
  assert.deepEqual(db.prepare("SELECT ?, ?, ?").values(1, "a", null), [[
    1,
    "a",
    null,
  ]]);
  assert.deepEqual(db.prepare("SELECT ?2, ?1, ?2").values("x", "y"), [[
    "y",
    "x",
    "y",
  ]]);
  // Fewer values than parameters: the rest are NULL.
  assert.deepEqual(db.prepare("SELECT ?, ?").values(1), [[1, null]]);
  using stmt = db.prepare("SELECT ?3 AS c");
  assert.equal(stmt.parameterCount, 3);
  assert.deepEqual(stmt.get({ 3: "three" }), { c: "three" });
});

Deno.test("Statement binds named parameters with and without prefix", () => {
  using db = memory();
  using stmt = db.prepare("SELECT :a AS a, @b AS b, $c AS c");
  const row = { a: 1, b: "two", c: null };
  assert.deepEqual(stmt.get({ a: 1, b: "two", c: null }), row);
  assert.deepEqual(stmt.get({ ":a": 1, "@b": "two", "$c": null }), row);
  assert.deepEqual(stmt.get({ ":a": 1, b: "two", $c: null, extra: 5 }), row);
  assert.throws(() => stmt.get({ a: 1, b: 2 }), {
    name: "RangeError",
    message: 'Missing named parameter: "$c"',
  });
  using repeated = db.prepare("SELECT :x + :x AS y");
  assert.deepEqual(repeated.get({ x: 21 }), { y: 42 });
});

Deno.test("Statement rejects named values for anonymous parameters", () => {
  using db = memory();
  using stmt = db.prepare("SELECT ?, :a");
  assert.throws(() => stmt.get({ a: 1 }), RangeError);
  assert.deepEqual(stmt.values(1, 2), [[1, 2]]);
});

Deno.test("Statement clears bindings after each execution", () => {
  using db = memory();
  using stmt = db.prepare("SELECT ? AS v");
  assert.deepEqual(stmt.get("x"), { v: "x" });
  assert.deepEqual(stmt.get(), { v: null });
  const blob = new Uint8Array([1, 2, 3]);
  assert.deepEqual(stmt.get(blob), { v: blob });
  assert.deepEqual(stmt.get(), { v: null });
});

Deno.test("Statement.run() returns the rows changed", () => {
  using db = memory();
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  using insert = db.prepare("INSERT INTO t (v) VALUES (?)");
  assert.equal(insert.run("a"), 1);
  assert.equal(insert.run("b"), 1);
  assert.equal(db.prepare("UPDATE t SET v = v || '!'").run(), 2);
  assert.equal(db.prepare("SELECT * FROM t").run(), 0);
  assert.equal(db.prepare("CREATE TABLE u (x)").run(), 0);
  assert.equal(db.prepare("UPDATE t SET v = 'z' WHERE id = 99").run(), 0);
  assert.equal(
    db.prepare("INSERT INTO t (v) VALUES ('c'), ('d') RETURNING id").run(),
    2,
  );
  assert.equal(db.prepare("DELETE FROM t").run(), 4);
});

Deno.test("Statement.all(), get(), values() and iter() read the same rows", () => {
  using db = memory();
  db.exec("CREATE TABLE t (a INTEGER, b TEXT)");
  db.exec("INSERT INTO t VALUES (1, 'x'), (2, 'y'), (3, 'z')");
  using stmt = db.prepare<{ a: number; b: string }>(
    "SELECT a, b FROM t WHERE a >= ? ORDER BY a",
  );
  const all = stmt.all(2);
  assert.deepEqual(all, [{ a: 2, b: "y" }, { a: 3, b: "z" }]);
  assert.deepEqual(stmt.get(2), { a: 2, b: "y" });
  assert.equal(stmt.get(10), undefined);
  assert.deepEqual(stmt.values(2), [[2, "y"], [3, "z"]]);
  assert.deepEqual([...stmt.iter(2)], all);
  assert.deepEqual(stmt.columnNames(), ["a", "b"]);
  using noParams = db.prepare("SELECT a FROM t ORDER BY a");
  assert.deepEqual([...noParams], [{ a: 1 }, { a: 2 }, { a: 3 }]);
  assert.deepEqual(stmt.all(10), []);
});

Deno.test("Statement.iter() resets when iteration stops early", () => {
  using db = memory();
  db.exec("CREATE TABLE t (a)");
  db.exec("INSERT INTO t VALUES (1), (2), (3)");
  using stmt = db.prepare("SELECT a FROM t ORDER BY a");
  for (const row of stmt) {
    assert.deepEqual(row, { a: 1 });
    break;
  }
  assert.deepEqual(stmt.values(), [[1], [2], [3]]);
});

Deno.test("Statement.iter() throws once the statement ran again", () => {
  using db = memory();
  db.exec("CREATE TABLE t (a)");
  db.exec("INSERT INTO t VALUES (1), (2), (3)");
  using stmt = db.prepare("SELECT a FROM t ORDER BY a");
  const it = stmt.iter();
  assert.deepEqual(it.next().value, { a: 1 });
  assert.deepEqual(stmt.get(), { a: 1 });
  assert.throws(() => it.next(), /stale/);
  const it2 = stmt.iter();
  assert.deepEqual(it2.next().value, { a: 1 });
  stmt.finalize();
  assert.throws(() => it2.next(), /stale/);
});

Deno.test("Statement.columnNames() follows schema changes", () => {
  using db = memory();
  db.exec("CREATE TABLE t (a)");
  db.exec("INSERT INTO t VALUES (1)");
  using stmt = db.prepare("SELECT * FROM t");
  assert.deepEqual(stmt.all(), [{ a: 1 }]);
  db.exec("ALTER TABLE t ADD COLUMN b DEFAULT 'B'");
  assert.deepEqual(stmt.all(), [{ a: 1, b: "B" }]);
  assert.deepEqual(stmt.columnNames(), ["a", "b"]);
  assert.deepEqual(db.prepare("SELECT 1 AS one, 2").columnNames(), [
    "one",
    "2",
  ]);
});

Deno.test("Statement errors carry SQLite's code and message", () => {
  using db = memory();
  db.exec(
    "CREATE TABLE t (id INTEGER PRIMARY KEY, u TEXT UNIQUE, n TEXT NOT NULL)",
  );
  using insert = db.prepare("INSERT INTO t (u, n) VALUES (?, ?)");
  insert.run("a", "x");
  assert.throws(() => insert.run("a", "y"), (e) => {
    assert.ok(e instanceof SqliteError);
    assert.equal(e.code, SQLITE_CONSTRAINT);
    assert.equal(e.extendedCode, SQLITE_CONSTRAINT_UNIQUE);
    assert.equal(e.message, "UNIQUE constraint failed: t.u");
    return true;
  });
  assert.throws(() => insert.run("b", null), (e) => {
    assert.ok(e instanceof SqliteError);
    assert.equal(e.extendedCode, SQLITE_CONSTRAINT_NOTNULL);
    assert.equal(e.message, "NOT NULL constraint failed: t.n");
    return true;
  });
  // The statement is reset after a failure and can run again.
  assert.equal(insert.run("b", "z"), 1);
  assert.throws(() => db.prepare("SELEKT 1"), {
    name: "SqliteError",
    code: SQLITE_ERROR,
    message: 'near "SELEKT": syntax error',
  });
  assert.throws(() => db.prepare("SELECT * FROM missing"), {
    message: "no such table: missing",
  });
});

Deno.test("Statement.get() reports errors raised while stepping", () => {
  using db = memory();
  using stmt = db.prepare("SELECT abs(?) AS v");
  assert.throws(() => stmt.get(-(2n ** 63n)), {
    name: "SqliteError",
    code: SQLITE_ERROR,
    message: "integer overflow",
  });
  assert.deepEqual(stmt.get(-5), { v: 5 });
  assert.throws(() => [...db.prepare("SELECT abs(-9223372036854775808)")], {
    message: "integer overflow",
  });
});

Deno.test("Database.prepare() rejects empty SQL and several statements", () => {
  using db = memory();
  assert.throws(() => db.prepare(""), RangeError);
  assert.throws(() => db.prepare("  -- nothing"), RangeError);
  assert.throws(
    () => db.prepare("SELECT 1; SELECT 2"),
    /more than one statement/,
  );
  assert.deepEqual(db.prepare("SELECT 1 AS x;  -- trailing").get(), { x: 1 });
});

Deno.test("Statement.finalize() is idempotent and later use throws", () => {
  using db = memory();
  const stmt = db.prepare("SELECT 1");
  assert.equal(stmt.isOpen, true);
  assert.notEqual(stmt.unsafeHandle, null);
  stmt.finalize();
  stmt.finalize();
  assert.equal(stmt.isOpen, false);
  assert.equal(stmt.unsafeHandle, null);
  assert.throws(() => stmt.all(), { message: "Statement is finalized" });
  assert.throws(() => stmt.columnNames(), {
    message: "Statement is finalized",
  });
});

Deno.test("Statement [Symbol.dispose] finalizes", () => {
  using db = memory();
  let outer;
  {
    using stmt = db.prepare("SELECT 1");
    outer = stmt;
    assert.equal(stmt.isOpen, true);
  }
  assert.equal(outer.isOpen, false);
});

Deno.test("Statement exposes sql and readonly", () => {
  using db = memory();
  db.exec("CREATE TABLE t (a)");
  assert.equal(db.prepare("SELECT 1").sql, "SELECT 1");
  assert.equal(db.prepare("SELECT 1").readonly, true);
  assert.equal(db.prepare("INSERT INTO t VALUES (1)").readonly, false);
});
