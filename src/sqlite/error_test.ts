import assert from "node:assert/strict";
import {
  Database,
  SQLITE_BUSY,
  SQLITE_CONSTRAINT,
  SQLITE_CONSTRAINT_PRIMARYKEY,
  SQLITE_DONE,
  SQLITE_IOERR_SHORT_READ,
  SQLITE_OK,
  SQLITE_ROW,
  SqliteError,
  sqliteLibrary,
  unwrap,
} from "./mod.ts";

Deno.test("SqliteError keeps the primary and the extended code", () => {
  const error = new SqliteError(SQLITE_IOERR_SHORT_READ, "short read");
  assert.ok(error instanceof Error);
  assert.equal(error.name, "SqliteError");
  assert.equal(error.message, "short read");
  assert.equal(error.code, 10);
  assert.equal(error.extendedCode, 522);
});

Deno.test("unwrap() passes SQLITE_OK, SQLITE_ROW and SQLITE_DONE", () => {
  unwrap(SQLITE_OK);
  unwrap(SQLITE_ROW);
  unwrap(SQLITE_DONE);
});

Deno.test("unwrap() throws sqlite3_errstr() without a connection", () => {
  assert.throws(() => unwrap(SQLITE_BUSY), {
    name: "SqliteError",
    code: SQLITE_BUSY,
    extendedCode: SQLITE_BUSY,
    message: "database is locked",
  });
  assert.throws(() => unwrap(SQLITE_BUSY, { library: sqliteLibrary() }), {
    message: "database is locked",
  });
});

Deno.test("unwrap() throws the connection's message and extended code", () => {
  using db = new Database(":memory:");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  db.exec("INSERT INTO t VALUES (1)");
  assert.throws(() => db.exec("INSERT INTO t VALUES (1)"));
  // The connection still holds the last error.
  assert.throws(() => unwrap(SQLITE_CONSTRAINT, db), {
    code: SQLITE_CONSTRAINT,
    extendedCode: SQLITE_CONSTRAINT_PRIMARYKEY,
    message: "UNIQUE constraint failed: t.id",
  });
  // A code that does not match the connection's error falls back to errstr.
  assert.throws(() => unwrap(SQLITE_BUSY, db), {
    code: SQLITE_BUSY,
    message: "database is locked",
  });
});
