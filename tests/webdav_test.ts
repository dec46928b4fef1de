/**
 * The `webdav://` backend end to end, against Debian's Apache (mod_dav) on
 * 127.0.0.1, and `rclone serve webdav` for reads: the shared backend suite,
 * digest authentication, racing create-only uploads, a server that goes
 * away, and the errors a user sees.
 *
 * @module
 */

import assert from "node:assert/strict";
import { open, SqliteError } from "../mod.ts";
import { FileExistsError, StorageError } from "../src/storage/errors.ts";
import { formatFileName } from "../src/ltx/mod.ts";
import {
  WEBDAV_STALE_LOCK_MS,
  WebDavReplicaClient,
} from "../src/storage/webdav_client.ts";
import { backendSuite } from "./_backend_suite.ts";
import { tempDir as makeTempDir } from "./_files.ts";
import { makeLitestreamReplica } from "./_litestream.ts";
import {
  startApache,
  startRclone,
  startWebDavHarness,
  WEBDAV_PASSWORD,
  WEBDAV_USER,
} from "./_webdav.ts";

const tempDir = () => makeTempDir("lsvfs-webdav-test-");

const SCHEMA = [
  "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
  "INSERT INTO t (v) SELECT printf('row %05d %s', value, hex(randomblob(40))) FROM generate_series(1, 1500)",
];
const QUERY = "SELECT id, v FROM t ORDER BY v";

backendSuite("WebDAV", startWebDavHarness);

Deno.test("WebDAV: digest authentication with credentials in the URL reads like file://", async () => {
  await using dir = await tempDir();
  await using server = await startApache();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, SCHEMA);
  await server.upload(replica, "db");
  using remote = open(server.url("db", "digest", true));
  using local = open(`file://${replica}`);
  assert.deepEqual(remote.query(QUERY), local.query(QUERY));
  assert.deepEqual(remote.get("PRAGMA integrity_check"), {
    integrity_check: "ok",
  });
  // Many requests at once share the server's nonce.
  const client = new WebDavReplicaClient(server.url("db", "digest", true));
  try {
    const files = await client.listFiles(0);
    assert.equal(files.length, SCHEMA.length);
    assert.equal(client.authScheme, "digest");
    const reads = await Promise.all(
      Array.from(
        { length: 24 },
        (_, i) => client.readRange(files[i % files.length], i, 100),
      ),
    );
    const bytes = await Deno.readFile(
      `${replica}/ltx/0/0000000000000001-0000000000000001.ltx`,
    );
    assert.deepEqual(reads[0], bytes.slice(0, 100));
    assert.ok(reads.every((r) => r.length === 100));
  } finally {
    client.close();
  }
});

Deno.test("WebDAV: wrong credentials give a 401 naming WebDAV and the user, never the password; a missing path has no LTX files", async () => {
  await using dir = await tempDir();
  await using server = await startApache();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, SCHEMA.slice(0, 1));
  await server.upload(replica, "db");
  for (const auth of ["basic", "digest"] as const) {
    const wrong = "not-the-Pa55word";
    const url = server.url("db", auth).replace(
      "webdav://",
      `webdav://${WEBDAV_USER}:${wrong}@`,
    );
    assert.throws(() => open(url), (error: unknown) => {
      assert.ok(error instanceof SqliteError, String(error));
      assert.match(error.message, /WebDAV/);
      assert.match(error.message, /HTTP 401/);
      assert.match(error.message, new RegExp(`user "${WEBDAV_USER}"`));
      assert.match(error.message, new RegExp(`${auth} authentication`));
      assert.ok(!error.message.includes(wrong), error.message);
      return true;
    });
  }
  assert.throws(
    () => open(server.url("db")),
    (error: unknown) => {
      assert.ok(error instanceof SqliteError);
      assert.match(error.message, /WebDAV.*HTTP 401.*wants credentials/);
      return true;
    },
  );
  assert.throws(
    () => open(server.url("no/such/path", "basic", true)),
    (error: unknown) => {
      assert.ok(error instanceof SqliteError);
      assert.match(error.message, /No LTX files at "webdav:\/\//);
      assert.ok(!error.message.includes(WEBDAV_PASSWORD), error.message);
      return true;
    },
  );
});

Deno.test("WebDAV: of two writers racing for each name, exactly one wins, in collections made for a new replica", async () => {
  await using server = await startApache();
  const url = server.url("fresh/deep/db", "basic", true);
  const a = new WebDavReplicaClient(url);
  const b = new WebDavReplicaClient(url);
  try {
    assert.deepEqual(await a.listFiles(0), []);
    // Big enough that Apache's own If-None-Match check (at the start of a
    // PUT) would let both through: the LOCK is what serialises them.
    const size = 1 << 20;
    const names = Array.from({ length: 6 }, (_, i) => ({
      level: 0,
      minTxid: BigInt(i + 1),
      maxTxid: BigInt(i + 1),
    }));
    const fill = (n: number) => new Uint8Array(size).fill(n);
    const results = await Promise.all(
      names.map((name, i) =>
        Promise.allSettled([
          a.createFile(name, fill(2 * i + 1)),
          b.createFile(name, fill(2 * i + 2)),
        ])
      ),
    );
    const files = await a.listFiles(0);
    assert.equal(files.length, names.length);
    for (const [i, [ra, rb]] of results.entries()) {
      const won = [ra, rb].filter((r) => r.status === "fulfilled");
      assert.equal(won.length, 1, `name ${i}: ${won.length} winners`);
      const lost =
        (ra.status === "rejected" ? ra : rb) as PromiseRejectedResult;
      assert.ok(lost.reason instanceof FileExistsError, String(lost.reason));
      assert.match(lost.reason.message, /WebDAV/);
      const winner = ra.status === "fulfilled" ? 2 * i + 1 : 2 * i + 2;
      assert.equal(files[i].size, size);
      const stored = await b.readRange(files[i], 0, size);
      assert.ok(stored.every((x) => x === winner), `name ${i}: mixed bytes`);
    }
    // A retried write of the same bytes counts as written.
    const first = results[0][0].status === "fulfilled" ? 1 : 2;
    await a.createFile(names[0], fill(first));
    // A lock left by a writer that died blocks the name until it is stale.
    const next = { level: 0, minTxid: 7n, maxTxid: 7n };
    const lock = `${server.dataDir}/fresh/deep/db/ltx/0/${
      formatFileName(7n, 7n)
    }.lock`;
    await Deno.mkdir(lock);
    await assert.rejects(
      a.createFile(next, fill(99)),
      (error: unknown) =>
        error instanceof FileExistsError &&
        /being created by another writer/.test(error.message),
    );
    const old = new Date(Date.now() - WEBDAV_STALE_LOCK_MS - 5_000);
    await Deno.utime(lock, old, old);
    await a.createFile(next, fill(99));
    const [seventh] = (await a.listFiles(0)).filter((f) => f.minTxid === 7n);
    assert.equal((await a.readRange(seventh, 0, 1))[0], 99);
    // No temporary file or lock is left behind.
    const left = [...Deno.readDirSync(`${server.dataDir}/fresh/deep/db/ltx/0`)]
      .map((e) => e.name).filter((n) => !n.endsWith(".ltx"));
    assert.deepEqual(left, []);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("WebDAV: a read retries across a server restart; a server gone gives a retryable error within the budget", async () => {
  await using dir = await tempDir();
  await using server = await startApache();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, SCHEMA.slice(0, 1));
  await server.upload(replica, "db");
  const client = new WebDavReplicaClient(server.url("db", "basic", true), {
    retryBudgetMs: 5_000,
    requestTimeoutMs: 1_000,
  });
  try {
    const [file] = await client.listFiles(0);
    const before = await client.readRange(file, 0, 64);
    await server.stop();
    const read = client.readRange(file, 0, 64);
    await new Promise((r) => setTimeout(r, 300));
    await server.start();
    assert.deepEqual(await read, before);
    await server.stop();
    const started = performance.now();
    await assert.rejects(
      client.listFiles(0, { retryBudgetMs: 500 }),
      (error: unknown) => {
        assert.ok(error instanceof StorageError);
        assert.equal(error.retryable, true);
        assert.match(error.message, /^WebDAV list ".*\/db\/ltx\/0\/"/);
        assert.match(error.message, /gave up after \d+ attempts/);
        assert.ok(!error.message.includes(WEBDAV_PASSWORD), error.message);
        return true;
      },
    );
    assert.ok(performance.now() - started < 2_000);
  } finally {
    client.close();
  }
});

Deno.test("WebDAV: rclone serve webdav serves a replica Litestream wrote, for reads", async () => {
  await using dir = await tempDir();
  const replica = `${dir}/served/db`;
  await makeLitestreamReplica(replica, SCHEMA);
  await using server = await startRclone(`${dir}/served`);
  using remote = open(server.url("db"));
  using local = open(`file://${replica}`);
  assert.deepEqual(remote.query(QUERY), local.query(QUERY));
  assert.equal(remote.replicaState().txid, local.replicaState().txid);
});
