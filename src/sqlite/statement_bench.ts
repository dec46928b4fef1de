import { Database } from "./mod.ts";

const db = new Database(":memory:");
db.exec(`
  CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, r REAL, s TEXT, b BLOB);
`);
{
  db.exec("BEGIN");
  using insert = db.prepare("INSERT INTO t (n, r, s, b) VALUES (?, ?, ?, ?)");
  const blob = new Uint8Array(32);
  for (let i = 0; i < 10_000; i++) {
    insert.run(i * 1000, i / 3, `row number ${i}`, blob);
  }
  db.exec("COMMIT");
}

const byId = db.prepare("SELECT * FROM t WHERE id = ?");
const scan = db.prepare("SELECT id, n, r, s FROM t");
const scanValues = db.prepare("SELECT id, n, r, s FROM t");
const update = db.prepare("UPDATE t SET n = ? WHERE id = ?");
let i = 0;

Deno.bench("Statement.get() by primary key", () => {
  byId.get((i++ % 10_000) + 1);
});

Deno.bench("Statement.all() of 10,000 rows (4 columns)", () => {
  scan.all();
});

Deno.bench("Statement.values() of 10,000 rows (4 columns)", () => {
  scanValues.values();
});

Deno.bench("Statement.iter() of 10,000 rows (4 columns)", () => {
  for (const _ of scan.iter());
});

Deno.bench("Statement.run() UPDATE by primary key", () => {
  update.run(i, (i++ % 10_000) + 1);
});

Deno.bench("Database.exec() one statement without parameters", () => {
  db.exec("SELECT 1");
});
