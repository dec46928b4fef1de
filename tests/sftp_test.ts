/**
 * The `sftp://` backend end to end, against OpenSSH's server on 127.0.0.1
 * (tests/_sshd.ts): the shared backend suite, a replica Litestream's own
 * extension wrote over SFTP, host key checking, credentials, a connection
 * that drops or a server that restarts mid-use, create-only writes racing,
 * and the Deno permissions a user needs.
 *
 * @module
 */

import assert from "node:assert/strict";
import { open, SqliteError } from "../mod.ts";
import {
  decodeHeader,
  encodeFile,
  formatFileName,
  HEADER_FLAG_NO_CHECKSUM,
} from "../src/ltx/mod.ts";
import { makeHeader } from "../src/ltx/_test_util.ts";
import { FileExistsError, StorageError } from "../src/storage/errors.ts";
import { SftpReplicaClient } from "../src/storage/sftp_client.ts";
import { type BackendHarness, backendSuite } from "./_backend_suite.ts";
import { withEnv } from "./_env.ts";
import { tempDir as makeTempDir } from "./_files.ts";
import { makeLitestreamReplica, writeWithLitestream } from "./_litestream.ts";
import { type SshServer, startSshServer, uploadOverSftp } from "./_sshd.ts";

/** The URL of a path under the server's data folder. */
function sftpUrl(server: SshServer, path: string, query = ""): string {
  return `sftp://${server.user}@${server.host}:${server.port}${server.dataDir}/${path}${query}`;
}

/** The environment that reaches the server with its key. */
function keyEnv(server: SshServer): Record<string, string> {
  return {
    LITESTREAM_SFTP_KEY_PATH: server.keyPath,
    LITESTREAM_SFTP_KNOWN_HOSTS: server.knownHostsPath,
  };
}

/** A client of the server, with its key, reading no process environment. */
function client(
  server: SshServer,
  path: string,
  options: {
    query?: string;
    retryBudgetMs?: number;
    requestTimeoutMs?: number;
    env?: Record<string, string>;
  } = {},
): SftpReplicaClient {
  return new SftpReplicaClient(sftpUrl(server, path, options.query), {
    env: options.env ?? keyEnv(server),
    retryBudgetMs: options.retryBudgetMs,
    requestTimeoutMs: options.requestTimeoutMs,
  });
}

const tempDir = () => makeTempDir("lsvfs-sftp-test-");

/** A valid LTX file of `pages` random pages, for write tests. */
function ltxFile(txid: bigint, timestamp: number, pages = 1): Uint8Array {
  return encodeFile({
    header: makeHeader({
      flags: HEADER_FLAG_NO_CHECKSUM,
      minTxid: txid,
      maxTxid: txid,
      commit: pages,
      timestamp,
    }),
    pages: Array.from({ length: pages }, (_, i) => ({
      pgno: i + 1,
      data: crypto.getRandomValues(new Uint8Array(4096)),
    })),
    postApplyChecksum: 0n,
  });
}

const SCHEMA = [
  "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
  "INSERT INTO t (v) SELECT printf('row %05d', value) FROM generate_series(1, 500)",
];

backendSuite("SFTP", async (): Promise<BackendHarness> => {
  const server = await startSshServer();
  return {
    name: "SFTP",
    url: (path) => sftpUrl(server, path),
    env: keyEnv(server),
    upload: async (dir, path) => {
      await uploadOverSftp(server, dir, `${server.dataDir}/${path}`);
    },
    badCredentials: (path) => ({
      url: sftpUrl(server, path),
      env: { ...keyEnv(server), LITESTREAM_SFTP_KEY_PATH: server.otherKeyPath },
    }),
    missingBucket: (path) =>
      `sftp://${server.user}@${server.host}:${server.port}/no/such/dir/${path}`,
    [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
  };
});

Deno.test("open() reads a replica Litestream's extension wrote over SFTP, where its VFS puts it", async () => {
  await using server = await startSshServer();
  // Litestream's VFS takes the URL's path relative to the home directory.
  const url =
    `sftp://${server.user}:${server.password}@${server.host}:${server.port}/written/db`;
  await writeWithLitestream(url, [
    ...SCHEMA,
    "UPDATE t SET v = upper(v) WHERE id % 2 = 0",
  ]);
  const level0 = [...Deno.readDirSync(`${server.homeDir}/written/db/ltx/0`)]
    .map((e) => e.name).sort();
  assert.deepEqual(level0, [
    "0000000000000001-0000000000000001.ltx",
    "0000000000000002-0000000000000002.ltx",
    "0000000000000003-0000000000000003.ltx",
  ]);
  // Its modification time is the LTX header's time (Litestream's Chtimes).
  const path = `${server.homeDir}/written/db/ltx/0/${level0[2]}`;
  const header = decodeHeader(Deno.readFileSync(path), level0[2]);
  assert.equal(
    Math.floor(Deno.statSync(path).mtime!.getTime() / 1000),
    Math.floor(header.timestamp / 1000),
  );
  const restore = withEnv({
    LITESTREAM_SFTP_KNOWN_HOSTS: server.knownHostsPath,
  });
  try {
    using db = open(url);
    assert.deepEqual(db.get("SELECT count(*) AS n FROM t"), { n: 500 });
    assert.deepEqual(db.get("SELECT v FROM t WHERE id = 2"), {
      v: "ROW 00002",
    });
    assert.match(db.replicaState().txid, /3$/);
  } finally {
    restore();
  }
});

Deno.test("SftpReplicaClient refuses an unknown or changed host key, with its fingerprint, unless told otherwise", async () => {
  await using server = await startSshServer();
  await using dir = await tempDir();
  const empty = `${dir}/known_hosts`;
  await Deno.writeTextFile(empty, "");
  const unknown = client(server, "db", {
    env: { ...keyEnv(server), LITESTREAM_SFTP_KNOWN_HOSTS: empty },
  });
  await assert.rejects(unknown.listFiles(0), (error: unknown) => {
    assert.ok(error instanceof StorageError, String(error));
    assert.equal(error.retryable, false);
    assert.match(
      error.message,
      /^SFTP host key of "\[127\.0\.0\.1\]:\d+" is not known/,
    );
    assert.ok(error.message.includes(server.hostFingerprint), error.message);
    // How to trust it: the exact line to add.
    assert.ok(
      error.message.includes(
        `[127.0.0.1]:${server.port} ${server.hostPublicKey}`,
      ),
      error.message,
    );
    return true;
  });
  await unknown.close();
  // A different key on record for the host: refused as changed.
  const other = (await Deno.readTextFile(`${server.otherKeyPath}.pub`)).split(
    " ",
  ).slice(0, 2).join(" ");
  const changedFile = `${dir}/changed`;
  await Deno.writeTextFile(
    changedFile,
    `# comment\nexample.com ${server.hostPublicKey}\n[127.0.0.1]:${server.port} ${other}\n`,
  );
  const changed = client(server, "db", {
    env: { ...keyEnv(server), LITESTREAM_SFTP_KNOWN_HOSTS: changedFile },
  });
  await assert.rejects(changed.listFiles(0), (error: unknown) => {
    assert.ok(error instanceof StorageError, String(error));
    assert.match(error.message, /has CHANGED/);
    assert.match(error.message, /line 3/);
    assert.ok(error.message.includes(server.hostFingerprint), error.message);
    return true;
  });
  await changed.close();
  // skip-verify=true turns checking off; host-key= pins the key.
  for (
    const query of [
      "?skip-verify=true",
      `?host-key=${encodeURIComponent(server.hostPublicKey)}`,
    ]
  ) {
    const c = client(server, "db", {
      query,
      env: { ...keyEnv(server), LITESTREAM_SFTP_KNOWN_HOSTS: empty },
    });
    assert.deepEqual(await c.listFiles(0), []);
    await c.close();
  }
  const pinned = client(server, "db", {
    query: `?host-key=${encodeURIComponent(other)}`,
  });
  await assert.rejects(pinned.listFiles(0), /does not match host-key/);
  await pinned.close();
});

Deno.test("SftpReplicaClient logs in with a password, and a wrong one fails at once, naming SFTP and user@host only", async () => {
  await using server = await startSshServer();
  const base =
    `sftp://${server.user}:PASSWORD@${server.host}:${server.port}${server.dataDir}/db`;
  const env = { LITESTREAM_SFTP_KNOWN_HOSTS: server.knownHostsPath };
  const good = new SftpReplicaClient(
    base.replace("PASSWORD", encodeURIComponent(server.password)),
    { env },
  );
  assert.deepEqual(await good.listFiles(0), []);
  assert.ok(!good.url.includes(server.password), good.url);
  await good.close();
  assert.match(server.log(), /Accepted password for root/);
  // From the environment, as Litestream's tests pass it.
  const fromEnv = client(server, "db", {
    env: { ...env, LITESTREAM_SFTP_PASSWORD: server.password },
  });
  assert.deepEqual(await fromEnv.listFiles(0), []);
  await fromEnv.close();
  const wrong = "not-the-password-42";
  const bad = new SftpReplicaClient(base.replace("PASSWORD", wrong), {
    env,
  });
  const started = Date.now();
  await assert.rejects(bad.listFiles(0), (error: unknown) => {
    assert.ok(error instanceof StorageError, String(error));
    assert.equal(error.retryable, false);
    assert.match(
      error.message,
      new RegExp(
        `^SFTP authentication failed for root@127\\.0\\.0\\.1:${server.port}`,
      ),
    );
    assert.match(error.message, /the password/);
    assert.ok(!error.message.includes(wrong), error.message);
    return true;
  });
  assert.ok(Date.now() - started < 5_000, "an auth failure is not retried");
  await bad.close();
  // A key file that is not there says so.
  const missing = client(server, "db", {
    env: { ...keyEnv(server), LITESTREAM_SFTP_KEY_PATH: "/no/such/key" },
  });
  await assert.rejects(
    missing.listFiles(0),
    /SFTP key file "\/no\/such\/key" .* does not exist/,
  );
  await missing.close();
});

Deno.test("SftpReplicaClient reads many ranges on one connection, and reconnects after a drop or a restart", async () => {
  await using server = await startSshServer();
  await using dir = await tempDir();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, SCHEMA);
  await uploadOverSftp(server, replica, `${server.dataDir}/db`);
  const before = (server.log().match(/Accepted publickey/g) ?? []).length;
  const c = client(server, "db");
  try {
    const [file] = await c.listFiles(0);
    const local = Deno.readFileSync(
      `${replica}/ltx/0/${formatFileName(file.minTxid, file.maxTxid)}`,
    );
    assert.equal(file.size, local.length);
    // 64 reads at once, pipelined on one connection.
    const ranges = Array.from({ length: 64 }, (_, i) => {
      const offset = Math.floor((local.length - 200) * i / 64);
      return { offset, length: 100 + i };
    });
    const got = await Promise.all(
      ranges.map((r) => c.readRange(file, r.offset, r.length)),
    );
    for (const [i, r] of ranges.entries()) {
      assert.deepEqual(got[i], local.subarray(r.offset, r.offset + r.length));
    }
    // A whole file in one read (several SFTP reads in flight).
    assert.deepEqual(await c.readRange(file, 0, local.length), local);
    const logins = () =>
      (server.log().match(/Accepted publickey/g) ?? []).length - before;
    assert.equal(logins(), 1);
    // The server drops the connection: the next read reconnects.
    assert.equal(await server.dropConnections(), 1);
    assert.deepEqual(await c.readRange(file, 10, 20), local.subarray(10, 30));
    assert.equal(logins(), 2);
    // The server goes away for a while and comes back on the same port:
    // a read meanwhile waits within the retry budget.
    await server.stop();
    const reading = c.readRange(file, 100, 50);
    await new Promise((r) => setTimeout(r, 700));
    await server.start();
    assert.deepEqual(await reading, local.subarray(100, 150));
    assert.equal(logins(), 3);
    // A stuck server (its session frozen) answers nothing: a request gives
    // up after its timeout, the connection is dropped, and reads in flight
    // go on over a new one.
    const frozen = client(server, "db", { requestTimeoutMs: 300 });
    assert.deepEqual(await frozen.readRange(file, 0, 8), local.subarray(0, 8));
    const stuck = server.sessions();
    assert.ok(stuck.length > 0);
    for (const pid of stuck) Deno.kill(pid, "SIGSTOP");
    try {
      const started = Date.now();
      const reads = await Promise.all(
        [0, 50, 100].map((at) => frozen.readRange(file, at, 40)),
      );
      assert.deepEqual(
        reads,
        [0, 50, 100].map((at) => local.subarray(at, at + 40)),
      );
      assert.ok(Date.now() - started >= 300, "the first answer was awaited");
    } finally {
      for (const pid of stuck) Deno.kill(pid, "SIGKILL");
      await frozen.close();
    }
    // Gone for good: a retryable error within a short budget.
    await server.stop();
    const short = client(server, "db", { retryBudgetMs: 600 });
    const started = Date.now();
    await assert.rejects(short.readRange(file, 0, 10), (error: unknown) => {
      assert.ok(error instanceof StorageError, String(error));
      assert.equal(error.retryable, true);
      assert.match(
        error.message,
        /^SFTP connection to root@127\.0\.0\.1:\d+ .*connection refused.*gave up after \d+ attempts/,
      );
      return true;
    });
    assert.ok(Date.now() - started < 2_000, `${Date.now() - started} ms`);
    await short.close();
  } finally {
    await c.close();
  }
});

Deno.test("SftpReplicaClient.createFile() makes directories, stamps the LTX time, and lets exactly one of racing writers win", async () => {
  await using server = await startSshServer();
  const a = client(server, "new/deep/db");
  const b = client(server, "new/deep/db");
  try {
    const timestamp = Date.parse("2024-05-06T07:08:09.500Z");
    const mine = ltxFile(1n, timestamp);
    const theirs = ltxFile(1n, timestamp + 1000);
    const name = { level: 0, minTxid: 1n, maxTxid: 1n };
    const results = await Promise.allSettled([
      a.createFile(name, mine),
      b.createFile(name, theirs),
    ]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    assert.equal(won.length, 1, JSON.stringify(results));
    assert.equal(lost.length, 1);
    const reason = (lost[0] as PromiseRejectedResult).reason;
    assert.ok(reason instanceof FileExistsError, String(reason));
    assert.match(reason.message, /^SFTP ".*" on root@127\.0\.0\.1:\d+ exists/);
    const dir = `${server.dataDir}/new/deep/db/ltx/0`;
    // No temporary file is left behind.
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [
      "0000000000000001-0000000000000001.ltx",
    ]);
    const winner = results[0].status === "fulfilled" ? mine : theirs;
    const [listed] = await a.listFiles(0);
    assert.deepEqual(await a.readRange(listed, 0, listed.size), winner);
    assert.equal(
      listed.createdAt,
      Math.floor(decodeHeader(winner, "x").timestamp / 1000) * 1000,
    );
    // The same bytes again (a retried write that had landed) count as written.
    await (winner === mine ? a : b).createFile(name, winner);
    // A bigger file than one SFTP packet round-trips.
    const big = ltxFile(2n, timestamp, 300);
    assert.ok(big.length > 1_000_000);
    await a.createFile({ level: 0, minTxid: 2n, maxTxid: 2n }, big);
    const files = await b.listFiles(0);
    assert.equal(files.length, 2);
    assert.deepEqual(await b.readRange(files[1], 0, files[1].size), big);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("an sftp:// replica opens under the Deno permissions the README lists", async () => {
  await using server = await startSshServer();
  await using dir = await tempDir();
  const replica = `${dir}/replica`;
  await makeLitestreamReplica(replica, SCHEMA);
  await uploadOverSftp(server, replica, `${server.dataDir}/db`);
  const script = `
    import { open } from "${new URL("../mod.ts", import.meta.url)}";
    using db = open(${JSON.stringify(sftpUrl(server, "db"))});
    console.log(JSON.stringify(db.get("SELECT count(*) AS n FROM t")));
  `;
  const names = [
    "LITESTREAM_SFTP_USER",
    "LITESTREAM_SFTP_PASSWORD",
    "LITESTREAM_SFTP_KEY_PATH",
    "LITESTREAM_SFTP_KEY_PASSPHRASE",
    "LITESTREAM_SFTP_HOST_KEY",
    "LITESTREAM_SFTP_KNOWN_HOSTS",
    "HOME",
  ];
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--allow-ffi",
      `--allow-net=127.0.0.1:${server.port}`,
      `--allow-env=${names.join(",")},LITESTREAM_*`,
      `--allow-read=${server.keyPath},${server.knownHostsPath}`,
      script,
    ],
    env: keyEnv(server),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, stderr);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
    n: 500,
  });
});

Deno.test("open() fails on an sftp:// replica with no LTX files, naming the URL", async () => {
  await using server = await startSshServer();
  const restore = withEnv(keyEnv(server));
  try {
    assert.throws(() => open(sftpUrl(server, "empty")), (error: unknown) => {
      assert.ok(error instanceof SqliteError, String(error));
      assert.match(
        error.message,
        /No LTX files at "sftp:\/\/root@127\.0\.0\.1/,
      );
      return true;
    });
  } finally {
    restore();
  }
});
