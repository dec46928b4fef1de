import assert from "node:assert/strict";
import {
  ABS_VARIABLES,
  type AbsErrorContext,
  AbsReplicaClient,
  classifyAbsError,
  parseAbsUrl,
} from "./abs_client.ts";
import { ReplicaUrlError, StorageError } from "./errors.ts";

const KEY = "c2VjcmV0LWtleQ==";

Deno.test("parseAbsUrl() reads account, container and path as Litestream does", () => {
  const s = parseAbsUrl("abs://myaccount@my-container/some//db/", {});
  assert.equal(s.account, "myaccount");
  assert.equal(s.container, "my-container");
  assert.equal(s.path, "some/db");
  assert.equal(s.endpoint, "https://myaccount.blob.core.windows.net");
  assert.deepEqual(s.credential, { kind: "anonymous" });
  assert.equal(parseAbsUrl("abs://a@c", {}).path, "");
  assert.equal(parseAbsUrl("abs://a@c/", {}).path, "");
});

Deno.test("parseAbsUrl() takes the account from AZURE_STORAGE_ACCOUNT, the URL first", () => {
  const env = { AZURE_STORAGE_ACCOUNT: "fromenv" };
  assert.equal(parseAbsUrl("abs://c/db", env).account, "fromenv");
  assert.equal(
    parseAbsUrl("abs://c/db", env).endpoint,
    "https://fromenv.blob.core.windows.net",
  );
  assert.equal(parseAbsUrl("abs://url@c/db", env).account, "url");
});

Deno.test("parseAbsUrl() takes the endpoint option, and the account from an Azurite-style one", () => {
  const azurite = parseAbsUrl(
    "abs://c/db?endpoint=http://127.0.0.1:10000/devstoreaccount1",
    {},
  );
  assert.equal(azurite.account, "devstoreaccount1");
  assert.equal(azurite.endpoint, "http://127.0.0.1:10000/devstoreaccount1");
  // An IP-style endpoint without the account in its path gets it appended.
  const bare = parseAbsUrl("abs://acct@c/db?endpoint=127.0.0.1:10000/", {});
  assert.equal(bare.endpoint, "http://127.0.0.1:10000/acct");
  // A host-style endpoint keeps its path, and names the account.
  const host = parseAbsUrl(
    "abs://c/db?endpoint=https://acct2.blob.core.chinacloudapi.cn",
    {},
  );
  assert.equal(host.account, "acct2");
  assert.equal(host.endpoint, "https://acct2.blob.core.chinacloudapi.cn");
  assert.equal(
    parseAbsUrl("abs://a@c/db?endpoint=blob.example.net", {}).endpoint,
    "https://blob.example.net",
  );
});

Deno.test("parseAbsUrl() picks credentials: SAS token, then account key, as Litestream does", () => {
  const both = parseAbsUrl("abs://a@c/db", {
    LITESTREAM_AZURE_SAS_TOKEN: "?sv=2023&sig=abc",
    LITESTREAM_AZURE_ACCOUNT_KEY: KEY,
  });
  assert.deepEqual(both.credential, {
    kind: "sas",
    sasToken: "sv=2023&sig=abc",
    source: "LITESTREAM_AZURE_SAS_TOKEN",
  });
  assert.deepEqual(
    parseAbsUrl("abs://a@c/db", { LITESTREAM_AZURE_ACCOUNT_KEY: KEY })
      .credential,
    { kind: "key", accountKey: KEY, source: "LITESTREAM_AZURE_ACCOUNT_KEY" },
  );
  // Azure's own variables come after Litestream's and the connection string.
  assert.deepEqual(
    parseAbsUrl("abs://a@c/db", {
      AZURE_STORAGE_KEY: "other",
      LITESTREAM_AZURE_ACCOUNT_KEY: KEY,
    }).credential,
    { kind: "key", accountKey: KEY, source: "LITESTREAM_AZURE_ACCOUNT_KEY" },
  );
  assert.deepEqual(
    parseAbsUrl("abs://a@c/db", {
      AZURE_STORAGE_KEY: KEY,
      AZURE_STORAGE_SAS_TOKEN: "sig=x",
    }).credential,
    { kind: "sas", sasToken: "sig=x", source: "AZURE_STORAGE_SAS_TOKEN" },
  );
  assert.deepEqual(
    parseAbsUrl("abs://a@c/db", { AZURE_STORAGE_KEY: KEY }).credential,
    { kind: "key", accountKey: KEY, source: "AZURE_STORAGE_KEY" },
  );
});

Deno.test("parseAbsUrl() reads a connection string: account, key or SAS, endpoint", () => {
  const s = parseAbsUrl("abs://c/db", {
    AZURE_STORAGE_CONNECTION_STRING:
      `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;`,
    AZURE_STORAGE_ACCOUNT: "ignored",
    AZURE_STORAGE_KEY: "ignored",
  });
  assert.equal(s.account, "devstoreaccount1");
  assert.equal(s.endpoint, "http://127.0.0.1:10000/devstoreaccount1");
  assert.deepEqual(s.credential, {
    kind: "key",
    accountKey: KEY,
    source: "AZURE_STORAGE_CONNECTION_STRING",
  });
  const cloud = parseAbsUrl("abs://c/db", {
    AZURE_STORAGE_CONNECTION_STRING:
      "AccountName=acct;SharedAccessSignature=sv=1&sig=s;EndpointSuffix=core.usgovcloudapi.net",
  });
  assert.equal(cloud.endpoint, "https://acct.blob.core.usgovcloudapi.net");
  assert.deepEqual(cloud.credential, {
    kind: "sas",
    sasToken: "sv=1&sig=s",
    source: "AZURE_STORAGE_CONNECTION_STRING",
  });
  // The URL's account and endpoint win over the connection string's.
  const url = parseAbsUrl("abs://mine@c/db?endpoint=http://127.0.0.1:9/x", {
    AZURE_STORAGE_CONNECTION_STRING: `AccountName=acct;AccountKey=${KEY}`,
  });
  assert.deepEqual([url.account, url.endpoint], [
    "mine",
    "http://127.0.0.1:9/x",
  ]);
  // Litestream's variables win over the connection string.
  assert.equal(
    parseAbsUrl("abs://a@c/db", {
      AZURE_STORAGE_CONNECTION_STRING: `AccountName=acct;AccountKey=${KEY}`,
      LITESTREAM_AZURE_SAS_TOKEN: "sig=t",
    }).credential.kind,
    "sas",
  );
});

Deno.test("parseAbsUrl() rejects a missing container or account, naming the fix", () => {
  assert.throws(
    () => parseAbsUrl("abs:///db", {}),
    /has no container: write "abs:\/\/\[account@\]container\/path"/,
  );
  assert.throws(
    () => parseAbsUrl("abs://c/db", {}),
    (e: unknown) =>
      e instanceof ReplicaUrlError &&
      /names no storage account/.test(e.message) &&
      /AZURE_STORAGE_ACCOUNT/.test(e.message),
  );
  assert.throws(
    () =>
      parseAbsUrl("abs://c/db?endpoint=https://blob.example.net", {
        LITESTREAM_AZURE_ACCOUNT_KEY: KEY,
      }),
    /needs the account name/,
  );
  assert.throws(
    () => parseAbsUrl("abs://a@c/db?endpoint=ftp://127.0.0.1:21/a", {}),
    /endpoint "ftp:\/\/127\.0\.0\.1:21\/a" is not an http\(s\) URL/,
  );
  assert.throws(
    () => parseAbsUrl("abs://a@c/db?endpoint=http://[bad", {}),
    ReplicaUrlError,
  );
  assert.throws(
    () =>
      parseAbsUrl("abs://a@c/db", {
        AZURE_STORAGE_CONNECTION_STRING: "garbage",
      }),
    /AZURE_STORAGE_CONNECTION_STRING is malformed/,
  );
  assert.throws(
    () =>
      parseAbsUrl("abs://a@c/db", {
        AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true",
      }),
    /UseDevelopmentStorage=true" is not supported/,
  );
});

Deno.test("parseAbsUrl() errors never show a credential", () => {
  try {
    parseAbsUrl("abs://c/db?endpoint=https://blob.example.net", {
      LITESTREAM_AZURE_ACCOUNT_KEY: KEY,
    });
    assert.fail("no error");
  } catch (error) {
    assert.doesNotMatch(String(error), new RegExp(KEY));
  }
});

Deno.test("ABS_VARIABLES names every variable parseAbsUrl() reads", () => {
  const read = new Set<string>();
  const env = new Proxy({}, {
    get(_, name) {
      read.add(String(name));
      return undefined;
    },
  });
  parseAbsUrl("abs://a@c/db", env);
  for (const name of read) assert.ok(ABS_VARIABLES.includes(name), name);
  assert.ok(read.has("LITESTREAM_AZURE_SAS_TOKEN"));
});

function context(overrides: Partial<AbsErrorContext> = {}): AbsErrorContext {
  return {
    what: 'read "db/ltx/0/0000000000000001-0000000000000001.ltx"',
    container: "replicas",
    account: "acct",
    url: "abs://acct@replicas/db",
    credential: {
      kind: "key",
      accountKey: KEY,
      source: "LITESTREAM_AZURE_ACCOUNT_KEY",
    },
    requestTimeoutMs: 5000,
    ...overrides,
  };
}

function restError(statusCode: number | undefined, code: string) {
  return Object.assign(new Error(`server said ${code}`), {
    name: "RestError",
    statusCode,
    code,
  });
}

Deno.test("classifyAbsError() names Azure, the object, the URL, and says what to do", () => {
  const refused = classifyAbsError(
    restError(403, "AuthorizationFailure"),
    context(),
  );
  assert.equal(refused.retryable, false);
  assert.match(
    refused.message,
    /^Azure read "db\/ltx\/0\/0000000000000001-0000000000000001\.ltx" in container "replicas" of account "acct" \(abs:\/\/acct@replicas\/db\): Azure refused the credentials \(HTTP 403 AuthorizationFailure\); check LITESTREAM_AZURE_ACCOUNT_KEY and the account name$/,
  );
  assert.doesNotMatch(refused.message, new RegExp(KEY));
  const sas = classifyAbsError(
    restError(403, "AuthorizationPermissionMismatch"),
    context({
      credential: {
        kind: "sas",
        sasToken: "sig=zzz",
        source: "LITESTREAM_AZURE_SAS_TOKEN",
      },
    }),
  );
  assert.match(
    sas.message,
    /check LITESTREAM_AZURE_SAS_TOKEN \(its permissions/,
  );
  assert.doesNotMatch(sas.message, /zzz/);
  const anonymous = classifyAbsError(
    restError(401, "NoAuthenticationInformation"),
    context({ credential: { kind: "anonymous" } }),
  );
  assert.match(anonymous.message, /no credentials were given/);
  const missing = classifyAbsError(
    restError(404, "ContainerNotFound"),
    context({ what: 'list "db/ltx/0/"' }),
  );
  assert.equal(missing.retryable, false);
  assert.match(missing.message, /^Azure list .*: no such container "replicas"/);
});

Deno.test("classifyAbsError() retries what may pass, and not what will not", () => {
  const cases: [unknown, boolean, RegExp][] = [
    [restError(503, "ServerBusy"), true, /HTTP 503 ServerBusy/],
    [restError(500, "InternalError"), true, /HTTP 500/],
    [restError(429, ""), true, /HTTP 429/],
    [restError(undefined, "ECONNREFUSED"), true, /ECONNREFUSED/],
    [restError(undefined, "ECONNRESET"), true, /ECONNRESET/],
    [
      Object.assign(new Error("The operation was aborted."), {
        name: "AbortError",
      }),
      true,
      /no answer within 5000 ms/,
    ],
    // A blob that vanished: compaction; tried again, as on file://.
    [restError(404, "BlobNotFound"), true, /not found \(deleted by compaction/],
    [
      restError(400, "InvalidHeaderValue"),
      false,
      /HTTP 400 InvalidHeaderValue/,
    ],
    [restError(undefined, "ENOTFOUND"), false, /does not resolve/],
  ];
  for (const [error, retryable, message] of cases) {
    const classified = classifyAbsError(error, context());
    assert.ok(classified instanceof StorageError);
    assert.equal(classified.retryable, retryable, classified.message);
    assert.match(classified.message, message);
    assert.match(classified.message, /^Azure /);
    assert.equal(classified.cause, error);
  }
});

Deno.test("classifyAbsError() cuts URLs and signatures out of SDK messages", () => {
  const e = classifyAbsError(
    new Error(
      "connect failed for https://a.blob.core.windows.net/c?sv=1&sig=SECRET and sig=OTHER",
    ),
    context(),
  );
  assert.doesNotMatch(e.message, /SECRET|OTHER/);
  assert.match(e.message, /<url>/);
});

Deno.test("AbsReplicaClient redacts its URL and rejects a bad one", () => {
  const client = new AbsReplicaClient(
    "abs://a@c/db?endpoint=http://127.0.0.1:1/a&sas=secret",
    { env: { LITESTREAM_AZURE_ACCOUNT_KEY: KEY } },
  );
  assert.doesNotMatch(client.url, /secret/);
  assert.equal(client.settings.container, "c");
  client.close();
  assert.throws(
    () => new AbsReplicaClient("abs://c/db", { env: {} }),
    ReplicaUrlError,
  );
});

Deno.test("AbsReplicaClient retries a refused connection, within its bound", async () => {
  // A port nobody listens on: every attempt is refused at once.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const client = new AbsReplicaClient(
    `abs://a@c/db?endpoint=http://127.0.0.1:${port}/a`,
    { env: { LITESTREAM_AZURE_ACCOUNT_KEY: KEY }, retryBudgetMs: 300 },
  );
  const started = performance.now();
  await assert.rejects(client.listFiles(0), (error: unknown) => {
    assert.ok(error instanceof StorageError, String(error));
    assert.equal(error.retryable, true, error.message);
    assert.match(error.message, /^Azure list "db\/ltx\/0\/"/);
    assert.match(error.message, /gave up after \d+ attempts/);
    assert.doesNotMatch(error.message, new RegExp(KEY));
    return true;
  });
  const ms = performance.now() - started;
  assert.ok(ms < 1_500, `took ${ms} ms`);
});
