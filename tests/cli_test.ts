/** The `lsvfs` command, run as a user runs it: a subprocess. */

import assert from "node:assert/strict";
import { makeLitestreamReplica } from "./_litestream.ts";

const MAIN = new URL("../src/cli/main.ts", import.meta.url).pathname;

async function lsvfs(args: string[], stdin = "") {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
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
  assert.match(usage.stderr, /see lsvfs --help/);

  const help = await lsvfs(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /lsvfs query <replica-url>/);
});
