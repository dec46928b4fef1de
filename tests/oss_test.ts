/**
 * The `oss://` backend end to end, through the real SDK (`ali-oss`).
 *
 * The server: no OSS emulator exists, so the suite runs against the most
 * faithful stand-in found (ARCHITECTURE.md): s3rver (the S3 server of the
 * S3 tests) behind tests/_oss_proxy.ts, which speaks OSS to the client. The
 * proxy verifies every request's OSS V1 signature with the known secret
 * (so that wrong credentials fail as on OSS, 403 `SignatureDoesNotMatch`),
 * maps `x-oss-*` headers and implements `x-oss-forbid-overwrite` (409
 * `FileAlreadyExists`); s3rver supplies ListObjectsV2 with continuation
 * tokens, range reads (206) and the objects themselves. That the signing
 * (the SDK's, and the proxy's check) is OSS's own is shown against
 * Alibaba's documented example, here and in src/storage/oss_client_test.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { open } from "../mod.ts";
import signUtils from "ali-oss/lib/common/signUtils.js";
import { formatFileName } from "../src/ltx/mod.ts";
import { StorageError } from "../src/storage/errors.ts";
import { OssReplicaClient } from "../src/storage/oss_client.ts";
import {
  assertGivesUp,
  assertOneWriterWins,
  backendSuite,
} from "./_backend_suite.ts";
import { withEnv } from "./_env.ts";
import { tempDir as makeTempDir } from "./_files.ts";
import { makeLitestreamReplica } from "./_litestream.ts";
import { OSS_TEST_ENV, type OssServer, startOssServer } from "./_oss.ts";
import { signV1, stringToSignV1 } from "./_oss_proxy.ts";
import { startDeadServer } from "./_servers.ts";
import { openAndQueryScript, runScript } from "./_subprocess.ts";

const tempDir = () => makeTempDir("lsvfs-oss-test-");

function client(
  server: OssServer,
  path: string,
  options: ConstructorParameters<typeof OssReplicaClient>[1] = {},
): OssReplicaClient & Disposable {
  const c = new OssReplicaClient(server.url(path), {
    env: OSS_TEST_ENV,
    ...options,
  });
  return Object.assign(c, { [Symbol.dispose]: () => c.close() });
}

const name = (min: number, max = min) =>
  formatFileName(BigInt(min), BigInt(max));

const SCHEMA = [
  "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
  "INSERT INTO t (v) SELECT printf('row %05d', value) FROM generate_series(1, 500)",
  "UPDATE t SET v = upper(v) WHERE id % 3 = 0",
];

Deno.test("the OSS proxy's V1 check computes Alibaba's documented example and agrees with ali-oss", () => {
  // "Include signatures in the Authorization header" (Alibaba Cloud OSS, V1
  // signature), https://help.aliyun.com/document_detail/31951.html, also
  // https://www.alibabacloud.com/help/en/oss/developer-reference/include-signatures-in-the-authorization-header:
  // its example request, signed with AccessKeySecret
  // OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV, has the signature
  // 26NBxoKdsyly4EDv6inkoDft/yA=.
  const example = {
    method: "PUT",
    headers: {
      "Content-Md5": "ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=",
      "Content-Type": "text/html",
      Date: "Thu, 17 Nov 2005 18:49:58 GMT",
      Host: "oss-example.oss-cn-hangzhou.aliyuncs.com",
      "X-OSS-Meta-Author": "foo@bar.com",
      "X-OSS-Magic": "abracadabra",
    },
    bucket: "oss-example",
    key: "nelson",
  };
  const documented = "PUT\nODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=\n" +
    "text/html\nThu, 17 Nov 2005 18:49:58 GMT\n" +
    "x-oss-magic:abracadabra\nx-oss-meta-author:foo@bar.com\n" +
    "/oss-example/nelson";
  assert.equal(stringToSignV1(example), documented);
  assert.equal(
    signV1("OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV", documented),
    "26NBxoKdsyly4EDv6inkoDft/yA=",
  );
  // What ali-oss signs for its own requests: the date in `x-oss-date`
  // (which OSS takes before `Date`), and sub-resources such as a listing's
  // continuation token in the resource, plain parameters not.
  const headers = {
    "x-oss-date": "Wed, 01 Jan 2025 00:00:00 GMT",
    "x-oss-range-behavior": "standard",
    "Content-Type": "application/octet-stream",
  };
  const sdk = signUtils.buildCanonicalString("GET", "/bkt/", {
    headers,
    parameters: { "continuation-token": "abc" },
  });
  const ours = stringToSignV1({
    method: "GET",
    headers,
    bucket: "bkt",
    key: "",
    query: new URLSearchParams(
      "list-type=2&prefix=db%2F0000%2F&continuation-token=abc&max-keys=3",
    ),
  });
  assert.equal(ours, sdk);
  assert.match(ours, /\n\/bkt\/\?continuation-token=abc$/);
});

backendSuite("OSS", async () => {
  const server = await startOssServer();
  return {
    name: "OSS",
    url: (path) => server.url(path),
    env: OSS_TEST_ENV,
    upload: async (dir, path) => {
      await server.upload(dir, path);
    },
    // The right key id with a wrong secret: only the signature check
    // can refuse it.
    badCredentials: (path) => ({
      url: server.url(path),
      env: { ...OSS_TEST_ENV, OSS_ACCESS_KEY_SECRET: "not-the-secret" },
    }),
    missingBucket: (path) => server.url(path, "no-such-bucket"),
    [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
  };
});

Deno.test("OssReplicaClient.listFiles() follows listV2 continuation tokens across pages", async () => {
  await using server = await startOssServer();
  for (let i = 1; i <= 7; i++) {
    await server.put(`db/0000/${name(i)}`, new Uint8Array(i));
  }
  // Neither an LTX file nor at this level: skipped.
  await server.put("db/0000/notes.txt", new Uint8Array(1));
  await server.put(`db/0000/deeper/${name(8)}`, new Uint8Array(1));
  await server.put(`db/0001/${name(1, 7)}`, new Uint8Array(1));
  using c = client(server, "db", { listPageSize: 3 });
  await server.resetLog();
  const files = await c.listFiles(0);
  assert.deepEqual(files.map((f) => Number(f.maxTxid)), [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(files.map((f) => f.size), [1, 2, 3, 4, 5, 6, 7]);
  assert.ok(files.every((f) => f.level === 0 && f.createdAt > 0));
  const pages = (await server.requests()).filter((r) =>
    r.kind === "LIST" && r.search.includes("prefix=db%2F0000%2F")
  );
  // 9 keys under the prefix, 3 a page: 3 pages, each after the first
  // with the token the one before it gave.
  assert.equal(pages.length, 3, JSON.stringify(pages));
  assert.deepEqual(
    pages.map((p) => p.search.includes("continuation-token=")),
    [false, true, true],
  );
  assert.ok(pages.every((p) => p.status === 200));
});

Deno.test("OssReplicaClient.readRange() reads exact byte ranges (206), and refuses one past the end", async () => {
  await using server = await startOssServer();
  const bytes = new Uint8Array(1000).map((_, i) => (i * 7) & 0xff);
  await server.put(`db/0000/${name(1)}`, bytes);
  using c = client(server, "db");
  const [file] = await c.listFiles(0);
  assert.equal(file.size, 1000);
  await server.resetLog();
  assert.deepEqual(await c.readRange(file, 100, 50), bytes.slice(100, 150));
  assert.deepEqual(await c.readRange(file, 999, 1), bytes.slice(999));
  assert.deepEqual(await c.readRange(file, 0, 0), new Uint8Array(0));
  const gets = (await server.requests()).filter((r) => r.kind === "GET");
  assert.deepEqual(
    gets.map((r) => [r.range, r.status]),
    [["bytes=100-149", 206], ["bytes=999-999", 206]],
  );
  await assert.rejects(c.readRange(file, 1000, 10), (error: unknown) => {
    assert.ok(error instanceof StorageError, String(error));
    assert.equal(error.retryable, false);
    assert.match(
      error.message,
      /^OSS read "db\/0000\/0000000000000001-0000000000000001\.ltx" in bucket "replicas" \(oss:\/\/replicas\/db\?endpoint=.*\): HTTP 416/,
    );
    return true;
  });
});

Deno.test("OssReplicaClient.createFile(): with x-oss-forbid-overwrite, of two racing writers exactly one wins", async () => {
  await using server = await startOssServer();
  const writers = [client(server, "race"), client(server, "race")];
  try {
    await assertOneWriterWins([writers[0], writers[1]], {
      exists: /^OSS object "race\/0000\/.*exists/,
      // The proxy answered the losers 409 FileAlreadyExists, as OSS does.
      afterRaces: async () => {
        const conflicts = (await server.requests()).filter((r) =>
          r.kind === "PUT" && r.status === 409
        );
        assert.equal(conflicts.length, 5);
        assert.ok(conflicts.every((r) => r.code === "FileAlreadyExists"));
      },
    });
    // New replicas are laid out as Litestream's OSS client lays them out.
    const puts = (await server.requests()).filter((r) => r.kind === "PUT");
    assert.ok(
      puts.every((r) => r.path.startsWith("/replicas/race/0000/")),
      puts.map((r) => r.path).join(", "),
    );
  } finally {
    for (const w of writers) w.close();
  }
});

Deno.test("open() reads a replica in Litestream's OSS layout and writes into it", async () => {
  await using dir = await tempDir();
  await using server = await startOssServer();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, SCHEMA);
  // Litestream's OSS client keeps level N under "<path>/<N as 4 hex digits>/".
  for (const level of Deno.readDirSync(`${replica}/ltx`)) {
    for (const file of Deno.readDirSync(`${replica}/ltx/${level.name}`)) {
      await server.put(
        `litestream/${
          Number(level.name).toString(16).padStart(4, "0")
        }/${file.name}`,
        await Deno.readFile(`${replica}/ltx/${level.name}/${file.name}`),
      );
    }
  }
  const restore = withEnv(OSS_TEST_ENV);
  try {
    {
      using remote = open(server.url("litestream"));
      using local = open(`file://${replica}`);
      const query = "SELECT id, v FROM t ORDER BY v";
      assert.deepEqual(remote.query(query), local.query(query));
      assert.equal(remote.replicaState().txid, local.replicaState().txid);
    }
    await server.resetLog();
    {
      using db = open(server.url("litestream"), {
        write: true,
        bufferPath: `${dir}/buffer`,
        syncInterval: "1h",
      });
      db.exec("INSERT INTO t (v) VALUES ('written through the VFS')");
      assert.equal(db.sync(), "0000000000000004");
    }
    const puts = (await server.requests()).filter((r) => r.kind === "PUT");
    assert.deepEqual(puts.map((r) => r.path), [
      `/replicas/litestream/0000/${name(4)}`,
    ]);
    using fresh = open(server.url("litestream"));
    assert.deepEqual(fresh.get("SELECT count(*) AS n FROM t"), { n: 501 });
  } finally {
    restore();
  }
});

Deno.test("the OSS proxy refuses a wrong secret, an unknown key and an unsigned request, as OSS does", async () => {
  await using server = await startOssServer();
  await server.put(`db/0000/${name(1)}`, new Uint8Array(4));
  const cases: [Record<string, string>, string][] = [
    [
      { ...OSS_TEST_ENV, OSS_ACCESS_KEY_SECRET: "wrong-secret-value" },
      "SignatureDoesNotMatch",
    ],
    [
      { ...OSS_TEST_ENV, OSS_ACCESS_KEY_ID: "LTAINoSuchKey" },
      "InvalidAccessKeyId",
    ],
  ];
  for (const [env, code] of cases) {
    using c = client(server, "db", { env });
    await assert.rejects(c.listFiles(0), (error: unknown) => {
      assert.ok(error instanceof StorageError, String(error));
      assert.equal(error.retryable, false);
      assert.match(
        error.message,
        new RegExp(
          `^OSS list "db/0000/" in bucket "replicas" .*: access denied \\(${code}\\); check the credentials \\(OSS_ACCESS_KEY_ID`,
        ),
      );
      assert.doesNotMatch(
        error.message,
        /wrong-secret-value|lsvfs-oss-test-secret/,
      );
      return true;
    });
  }
  const unsigned = await fetch(
    `${server.endpoint}/replicas/db/0000/${name(1)}`,
  );
  assert.equal(unsigned.status, 403);
  assert.match(await unsigned.text(), /<Code>AccessDenied<\/Code>/);
  // And the right keys still work on the same server.
  using good = client(server, "db");
  assert.equal((await good.listFiles(0)).length, 1);
});

Deno.test("OssReplicaClient: a server that goes away mid-read gives a retryable error within the budget", async () => {
  const server = await startOssServer();
  try {
    const bytes = new Uint8Array(4096).map((_, i) => i & 0xff);
    await server.put(`db/0000/${name(1)}`, bytes);
    using c = client(server, "db", {
      retryBudgetMs: 1_000,
      requestTimeoutMs: 500,
    });
    const [file] = await c.listFiles(0);
    assert.deepEqual(await c.readRange(file, 0, 16), bytes.slice(0, 16));
    // Intermittent 500s are retried: every read still succeeds.
    await server.setFaults({ errorEvery: 2 });
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(
        await c.readRange(file, i * 100, 100),
        bytes.slice(i * 100, i * 100 + 100),
      );
    }
    assert.ok((await server.faultsInjected()).errors >= 2);
    // Connections dropped without an answer: retried, then given up on.
    await server.setFaults({ down: true });
    await assertGivesUp(() => c.readRange(file, 16, 16), {
      matches: [/^OSS read "db\/0000\/.*gave up after \d+ attempts/],
      withinMs: 2_500,
    });
    assert.ok((await server.faultsInjected()).drops > 1);
    // Back up: the same client reads again.
    await server.setFaults({});
    assert.deepEqual(await c.readRange(file, 16, 16), bytes.slice(16, 32));
    // Gone for good: connections refused.
    await server.stop();
    await assertGivesUp(() => c.readRange(file, 32, 16), {
      matches: [/ECONNREFUSED|gave up after/],
      withinMs: 2_500,
    });
  } finally {
    await server.stop();
  }
});

Deno.test("OssReplicaClient: a silent server times out per request and is given up on within the budget", async () => {
  await using silent = startDeadServer("silent");
  const c = new OssReplicaClient(
    `oss://bkt/db?endpoint=http://127.0.0.1:${silent.port}`,
    { env: OSS_TEST_ENV, retryBudgetMs: 1_000, requestTimeoutMs: 200 },
  );
  try {
    await assertGivesUp(() => c.listFiles(0), {
      matches: [/no answer within 200 ms/],
      never: [/lsvfs-oss-test-secret/],
      withinMs: 2_500,
    });
    assert.ok(silent.accepted > 2, `${silent.accepted} connections`);
  } finally {
    c.close();
  }
});

Deno.test("open() reads an oss:// replica under the narrow permissions the README lists", async () => {
  await using dir = await tempDir();
  await using server = await startOssServer();
  await makeLitestreamReplica(`${dir}/replica`, SCHEMA);
  await server.upload(`${dir}/replica`, "db");
  const row = await runScript(
    dir,
    openAndQueryScript(
      server.url("db"),
      "SELECT count(*) AS n, max(v) AS v FROM t",
    ),
    [
      "--allow-ffi",
      "--allow-read",
      `--allow-net=${new URL(server.endpoint).host}`,
      "--allow-env=LITESTREAM_*,OSS_*,DEBUG,URLLIB_ENABLE_PROXY,LSVFS_SQLITE_LIB",
      "--allow-sys=osRelease,networkInterfaces",
    ],
    { env: OSS_TEST_ENV },
  );
  assert.deepEqual(row, { n: 500, v: "row 00500" });
});
