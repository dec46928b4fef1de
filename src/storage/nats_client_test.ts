import assert from "node:assert/strict";
import {
  classifyNatsError,
  DEFAULT_NATS_CACHE_BYTES,
  NatsReplicaClient,
  parseNatsUrl,
  redactNatsUrl,
} from "./nats_client.ts";
import { ReplicaUrlError, StorageError } from "./errors.ts";

Deno.test("parseNatsUrl() reads Litestream's nats://host:port/bucket, with the default port", () => {
  const s = parseNatsUrl("nats://nats.example.com:14222/litestream", {});
  assert.deepEqual(s.servers, ["nats.example.com:14222"]);
  assert.equal(s.bucket, "litestream");
  assert.equal(s.path, "");
  assert.equal(s.tls, false);
  assert.deepEqual(parseNatsUrl("nats://h/b", {}).servers, ["h:4222"]);
  // No host: NATS's default server, as Litestream's client has it.
  assert.deepEqual(parseNatsUrl("nats:///b", {}).servers, [
    "127.0.0.1:4222",
  ]);
  assert.deepEqual(parseNatsUrl("nats://[::1]:5000/b", {}).servers, [
    "[::1]:5000",
  ]);
});

Deno.test("parseNatsUrl() takes the first segment as the bucket and the rest as a prefix", () => {
  const s = parseNatsUrl("nats://h/replicas/app/db/", {});
  assert.equal(s.bucket, "replicas");
  assert.equal(s.path, "app/db");
  assert.equal(parseNatsUrl("nats://h/b/a%20b", {}).path, "a b");
});

Deno.test("parseNatsUrl() accepts a comma-separated list of servers", () => {
  const s = parseNatsUrl("nats://u:p@n1:4222,n2,n3:4223/b", {});
  assert.deepEqual(s.servers, ["n1:4222", "n2:4222", "n3:4223"]);
  assert.equal(s.user, "u");
  assert.equal(s.password, "p");
});

Deno.test("parseNatsUrl() rejects a missing or invalid bucket and a bad host, saying how to write it", () => {
  for (
    const [url, pattern] of [
      ["nats://h:4222", /has no bucket: write "nats:\/\/host:port\/bucket"/],
      ["nats://h:4222/", /has no bucket/],
      ["nats://h/my.bucket/db", /"my\.bucket" is not a bucket name/],
      ["nats://h:99999/b", /"h:99999" is not a host\[:port\]/],
      ["s3://h/b", /Invalid NATS replica URL/],
      ["nats://h/b?tls=maybe", /"tls" must be true or false, got "maybe"/],
      ["nats://h/b?timeout=soon", /"timeout" must be a positive duration/],
      ["nats://h/b?client-cert=c.pem", /client-cert and client-key/],
    ] as const
  ) {
    assert.throws(() => parseNatsUrl(url, {}), (error: unknown) => {
      assert.ok(error instanceof ReplicaUrlError, url);
      assert.match(error.message, pattern);
      return true;
    });
  }
});

Deno.test("parseNatsUrl() takes user and password from the URL first, then NATS_USER/NATS_PASSWORD", () => {
  const env = { NATS_USER: "envuser", NATS_PASSWORD: "envpass" };
  const fromUrl = parseNatsUrl("nats://me:p%40ss@h/b", env);
  assert.equal(fromUrl.user, "me");
  assert.equal(fromUrl.password, "p@ss");
  const fromEnv = parseNatsUrl("nats://h/b", env);
  assert.equal(fromEnv.user, "envuser");
  assert.equal(fromEnv.password, "envpass");
  // A user in the URL with the password in the environment.
  assert.equal(
    parseNatsUrl("nats://me@h/b", { NATS_PASSWORD: "x" }).password,
    "x",
  );
  assert.throws(
    () => parseNatsUrl("nats://me@h/b", {}),
    /names user "me" but no password/,
  );
  assert.equal(parseNatsUrl("nats://h/b", {}).user, undefined);
});

Deno.test("parseNatsUrl() reads a token, a credentials file and TLS files from the query or the environment", () => {
  const q = parseNatsUrl(
    "nats://h/b?token=t1&creds=/etc/u.creds&root-cas=/a.pem,/b.pem&client-cert=/c.pem&client-key=/k.pem&timeout=1m30s",
    { NATS_TOKEN: "t2", NATS_CREDS: "/other.creds" },
  );
  assert.equal(q.token, "t1");
  assert.equal(q.credsFile, "/etc/u.creds");
  assert.deepEqual(q.rootCas, ["/a.pem", "/b.pem"]);
  assert.equal(q.clientCert, "/c.pem");
  assert.equal(q.clientKey, "/k.pem");
  assert.equal(q.tls, true);
  assert.equal(q.timeoutMs, 90_000);
  const e = parseNatsUrl("nats://h/b", {
    NATS_TOKEN: "t2",
    NATS_CREDS: "/other.creds",
    NATS_CA: "/ca.pem",
    NATS_CERT: "/c.pem",
    NATS_KEY: "/k.pem",
  });
  assert.equal(e.token, "t2");
  assert.equal(e.credsFile, "/other.creds");
  assert.deepEqual(e.rootCas, ["/ca.pem"]);
  assert.equal(e.tls, true);
  assert.equal(parseNatsUrl("nats://h/b?tls=true", {}).tls, true);
  assert.equal(parseNatsUrl("nats://h/b?timeout=500ms", {}).timeoutMs, 500);
});

Deno.test("redactNatsUrl() hides passwords and secret parameters, also for a server list", () => {
  assert.equal(
    redactNatsUrl("nats://me:secret@a:4222,b:4222/bucket/db?tls=true"),
    "nats://me:***@a:4222,b:4222/bucket/db?tls=true",
  );
  assert.equal(
    redactNatsUrl("nats://h/b?token=abc&creds=/etc/x.creds"),
    "nats://h/b?token=***&creds=/etc/x.creds",
  );
  assert.equal(redactNatsUrl("nats://h/b"), "nats://h/b");
});

Deno.test("NatsReplicaClient names objects as Litestream does, under the URL's prefix", () => {
  const root = new NatsReplicaClient("nats://h/b", { env: {} });
  const file = { level: 9, minTxid: 1n, maxTxid: 0x2an };
  assert.equal(
    root.objectName(file),
    "ltx/9/0000000000000001-000000000000002a.ltx",
  );
  const prefixed = new NatsReplicaClient("nats://h/b/app/db", { env: {} });
  assert.equal(
    prefixed.objectName({ level: 0, minTxid: 3n, maxTxid: 3n }),
    "app/db/ltx/0/0000000000000003-0000000000000003.ltx",
  );
  assert.equal(
    new NatsReplicaClient("nats://me:pw@h/b", { env: {} }).url,
    "nats://me:***@h/b",
  );
  root.close();
  prefixed.close();
});

Deno.test("NatsReplicaClient fails at once, naming the file, when a TLS or credentials file cannot be read", async () => {
  const client = new NatsReplicaClient(
    "nats://127.0.0.1:1/b?creds=/no/such/file.creds",
    { env: {}, retryBudgetMs: 5_000 },
  );
  try {
    const started = performance.now();
    await assert.rejects(client.listFiles(0), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.retryable, false);
      assert.match(
        error.message,
        /^NATS credentials file "\/no\/such\/file\.creds" for nats:\/\/127\.0\.0\.1:1\/b\?creds=\/no\/such\/file\.creds cannot be read/,
      );
      return true;
    });
    assert.ok(performance.now() - started < 1_000);
  } finally {
    client.close();
  }
});

Deno.test("NatsReplicaClient after close() refuses work", async () => {
  const client = new NatsReplicaClient("nats://127.0.0.1:1/b", { env: {} });
  client.close();
  client.close();
  await assert.rejects(client.listFiles(0), /NATS replica .* is closed/);
});

function natsError(name: string, message: string, extra = {}): Error {
  return Object.assign(new Error(message), { name }, extra);
}

Deno.test("classifyNatsError() tells final failures from transient ones", () => {
  const where = 'NATS list "ltx/" in bucket "b" (nats://h/b)';
  const cases: [Error, boolean, RegExp][] = [
    [
      natsError("AuthorizationError", "Authorization Violation"),
      false,
      /authorization failed \(Authorization Violation\); check the credentials/,
    ],
    [
      new Error("object store not found"),
      false,
      /no such object store bucket; create it first \("nats object store add b"\)/,
    ],
    [
      natsError("JetStreamNotEnabled", "jetstream is not enabled"),
      false,
      /JetStream is not enabled on the server/,
    ],
    [
      natsError(
        "PermissionViolationError",
        "Permissions Violation for Publish",
      ),
      false,
      /permission denied/,
    ],
    [
      natsError("ConnectionError", "connection refused"),
      true,
      /cannot connect to the NATS server \(connection refused\)/,
    ],
    [natsError("TimeoutError", "timeout"), true, /no answer within 5000 ms/],
    [
      natsError("JetStreamApiError", "insufficient resources", {
        code: 10023,
        status: 503,
      }),
      true,
      /JetStream API error 10023 \(insufficient resources\)/,
    ],
    [
      natsError("JetStreamApiError", "bad request", {
        code: 10003,
        status: 400,
      }),
      false,
      /JetStream API error 10003/,
    ],
    [
      natsError(
        "ConnectionError",
        "self-signed certificate in certificate chain",
      ),
      false,
      /TLS failed .*root-cas=/,
    ],
    [
      natsError("NoResponders", "no responders: '$JS.API.INFO'"),
      true,
      /no responders/,
    ],
    [natsError("Error", "something else"), false, /something else/],
  ];
  for (const [error, retryable, pattern] of cases) {
    const classified = classifyNatsError(where, error, 5000);
    assert.ok(classified instanceof StorageError);
    assert.equal(classified.retryable, retryable, classified.message);
    assert.ok(classified.message.startsWith(`${where}: `), classified.message);
    assert.match(classified.message, pattern);
    assert.equal(classified.cause, error);
  }
  const already = new StorageError("x", { retryable: true });
  assert.equal(classifyNatsError(where, already, 1), already);
});

Deno.test("NatsReplicaClient keeps up to 64 MiB of LTX files in memory by default", () => {
  assert.equal(DEFAULT_NATS_CACHE_BYTES, 64 * 1024 * 1024);
});
