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
  FileExistsError,
  type LtxFileInfo,
  StorageError,
  WorkerReplicaClient,
} from "../src/storage/mod.ts";
import { backendSuite } from "./_backend_suite.ts";
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite } from "./_azurite.ts";
import { listLtxFiles, makeLitestreamReplica } from "./_litestream.ts";

const KEY_ENV = { LITESTREAM_AZURE_ACCOUNT_KEY: AZURITE_KEY };

/**
 * Sets (or, for undefined, unsets) variables of this process, which the
 * storage worker reads; the returned function puts them back.
 */
function withEnv(env: Record<string, string | undefined>): () => void {
  const before = Object.keys(env).map((name) => [name, Deno.env.get(name)]);
  const apply = (pairs: [string, string | undefined][]) => {
    for (const [name, value] of pairs) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  };
  apply(Object.entries(env));
  return () => apply(before as [string, string | undefined][]);
}

async function tempDir(): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "lsvfs-abs-test-" });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  });
}

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
  const writers = [0, 1].map(() =>
    new AbsReplicaClient(server.url("race"), { env: KEY_ENV })
  );
  for (let round = 1; round <= 5; round++) {
    const file = { level: 0, minTxid: BigInt(round), maxTxid: BigInt(round) };
    const bytes = writers.map((_, i) =>
      new Uint8Array(1000).fill(round * 2 + i)
    );
    const outcomes = await Promise.allSettled(
      writers.map((w, i) => w.createFile(file, bytes[i])),
    );
    const won = outcomes.findIndex((o) => o.status === "fulfilled");
    assert.notEqual(won, -1, `round ${round}: nobody won`);
    const lost = outcomes[1 - won];
    assert.equal(lost.status, "rejected", `round ${round}: both won`);
    const reason = (lost as PromiseRejectedResult).reason;
    assert.ok(reason instanceof FileExistsError, String(reason));
    assert.match(
      reason.message,
      /^Azure blob "race\/ltx\/0\/.*" in container "replicas" exists/,
    );
    const stored = await writers[1 - won].readRange(
      info(0, BigInt(round), 1000),
      0,
      1000,
    );
    assert.deepEqual(stored, bytes[won], `round ${round}`);
  }
  // The same bytes again (a retried write whose first try landed) succeed.
  const there = await writers[0].readRange(info(0, 1n, 1000), 0, 1000);
  await writers[0].createFile({ level: 0, minTxid: 1n, maxTxid: 1n }, there);
  const listed = await writers[0].listFiles(0);
  assert.deepEqual(listed.map((f) => f.maxTxid), [1n, 2n, 3n, 4n, 5n]);
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
  const before = Deno.env.get("AZURE_STORAGE_CONNECTION_STRING");
  Deno.env.set(
    "AZURE_STORAGE_CONNECTION_STRING",
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${server.endpoint};`,
  );
  try {
    using db = open(`abs://${server.container}/db`);
    assert.deepEqual(db.get("SELECT count(*) AS n FROM t"), { n: 500 });
  } finally {
    if (before === undefined) {
      Deno.env.delete("AZURE_STORAGE_CONNECTION_STRING");
    } else Deno.env.set("AZURE_STORAGE_CONNECTION_STRING", before);
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
    const started = performance.now();
    await assert.rejects(client.readRange(file, 0, 100), (error: unknown) => {
      assert.ok(error instanceof StorageError, String(error));
      assert.equal(error.retryable, true, error.message);
      assert.match(error.message, /^Azure read "db\/ltx\/0\/.*\.ltx"/);
      assert.match(error.message, /gave up after \d+ attempts/);
      assert.doesNotMatch(error.message, new RegExp(AZURITE_KEY));
      return true;
    });
    const ms = performance.now() - started;
    assert.ok(ms < 2_000, `took ${ms} ms`);
  } finally {
    await server.stop();
  }
});

Deno.test("AbsReplicaClient retries dropped connections, silent servers and stalled bodies within its bound", async () => {
  for (const behaviour of ["drop", "silent", "stall"] as const) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    let accepted = 0;
    const serving = (async () => {
      for await (const conn of listener) {
        accepted++;
        if (behaviour === "drop") conn.close();
        else held.push(conn);
        if (behaviour === "stall") {
          // Headers and the first bytes of a 100-byte body, then nothing.
          await conn.write(
            new TextEncoder().encode(
              'HTTP/1.1 206 Partial Content\r\nContent-Length: 100\r\nContent-Range: bytes 0-99/100\r\nETag: "0x1"\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\nLTX1',
            ),
          ).catch(() => {});
        }
      }
    })();
    const client = new AbsReplicaClient(
      `abs://${AZURITE_ACCOUNT}@c/db?endpoint=http://127.0.0.1:${listener.addr.port}/${AZURITE_ACCOUNT}`,
      { retryBudgetMs: 1_000, requestTimeoutMs: 200, env: KEY_ENV },
    );
    try {
      const started = performance.now();
      await assert.rejects(
        client.readRange(info(0, 1n, 100), 0, 100),
        (error: unknown) => {
          assert.ok(error instanceof StorageError, String(error));
          assert.equal(error.retryable, true, `${behaviour}: ${error.message}`);
          assert.match(error.message, /^Azure read /);
          if (behaviour !== "drop") {
            assert.match(error.message, /no answer within 200 ms/);
          }
          assert.doesNotMatch(error.message, new RegExp(AZURITE_KEY));
          return true;
        },
      );
      const ms = performance.now() - started;
      assert.ok(ms < 2_000, `${behaviour}: took ${ms} ms`);
      assert.ok(accepted > 1, `${behaviour}: ${accepted} attempts`);
    } finally {
      client.close();
      listener.close();
      for (const conn of held) {
        try {
          conn.close();
        } catch {
          // Closed by the client.
        }
      }
      await serving.catch(() => {});
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
  const script = `
    import { open } from "${new URL("../mod.ts", import.meta.url)}";
    using db = open(${JSON.stringify(server.url("db"))});
    console.log(JSON.stringify(db.get("SELECT count(*) AS n FROM t")));
  `;
  await Deno.writeTextFile(`${dir}/app.ts`, script);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      ...absPermissions(server.endpoint),
      `${dir}/app.ts`,
    ],
    env: KEY_ENV,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
    n: 500,
  });
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
