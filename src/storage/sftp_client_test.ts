import assert from "node:assert/strict";
import { ReplicaUrlError, StorageError } from "./errors.ts";
import {
  DEFAULT_SFTP_PORT,
  GLOBAL_KNOWN_HOSTS,
  parseSftpUrl,
  SftpReplicaClient,
} from "./sftp_client.ts";

// Two ed25519 keys made with ssh-keygen.
const KEY_A =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMznqHm6bNaMsSy2JM7nQQkZhr+EseHpGkysdCJs+qmQ";
const KEY_B =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBnoEYhCbIXlAMwS66TGj2M6CfRXG3sCN0lNRYJy+/Sm";

const HOME = { HOME: "/home/me" };

function settings(url: string, env: Record<string, string> = HOME) {
  return parseSftpUrl(url, env);
}

Deno.test("parseSftpUrl() reads host, port, user, password and path as Litestream does", () => {
  const s = settings("sftp://me:p%40ss@db.example.com:2222/srv/backups/db/");
  assert.equal(s.host, "db.example.com");
  assert.equal(s.port, 2222);
  assert.equal(s.user, "me");
  assert.equal(s.password, "p@ss");
  assert.equal(s.path, "/srv/backups/db");
  assert.equal(s.homePath, "srv/backups/db");
  assert.equal(s.skipVerify, false);
  assert.deepEqual(s.knownHosts, [
    "/home/me/.ssh/known_hosts",
    GLOBAL_KNOWN_HOSTS,
  ]);
  const plain = settings("sftp://me@[::1]/a/./b/../c");
  assert.equal(plain.host, "::1");
  assert.equal(plain.port, DEFAULT_SFTP_PORT);
  assert.equal(plain.path, "/a/c");
  assert.equal(plain.password, undefined);
});

Deno.test("parseSftpUrl() takes /~/path and an empty path as the home directory only", () => {
  const tilde = settings("sftp://me@host/~/replicas/db");
  assert.equal(tilde.path, undefined);
  assert.equal(tilde.homePath, "replicas/db");
  const empty = settings("sftp://me@host");
  assert.equal(empty.path, undefined);
  assert.equal(empty.homePath, "");
  const root = settings("sftp://me@host/");
  assert.equal(root.path, "/");
  assert.equal(root.homePath, "");
});

Deno.test("parseSftpUrl() reads options from the query and credentials from the environment", () => {
  const s = settings(
    `sftp://me@host/db?key-path=~/.ssh/backup&known-hosts=~/kh&skip-verify=true&host-key=${
      encodeURIComponent(KEY_A)
    }&concurrent-writes=false`,
  );
  assert.equal(s.keyPath, "/home/me/.ssh/backup");
  assert.deepEqual(s.knownHosts, ["/home/me/kh"]);
  assert.equal(s.skipVerify, true);
  assert.equal(s.hostKey, KEY_A);
  const camel = settings("sftp://me@host/db?keyPath=/k&skipVerify=false");
  assert.equal(camel.keyPath, "/k");
  assert.equal(camel.skipVerify, false);
  const env = parseSftpUrl("sftp://host/db", {
    LITESTREAM_SFTP_USER: "backup",
    LITESTREAM_SFTP_PASSWORD: "pw",
    LITESTREAM_SFTP_KEY_PATH: "/keys/id",
    LITESTREAM_SFTP_KEY_PASSPHRASE: "phrase",
    LITESTREAM_SFTP_HOST_KEY: KEY_B,
    LITESTREAM_SFTP_KNOWN_HOSTS: "/etc/kh",
  });
  assert.equal(env.user, "backup");
  assert.equal(env.password, "pw");
  assert.equal(env.keyPath, "/keys/id");
  assert.equal(env.passphrase, "phrase");
  assert.equal(env.hostKey, KEY_B);
  assert.deepEqual(env.knownHosts, ["/etc/kh"]);
  // The URL wins over the environment.
  const both = parseSftpUrl("sftp://me:url@host/db?key-path=/url", {
    LITESTREAM_SFTP_PASSWORD: "env",
    LITESTREAM_SFTP_KEY_PATH: "/env",
  });
  assert.equal(both.password, "url");
  assert.equal(both.keyPath, "/url");
  // Without HOME, only the system-wide known_hosts file.
  assert.deepEqual(parseSftpUrl("sftp://me@host/db", {}).knownHosts, [
    GLOBAL_KNOWN_HOSTS,
  ]);
});

Deno.test("parseSftpUrl() rejects a URL without host or user, and bad options, without the password", () => {
  const bad = (url: string, pattern: RegExp) =>
    assert.throws(() => settings(url), (error: unknown) => {
      assert.ok(error instanceof ReplicaUrlError);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes("secret"), error.message);
      return true;
    });
  bad("sftp://host/db", /no user: write "sftp:\/\/user@host:port\/path"/);
  bad("sftp:///db", /no host/);
  bad("sftp://me:secret@host/db?skip-verify=maybe", /"skip-verify" must be/);
  bad("sftp://me:secret@host/db?host-key=nonsense", /"host-key" must be/);
  bad(
    "sftp://me:secret@host/db?concurrent-writes=2",
    /"concurrent-writes" must be/,
  );
  bad("sftp://me:secret@ho st/db", /Invalid replica URL/);
});

function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("SftpReplicaClient gives up on a refused connection within its budget, retryable", async () => {
  const port = closedPort();
  const client = new SftpReplicaClient(
    `sftp://me:secret@127.0.0.1:${port}/db?skip-verify=true`,
    { env: {}, retryBudgetMs: 400 },
  );
  const started = performance.now();
  await assert.rejects(client.listFiles(0), (error: unknown) => {
    assert.ok(error instanceof StorageError);
    assert.equal(error.retryable, true);
    assert.match(
      error.message,
      new RegExp(
        `^SFTP connection to me@127\\.0\\.0\\.1:${port} \\(sftp://me:\\*\\*\\*@127\\.0\\.0\\.1:${port}/db\\?skip-verify=true\\): connection refused .*gave up after \\d+ attempts`,
      ),
    );
    assert.ok(!error.message.includes("secret"));
    return true;
  });
  assert.ok(performance.now() - started < 1_500);
  await client.close();
});

Deno.test("SftpReplicaClient fails at once without credentials or with a bad key file", async () => {
  const port = closedPort();
  const none = new SftpReplicaClient(`sftp://me@127.0.0.1:${port}/db`, {
    env: {},
  });
  await assert.rejects(none.listFiles(0), (error: unknown) => {
    assert.ok(error instanceof StorageError);
    assert.equal(error.retryable, false);
    assert.match(error.message, /^SFTP has no credentials for me@127\.0\.0\.1/);
    assert.match(error.message, /LITESTREAM_SFTP_PASSWORD/);
    return true;
  });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/key`, "not a key");
    const bad = new SftpReplicaClient(`sftp://me@127.0.0.1:${port}/db`, {
      env: { LITESTREAM_SFTP_KEY_PATH: `${dir}/key` },
    });
    await assert.rejects(
      bad.listFiles(0),
      /SFTP key file ".*\/key" .* is not a usable private key/,
    );
    const missing = new SftpReplicaClient(`sftp://me@127.0.0.1:${port}/db`, {
      env: { LITESTREAM_SFTP_KEY_PATH: `${dir}/none` },
    });
    await assert.rejects(missing.listFiles(0), /does not exist/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SftpReplicaClient.close() is idempotent and later calls fail", async () => {
  const client = new SftpReplicaClient("sftp://me:pw@127.0.0.1:1/db", {
    env: {},
  });
  await client.close();
  await client.close();
  await assert.rejects(client.listFiles(0), /is closed/);
  assert.equal(client.url, "sftp://me:***@127.0.0.1:1/db");
});
