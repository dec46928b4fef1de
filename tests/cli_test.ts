/** The `lsvfs` command, run as a user runs it: a subprocess. */

import assert from "node:assert/strict";
import { makeLitestreamReplica } from "./_litestream.ts";
import { runLsvfs } from "./_lsvfs.ts";
import { Database as PlainDatabase } from "../src/sqlite/mod.ts";

function lsvfs(args: string[], stdin = "") {
  return runLsvfs(args, { stdin });
}

Deno.test("lsvfs query prints rows as JSON in a pipe, CSV on request, and reads SQL from stdin", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-cli-" });
  try {
    await makeLitestreamReplica(dir, [
      "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)",
      "INSERT INTO t (name) VALUES ('ada'), ('grace')",
    ]);
    const json = await lsvfs(["query", `file://${dir}`, "SELECT * FROM t"]);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), [
      { id: 1, name: "ada" },
      { id: 2, name: "grace" },
    ]);
    const csv = await lsvfs(
      ["query", dir, "--csv"],
      "SELECT name FROM t ORDER BY id DESC",
    );
    assert.equal(csv.stdout, "name\ngrace\nada\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lsvfs explains errors in one line with the documented exit codes", async () => {
  const missing = await lsvfs(["query", "/nonexistent/replica", "SELECT 1"]);
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /^lsvfs: .*No LTX files at "file:\/\/\/nonexistent\/replica"/,
  );
  assert.equal(missing.stderr.trimEnd().split("\n").length, 1);

  const usage = await lsvfs(["query"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /see lsvfs query --help/);

  const help = await lsvfs(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /lsvfs query <replica-url>/);
});

Deno.test("lsvfs hydrate restores a replica to a plain SQLite file, with progress, and catches it up later", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-cli-" });
  try {
    const replica = `${dir}/replica`;
    await makeLitestreamReplica(replica, [
      "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)",
      "INSERT INTO t (b) SELECT randomblob(3000) FROM (WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 500) SELECT v FROM s)",
    ]);
    const path = `${dir}/hydrated.db`;
    const run = await lsvfs(["hydrate", `file://${replica}`, path, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), {
      path,
      txid: "0000000000000002",
    });
    // Progress objects, between the log's key=value lines.
    const reports = run.stderr.split("\n").filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
    assert.equal(reports.at(-1).status, "complete");
    assert.equal(reports.at(-1).percent, 100);
    assert.ok(reports.at(-1).of > 300, JSON.stringify(reports.at(-1)));
    {
      using db = new PlainDatabase(path, { readonly: true });
      assert.deepEqual(
        db.prepare("SELECT count(*) AS n, sum(length(b)) AS s FROM t").get(),
        { n: 500, s: 1_500_000 },
      );
    }

    await makeLitestreamReplica(replica, ["DELETE FROM t WHERE id > 100"]);
    const again = await lsvfs(["hydrate", replica, path]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, `hydrated ${path} at TXID 0000000000000003\n`);
    assert.match(again.stderr, /hydration file reused/);
    using db = new PlainDatabase(path, { readonly: true });
    assert.deepEqual(db.prepare("SELECT count(*) AS n FROM t").get(), {
      n: 100,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lsvfs query --at shows the past, and --write changes the replica before it returns", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-cli-" });
  try {
    await makeLitestreamReplica(dir, [
      "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)",
      "INSERT INTO t (name) VALUES ('ada')",
    ]);
    await new Promise((r) => setTimeout(r, 20));
    const between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    await makeLitestreamReplica(dir, ["INSERT INTO t (name) VALUES ('grace')"]);
    const count = "SELECT count(*) AS n FROM t";
    const past = await lsvfs([
      "query",
      `file://${dir}`,
      "--at",
      between,
      count,
    ]);
    assert.equal(past.code, 0, past.stderr);
    assert.deepEqual(JSON.parse(past.stdout), [{ n: 1 }]);
    const write = await lsvfs([
      "query",
      `file://${dir}`,
      "--write",
      "INSERT INTO t (name) VALUES ('hopper'); SELECT count(*) AS n FROM t",
    ]);
    assert.equal(write.code, 0, write.stderr);
    assert.deepEqual(JSON.parse(write.stdout), [{ n: 3 }]);
    // A fresh process, read-only, sees the row: it was uploaded.
    const after = await lsvfs(["query", `file://${dir}`, "SELECT name FROM t"]);
    assert.deepEqual(
      JSON.parse(after.stdout).map((r: { name: string }) => r.name),
      [
        "ada",
        "grace",
        "hopper",
      ],
    );
    const bad = await lsvfs([
      "query",
      `file://${dir}`,
      "--at",
      "soonish",
      count,
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /soonish/);
    assert.equal(bad.stderr.trimEnd().split("\n").length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
