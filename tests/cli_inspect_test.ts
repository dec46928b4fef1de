/**
 * `lsvfs ls`, `info`, `verify` and `restore`, run as a user runs them (a
 * subprocess) on replicas written by Litestream's extension, on file:// and
 * on S3.
 */

import assert from "node:assert/strict";
import { makeLitestreamReplica } from "./_litestream.ts";
import { runLsvfs } from "./_lsvfs.ts";
import { S3RVER_ENV, startS3Server } from "./_s3.ts";
import { Database as PlainDatabase } from "../src/sqlite/mod.ts";

function lsvfs(args: string[], env: Record<string, string> = {}) {
  return runLsvfs(args, { env });
}

const ROWS = 100;
const SCHEMA = [
  "CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT)",
  "INSERT INTO t (b) VALUES ('first')",
  `INSERT INTO t (b) SELECT hex(randomblob(2000)) FROM (WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < ${ROWS}) SELECT v FROM s)`,
];

/** One replica for the whole file: copies are corrupted, never it. */
const base = await Deno.makeTempDir({ prefix: "lsvfs-inspect-" });
const REPLICA = `${base}/replica`;
await makeLitestreamReplica(REPLICA, SCHEMA);
const L0 = `${REPLICA}/ltx/0`;
const name = (txid: number) =>
  `${txid.toString(16).padStart(16, "0")}-${
    txid.toString(16).padStart(16, "0")
  }.ltx`;

async function copy(label: string): Promise<string> {
  const dir = `${base}/${label}`;
  const cp = await new Deno.Command("cp", { args: ["-r", REPLICA, dir] })
    .output();
  assert.equal(cp.code, 0);
  return dir;
}

function rows(path: string): unknown[] {
  using db = new PlainDatabase(path);
  return db.prepare("SELECT id, b FROM t ORDER BY id").values();
}

function integrity(path: string): unknown {
  using db = new PlainDatabase(path);
  return db.prepare("PRAGMA integrity_check").values()[0][0];
}

Deno.test("lsvfs ls lists the files by level and the restore plan, and --at gives an older plan", async () => {
  const table = await lsvfs(["ls", REPLICA]);
  assert.equal(table.code, 0, table.stderr);
  for (const txid of [1, 2, 3]) {
    const hex = txid.toString(16).padStart(16, "0");
    assert.match(table.stdout, new RegExp(`0  ${hex}-${hex}`));
  }
  assert.match(table.stdout, /Restore plan for LATEST: TXID 0000000000000003/);

  const json = JSON.parse((await lsvfs(["ls", REPLICA, "--json"])).stdout);
  assert.deepEqual(
    json.files.map((f: { max_txid: string }) => f.max_txid),
    ["0000000000000001", "0000000000000002", "0000000000000003"],
  );
  assert.equal(json.plan.txid, "0000000000000003");
  assert.equal(json.plan.files.length, 3);
  const second = json.files[1].time;

  const older = await lsvfs(["ls", REPLICA, "--at", second, "--json"]);
  assert.equal(older.code, 0, older.stderr);
  const plan = JSON.parse(older.stdout).plan;
  assert.equal(plan.txid, "0000000000000002");
  assert.deepEqual(
    plan.files.map((f: { path: string }) => f.path),
    [`file://${L0}/${name(1)}`, `file://${L0}/${name(2)}`],
  );

  const bad = await lsvfs(["ls", REPLICA, "--at", "whenever"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Invalid time "whenever"/);
  const tooOld = await lsvfs(["ls", REPLICA, "--at", "2000-01-01"]);
  assert.equal(tooOld.code, 1);
  assert.match(tooOld.stderr, /oldest available is/);
});

Deno.test("lsvfs info shows the replica's page size, pages, TXID and levels", async () => {
  const text = await lsvfs(["info", `file://${REPLICA}`]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /latest TXID: 0000000000000003 at \d{4}-/);
  const info = JSON.parse((await lsvfs(["info", REPLICA, "--json"])).stdout);
  const restored = `${base}/info.db`;
  assert.equal((await lsvfs(["restore", REPLICA, restored])).code, 0);
  const size = (await Deno.stat(restored)).size;
  assert.equal(info.page_size, 4096);
  assert.equal(info.pages * 4096, size);
  assert.equal(info.bytes, size);
  assert.equal(info.txid, "0000000000000003");
  assert.equal(info.files, 3);
  let bytes = 0;
  for await (const entry of Deno.readDir(L0)) {
    bytes += (await Deno.stat(`${L0}/${entry.name}`)).size;
  }
  assert.deepEqual(info.levels, [{ level: 0, files: 3, bytes }]);
  assert.ok(Date.parse(info.oldest_time) <= Date.parse(info.time));
  // The health of a database opened on it.
  assert.match(text.stdout, /poll: +ok\n/);
  assert.match(text.stdout, /checksums: +background \(\d verified, 0 bad/);
  assert.equal(info.status.txid, "0000000000000003");
  assert.equal(info.status.poll, "ok");
  assert.equal(info.status.files, 3);
  assert.equal(info.status.levels, 1);
  assert.equal(info.status.bad, 0);
});

Deno.test("lsvfs verify passes a sound replica and names each broken file", async () => {
  const sound = await lsvfs(["verify", REPLICA]);
  assert.equal(sound.code, 0, sound.stdout + sound.stderr);
  assert.match(sound.stdout, /^ok: 3 files/);
  const soundJson = await lsvfs(["verify", REPLICA, "--json"]);
  const lines = soundJson.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.at(-1), {
    ok: true,
    files: 3,
    bytes: lines.at(-1).bytes,
    problems: 0,
  });
  assert.match(soundJson.stderr, /"progress":\{"files":3,"of":3/);

  // A byte flipped inside a page frame of the big file.
  const flipped = await copy("flipped");
  const big = `${flipped}/ltx/0/${name(3)}`;
  const bytes = await Deno.readFile(big);
  bytes[20_000] ^= 0xff;
  await Deno.writeFile(big, bytes);
  const flip = await lsvfs(["verify", flipped]);
  assert.equal(flip.code, 1);
  assert.match(flip.stdout, new RegExp(`^file://${big}: .*`, "m"));
  assert.match(flip.stdout, /unsound: 1 problem/);

  // A missing file in the chain.
  const gap = await copy("gap");
  await Deno.remove(`${gap}/ltx/0/${name(2)}`);
  const gapped = await lsvfs(["verify", gap, "--json"]);
  assert.equal(gapped.code, 1);
  const problems = gapped.stdout.trim().split("\n").map((l) => JSON.parse(l))
    .filter((l) => "problem" in l);
  assert.equal(problems.length, 1);
  assert.equal(problems[0].file, `file://${gap}/ltx/0/${name(3)}`);
  assert.match(problems[0].problem, /gap in the TXID chain/);
  assert.match(problems[0].problem, /end at TXID 0000000000000001/);

  // A truncated file.
  const cut = await copy("truncated");
  const cutFile = `${cut}/ltx/0/${name(3)}`;
  await Deno.truncate(cutFile, bytes.length - 100);
  const truncated = await lsvfs(["verify", cut]);
  assert.equal(truncated.code, 1);
  assert.match(truncated.stdout, new RegExp(`^file://${cutFile}: .*`, "m"));
});

Deno.test("lsvfs restore writes a plain SQLite file of the latest or an older state", async () => {
  const out = `${base}/restored.db`;
  const run = await lsvfs(["restore", REPLICA, out, "--json"]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout).txid, "0000000000000003");
  assert.match(run.stderr, /"pages":\d+,"of":\d+/);
  assert.equal(integrity(out), "ok");
  const query = await lsvfs([
    "query",
    REPLICA,
    "SELECT id, b FROM t ORDER BY id",
  ]);
  assert.equal(query.code, 0, query.stderr);
  const restoredRows = rows(out);
  assert.equal(restoredRows.length, ROWS + 1);
  assert.deepEqual(
    restoredRows,
    JSON.parse(query.stdout).map((r: { id: number; b: string }) => [r.id, r.b]),
  );

  const again = await lsvfs(["restore", REPLICA, out]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /exists: pass --force/);

  const second = JSON.parse((await lsvfs(["ls", REPLICA, "--json"])).stdout)
    .files[1].time;
  const older = await lsvfs([
    "restore",
    REPLICA,
    out,
    "--at",
    second,
    "--force",
  ]);
  assert.equal(older.code, 0, older.stderr);
  assert.match(older.stdout, /at TXID 0000000000000002/);
  assert.equal(integrity(out), "ok");
  assert.deepEqual(rows(out), [[1, "first"]]);
  const leftovers = [...Deno.readDirSync(base)].filter((e) =>
    e.name.includes(".tmp")
  );
  assert.deepEqual(leftovers, []);
});

Deno.test("lsvfs ls, info, verify and restore work on an s3:// replica", async () => {
  await using server = await startS3Server();
  await server.upload(REPLICA, "db");
  const url =
    `s3://${server.bucket}/db?endpoint=${server.endpoint}&forcePathStyle=true`;
  const env = S3RVER_ENV;
  const ls = await lsvfs(["ls", url, "--json"], env);
  assert.equal(ls.code, 0, ls.stderr);
  assert.equal(JSON.parse(ls.stdout).plan.txid, "0000000000000003");
  const info = await lsvfs(["info", url, "--json"], env);
  assert.equal(JSON.parse(info.stdout).files, 3);
  const verify = await lsvfs(["verify", url], env);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /^ok: 3 files/);
  const out = `${base}/s3.db`;
  const restore = await lsvfs(["restore", url, out], env);
  assert.equal(restore.code, 0, restore.stderr);
  assert.equal(integrity(out), "ok");
  assert.equal(rows(out).length, ROWS + 1);
});

Deno.test("lsvfs inspect commands: cleanup", async () => {
  await Deno.remove(base, { recursive: true });
  assert.equal(
    await Deno.stat(base).then(() => true, () => false),
    false,
  );
});
