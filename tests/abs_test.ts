/**
 * The `abs://` backend end to end, against azurite on 127.0.0.1 (started by
 * tests/_azurite.ts): the shared backend suite, then what is Azure's own:
 * paged listings, range reads, create-only uploads that keep Litestream's
 * timestamp metadata, SAS tokens and connection strings, refused
 * credentials and missing containers, a server that goes away, and the
 * narrow permissions the README lists.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ContainerSASPermissions } from "@azure/storage-blob";
import { open, SqliteError } from "../mod.ts";
import { decodeHeader, formatFileName } from "../src/ltx/mod.ts";
import {
  ABS_TIMESTAMP_METADATA,
  AbsReplicaClient,
} from "../src/storage/abs_client.ts";
import {
  type LtxFileInfo,
  StorageError,
  WorkerReplicaClient,
} from "../src/storage/mod.ts";
import {
  assertGivesUp,
  assertOneWriterWins,
  backendSuite,
} from "./_backend_suite.ts";
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite } from "./_azurite.ts";
import { withEnv } from "./_env.ts";
import { tempDir as makeTempDir } from "./_files.ts";
import { listLtxFiles, makeLitestreamReplica } from "./_litestream.ts";
import { startDeadServer } from "./_servers.ts";
import { openAndQueryScript, runScript } from "./_subprocess.ts";

const KEY_ENV = { LITESTREAM_AZURE_ACCOUNT_KEY: AZURITE_KEY };

const tempDir = () => makeTempDir("lsvfs-abs-test-");

const SCHEMA = [
  "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
  "INSERT INTO t (v) SELECT printf('row %05d', value) FROM generate_series(1, 500)",
];

function info(
  level: number,
  txid: bigint,
  size: number,
): LtxFileInfo {
  return { level, minTxid: txid, maxTxid: txid, size, createdAt: 0 };
}

Deno.test("AbsReplicaClient.listFiles() follows pages, skips what is not an LTX file, keeps the timestamp", async () => {
  await using server = await startAzurite();
  const blobs = server.service.getContainerClient(server.container);
  const names = [
    ...Array.from(
      { length: 11 },
      (_, i) =>
        `db/ltx/0/${(BigInt(i + 1)).toString(16).padStart(16, "0")}-${
          (BigInt(i + 1)).toString(16).padStart(16, "0")
        }.ltx`,
    ),
    "db/ltx/0/notes.txt",
    "db/ltx/0/nested/0000000000000001-0000000000000001.ltx",
    "db/ltx/1/0000000000000001-000000000000000b.ltx",
    "dbx/ltx/0/0000000000000001-0000000000000001.ltx",
  ];
  const stamp = "2024-05-06T07:08:09.123Z";
  for (const [i, name] of names.entries()) {
    await blobs.getBlockBlobClient(name).upload(
      new Uint8Array(i + 1),
      i + 1,
      i === 0 ? { metadata: { [ABS_TIMESTAMP_METADATA]: stamp } } : {},
    );
  }
  const client = new AbsReplicaClient(server.url("db"), {
    env: KEY_ENV,
    listPageSize: 3,
  });
  const level0 = await client.listFiles(0);
  assert.deepEqual(
    level0.map((f) => [f.minTxid, f.size]),
    Array.from({ length: 11 }, (_, i) => [BigInt(i + 1), i + 1]),
  );
  assert.equal(level0[0].createdAt, Date.parse(stamp));
  // Without the metadata: the blob's creation time, close to now.
  assert.ok(Math.abs(level0[1].createdAt - Date.now()) < 60_000);
  const level1 = await client.listFiles(1);
  assert.deepEqual(level1.map((f) => [f.minTxid, f.maxTxid]), [[1n, 11n]]);
  assert.deepEqual(await client.listFiles(9), []);
  // Through the storage worker too, with the page size as a backend option.
  const restore = withEnv(KEY_ENV);
  try {
    const engine = new WorkerReplicaClient(server.url("db"), {
      backend: { listPageSize: 2 },
    });
    try {
      assert.equal(engine.listAllSync().length, 12);
    } finally {
      engine.close();
    }
  } finally {
    restore();
  }
});

Deno.test("AbsReplicaClient.readRange() reads exact ranges of a blob", async () => {
  await using server = await startAzurite();
  const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) % 251);
  await server.service.getContainerClient(server.container)
    .getBlockBlobClient("db/ltx/0/0000000000000001-0000000000000001.ltx")
    .upload(bytes, bytes.length);
  const client = new AbsReplicaClient(server.url("db"), { env: KEY_ENV });
  const file = info(0, 1n, bytes.length);
  assert.deepEqual(await client.readRange(file, 0, 16), bytes.subarray(0, 16));
  assert.deepEqual(
    await client.readRange(file, 65_530, 4_000),
    bytes.subarray(65_530, 69_530),
  );
  assert.deepEqual(
    await client.readRange(file, bytes.length - 16, 16),
    bytes.subarray(bytes.length - 16),
  );
  assert.deepEqual(await client.readRange(file, 5, 0), new Uint8Array(0));
  // Past the end: a short read is an error, not a silent hole.
  await assert.rejects(
    client.readRange(file, bytes.length - 4, 8),
    /Azure short read of "db\/ltx\/0\/0000000000000001-0000000000000001\.ltx".*wanted 8 bytes/,
  );
});

Deno.test("AbsReplicaClient.createFile(): of two writers racing for one name, exactly one wins", async () => {
  await using server = await startAzurite();
  const writer = () =>
    new AbsReplicaClient(server.url("race"), { env: KEY_ENV });
  await assertOneWriterWins([writer(), writer()], {
    exists: /^Azure blob "race\/ltx\/0\/.*" in container "replicas" exists/,
  });
});

Deno.test("AbsReplicaClient.createFile() writes where Litestream does, with its timestamp metadata", async () => {
  await using dir = await tempDir();
  await using server = await startAzurite();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, SCHEMA.slice(0, 1));
  const [first] = await listLtxFiles(replica);
  const name = formatFileName(first.minTxid, first.maxTxid);
  const bytes = await Deno.readFile(first.path);
  const timestamp = decodeHeader(bytes, name).timestamp;
  const client = new AbsReplicaClient(server.url("deep/er/db"), {
    env: KEY_ENV,
  });
  await client.createFile(first, bytes);
  const blob = server.service.getContainerClient(server.container)
    .getBlobClient(`deep/er/db/ltx/0/${name}`);
  const props = await blob.getProperties();
  assert.equal(props.contentLength, bytes.length);
  assert.equal(props.contentType, "application/octet-stream");
  assert.equal(
    props.metadata?.[ABS_TIMESTAMP_METADATA],
    new Date(timestamp).toISOString(),
  );
  const [listed] = await client.listFiles(0);
  assert.equal(listed.createdAt, timestamp);
});

Deno.test("Azure: a SAS token (LITESTREAM_AZURE_SAS_TOKEN) reads, and one without write permission is refused, by name", async () => {
  await using dir = await tempDir();
  await using server = await startAzurite();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, SCHEMA);
  await server.upload(replica, "db");
  const sasUrl = await server.service.getContainerClient(server.container)
    .generateSasUrl({
      permissions: ContainerSASPermissions.parse("rl"),
      expiresOn: new Date(Date.now() + 3_600_000),
    });
  const token = new URL(sasUrl).search;
  const env = { LITESTREAM_AZURE_SAS_TOKEN: token };
  const client = new AbsReplicaClient(server.url("db"), { env });
  const files = await client.listFiles(0);
  assert.equal(files.length, 2);
  const head = await client.readRange(files[0], 0, 4);
  assert.equal(new TextDecoder().decode(head), "LTX1");
  await assert.rejects(
    client.createFile({ level: 0, minTxid: 9n, maxTxid: 9n }, head),
    (error: unknown) => {
      assert.ok(error instanceof StorageError, String(error));
      assert.equal(error.retryable, false);
      assert.match(
        error.message,
        /^Azure write "db\/ltx\/0\/0000000000000009-0000000000000009\.ltx" in container "replicas" of account "devstoreaccount1" \(abs:\/\/.*\): Azure refused the credentials \(HTTP 403 .*\); check LITESTREAM_AZURE_SAS_TOKEN/,
      );
      assert.doesNotMatch(error.message, /sig=/);
      return true;
    },
  );
});

Deno.test("Azure: open() takes account, key and endpoint from AZURE_STORAGE_CONNECTION_STRING", async () => {
  await using dir = await tempDir();
  await using server = await startAzurite();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, SCHEMA);
  await server.upload(replica, "db");
  const restore = withEnv({
    AZURE_STORAGE_CONNECTION_STRING:
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${server.endpoint};`,
  });
  try {
    using db = open(`abs://${server.container}/db`);
    assert.deepEqual(db.get("SELECT count(*) AS n FROM t"), { n: 500 });
  } finally {
    restore();
  }
});

Deno.test("Azure: a wrong key is refused and a missing container named, in clear errors", async () => {
  await using server = await startAzurite();
  const wrong = new AbsReplicaClient(server.url("db"), {
    env: { LITESTREAM_AZURE_ACCOUNT_KEY: btoa("not the key") },
  });
  await assert.rejects(wrong.listFiles(0), (error: unknown) => {
    assert.ok(error instanceof StorageError, String(error));
    assert.equal(error.retryable, false);
    assert.match(
      error.message,
      /^Azure list "db\/ltx\/0\/" in container "replicas" of account "devstoreaccount1" \(abs:\/\/devstoreaccount1@replicas\/db\?endpoint=.*\): Azure refused the credentials \(HTTP 403 AuthorizationFailure\); check LITESTREAM_AZURE_ACCOUNT_KEY and the account name$/,
    );
    return true;
  });
  const missing = new AbsReplicaClient(server.url("db", "no-such-container"), {
    env: KEY_ENV,
  });
  await assert.rejects(missing.listFiles(0), (error: unknown) => {
    assert.ok(error instanceof StorageError, String(error));
    assert.equal(error.retryable, false);
    assert.match(
      error.message,
      /^Azure list "db\/ltx\/0\/" in container "no-such-container" .*: no such container "no-such-container"; create it/,
    );
    return true;
  });
  // Through open(): the same words reach the SQLite error.
  const restore = withEnv({
    LITESTREAM_AZURE_ACCOUNT_KEY: btoa("not the key"),
    LITESTREAM_AZURE_SAS_TOKEN: undefined,
  });
  try {
    assert.throws(() => open(server.url("db")), (error: unknown) => {
      assert.ok(error instanceof SqliteError, String(error));
      assert.match(error.message, /Azure refused the credentials/);
      assert.doesNotMatch(error.message, /bm90IHRoZSBrZXk/);
      return true;
    });
  } finally {
    restore();
  }
});

Deno.test("AbsReplicaClient: a server that goes away mid-read gives a retryable error within the budget", async () => {
  await using dir = await tempDir();
  const server = await startAzurite();
  try {
    const replica = `${dir}/replica`;
    await makeLitestreamReplica(replica, SCHEMA);
    await server.upload(replica, "db");
    const client = new AbsReplicaClient(server.url("db"), {
      env: KEY_ENV,
      retryBudgetMs: 1_000,
      requestTimeoutMs: 300,
    });
    const [file] = await client.listFiles(0);
    assert.equal((await client.readRange(file, 0, 4)).length, 4);
    await server.stop();
    await assertGivesUp(() => client.readRange(file, 0, 100), {
      matches: [
        /^Azure read "db\/ltx\/0\/.*\.ltx"/,
        /gave up after \d+ attempts/,
      ],
      never: [new RegExp(AZURITE_KEY)],
      withinMs: 2_000,
    });
  } finally {
    await server.stop();
  }
});

Deno.test("AbsReplicaClient retries dropped connections, silent servers and stalled bodies within its bound", async () => {
  // Headers and the first bytes of a 100-byte body, then nothing.
  const stall =
    'HTTP/1.1 206 Partial Content\r\nContent-Length: 100\r\nContent-Range: bytes 0-99/100\r\nETag: "0x1"\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\nLTX1';
  for (const behaviour of ["drop", "silent", "stall"] as const) {
    await using dead = behaviour === "stall"
      ? startDeadServer("silent", stall)
      : startDeadServer(behaviour);
    const client = new AbsReplicaClient(
      `abs://${AZURITE_ACCOUNT}@c/db?endpoint=http://127.0.0.1:${dead.port}/${AZURITE_ACCOUNT}`,
      { retryBudgetMs: 1_000, requestTimeoutMs: 200, env: KEY_ENV },
    );
    try {
      await assertGivesUp(() => client.readRange(info(0, 1n, 100), 0, 100), {
        matches: [
          /^Azure read /,
          ...(behaviour === "drop" ? [] : [/no answer within 200 ms/]),
        ],
        never: [new RegExp(AZURITE_KEY)],
        withinMs: 2_000,
        what: behaviour,
      });
      assert.ok(dead.accepted > 1, `${behaviour}: ${dead.accepted} attempts`);
    } finally {
      client.close();
    }
  }
});

/**
 * The permissions the README documents for an abs:// replica. Every
 * variable: the SDK's dependency `debug` lists the whole environment as it
 * loads. `osRelease`: the SDK's User-Agent.
 */
function absPermissions(endpoint: string): string[] {
  return [
    "--allow-ffi",
    "--allow-read",
    `--allow-net=${new URL(endpoint).host}`,
    "--allow-env",
    "--allow-sys=osRelease",
  ];
}

Deno.test("open() reads an abs:// replica under the permissions the README lists", async () => {
  await using dir = await tempDir();
  await using server = await startAzurite();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, SCHEMA);
  await server.upload(replica, "db");
  const row = await runScript(
    dir,
    openAndQueryScript(server.url("db"), "SELECT count(*) AS n FROM t"),
    absPermissions(server.endpoint),
    { env: KEY_ENV },
  );
  assert.deepEqual(row, { n: 500 });
});

backendSuite("Azure", async () => {
  const server = await startAzurite();
  return {
    name: "Azure",
    url: (path) => server.url(path),
    env: server.env,
    upload: async (dir, path) => {
      await server.upload(dir, path);
    },
    badCredentials: (path) => ({
      url: server.url(path),
      env: { LITESTREAM_AZURE_ACCOUNT_KEY: btoa("not the key") },
    }),
    missingBucket: (path) => server.url(path, "no-such-container"),
    [Symbol.asyncDispose]: () => server.stop(),
  };
});
