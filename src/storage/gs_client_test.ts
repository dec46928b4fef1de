import assert from "node:assert/strict";
import {
  GCS_TIMESTAMP_METADATA_KEY,
  GcsReplicaClient,
  objectTime,
  parseGcsUrl,
} from "./gs_client.ts";
import { FileExistsError, ReplicaUrlError, StorageError } from "./errors.ts";

Deno.test("parseGcsUrl() reads bucket and path, for Google's own address", () => {
  const s = parseGcsUrl("gs://my-bucket/some/db/", {});
  assert.deepEqual(s, {
    bucket: "my-bucket",
    path: "some/db",
    authenticated: true,
  });
  assert.equal(parseGcsUrl("gs://b", {}).path, "");
  assert.equal(parseGcsUrl("gs://b/", {}).path, "");
});

Deno.test("parseGcsUrl() takes STORAGE_EMULATOR_HOST as Google's SDKs do: no credentials", () => {
  for (
    const host of ["127.0.0.1:9199", "http://127.0.0.1:9199", "127.0.0.1:9199/"]
  ) {
    const s = parseGcsUrl("gs://b/db", { STORAGE_EMULATOR_HOST: host });
    assert.equal(s.endpoint, "http://127.0.0.1:9199", host);
    assert.equal(s.authenticated, false, host);
  }
  assert.equal(
    parseGcsUrl("gs://b/db", { STORAGE_EMULATOR_HOST: "https://emu:1" })
      .endpoint,
    "https://emu:1",
  );
});

Deno.test("parseGcsUrl() takes an endpoint option, with credentials, over the emulator host", () => {
  const s = parseGcsUrl(
    "gs://b/db?endpoint=https://storage-psc.p.googleapis.com",
    {
      STORAGE_EMULATOR_HOST: "127.0.0.1:9199",
      GOOGLE_APPLICATION_CREDENTIALS: "/keys/sa.json",
    },
  );
  assert.equal(s.endpoint, "https://storage-psc.p.googleapis.com");
  assert.equal(s.authenticated, true);
  assert.equal(s.credentialsFile, "/keys/sa.json");
  assert.equal(
    parseGcsUrl("gs://b/db?endpoint=127.0.0.1:1", {}).endpoint,
    "http://127.0.0.1:1",
  );
});

Deno.test("parseGcsUrl() rejects a missing bucket or a bad endpoint, naming the fix", () => {
  assert.throws(
    () => parseGcsUrl("gs:///db", {}),
    (error: unknown) => {
      assert.ok(error instanceof ReplicaUrlError);
      assert.match(error.message, /has no bucket: write "gs:\/\/bucket\/path"/);
      return true;
    },
  );
  assert.throws(
    () => parseGcsUrl("gs://b:9000/db", {}),
    /STORAGE_EMULATOR_HOST/,
  );
  assert.throws(
    () => parseGcsUrl("gs://b/db?endpoint=http://h:1/storage/v1", {}),
    /endpoint must be "host:port" or "http\(s\):\/\/host:port", got "http:\/\/h:1\/storage\/v1"/,
  );
  assert.throws(
    () => parseGcsUrl("gs://b/db", { STORAGE_EMULATOR_HOST: "h:1/x" }),
    /STORAGE_EMULATOR_HOST must be/,
  );
  assert.throws(() => parseGcsUrl("s3://b/db", {}), /not a GCS URL/);
  assert.throws(() => parseGcsUrl("not a url", {}), ReplicaUrlError);
});

Deno.test("objectTime() takes Litestream's metadata, else the object's creation time", () => {
  const created = "2025-01-02T03:04:05.678Z";
  assert.equal(objectTime({ timeCreated: created }), Date.parse(created));
  assert.equal(
    objectTime({
      timeCreated: created,
      metadata: { [GCS_TIMESTAMP_METADATA_KEY]: "2024-12-31T23:59:59.5Z" },
    }),
    Date.UTC(2024, 11, 31, 23, 59, 59, 500),
  );
  // Go's RFC3339Nano, with an offset.
  assert.equal(
    objectTime({
      metadata: {
        [GCS_TIMESTAMP_METADATA_KEY]: "2024-06-01T12:00:00.123456789+02:00",
      },
    }),
    Date.UTC(2024, 5, 1, 10, 0, 0, 123),
  );
  assert.equal(
    objectTime({
      timeCreated: created,
      metadata: { [GCS_TIMESTAMP_METADATA_KEY]: "yesterday" },
    }),
    Date.parse(created),
  );
  assert.equal(objectTime({}), 0);
});

/** A fake JSON API answering every request with `answer`; counts requests. */
function fakeServer(answer: (request: Request) => Response) {
  let hits = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      hits++;
      return answer(request);
    },
  );
  const client = new GcsReplicaClient("gs://bkt/db", {
    retryBudgetMs: 400,
    env: { STORAGE_EMULATOR_HOST: `127.0.0.1:${server.addr.port}` },
  });
  return {
    client,
    hits: () => hits,
    async [Symbol.asyncDispose]() {
      client.close();
      await server.shutdown();
    },
  };
}

function googleError(status: number, message: string): Response {
  return Response.json({ error: { code: status, message } }, { status });
}

const FILE = { level: 0, minTxid: 1n, maxTxid: 1n, size: 10, createdAt: 0 };

Deno.test("GcsReplicaClient retries 5xx and 429 within its budget, then says so", async () => {
  for (const status of [500, 503, 429]) {
    await using fake = fakeServer(() => googleError(status, "Backend Error"));
    const started = performance.now();
    await assert.rejects(fake.client.listFiles(0), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.retryable, true);
      assert.match(
        error.message,
        new RegExp(
          `^GCS list "db/ltx/0/" in bucket "bkt" \\(gs://bkt/db\\): HTTP ${status} Backend Error \\(gave up after \\d+ attempts`,
        ),
      );
      return true;
    });
    assert.ok(performance.now() - started < 1_500);
    assert.ok(fake.hits() > 1, `${status}: ${fake.hits()} attempts`);
  }
});

Deno.test("GcsReplicaClient does not retry auth and bucket errors, and says what to do", async () => {
  const cases = [
    [
      401,
      "Invalid Credentials",
      /not authenticated \(HTTP 401\); set GOOGLE_APPLICATION_CREDENTIALS/,
    ],
    [403, "Forbidden", /access denied \(HTTP 403\); the service account needs/],
    [
      404,
      "The specified bucket does not exist.",
      /no such bucket "bkt"; check the bucket name and the endpoint/,
    ],
  ] as const;
  for (const [status, message, expected] of cases) {
    await using fake = fakeServer(() => googleError(status, message));
    await assert.rejects(fake.client.listFiles(0), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.retryable, false, error.message);
      assert.match(error.message, /^GCS list /);
      assert.match(error.message, expected);
      return true;
    });
    assert.equal(fake.hits(), 1, `${status}`);
  }
});

Deno.test("GcsReplicaClient.readRange() sends an explicit range; a vanished object is retryable", async () => {
  const ranges: (string | null)[] = [];
  {
    await using fake = fakeServer((request) => {
      ranges.push(request.headers.get("range"));
      return new Response(new Uint8Array([1, 2, 3]), { status: 206 });
    });
    assert.deepEqual(
      await fake.client.readRange(FILE, 4, 3),
      new Uint8Array([1, 2, 3]),
    );
    assert.deepEqual(ranges, ["bytes=4-6"]);
  }
  await using gone = fakeServer(() => googleError(404, "No such object"));
  await assert.rejects(gone.client.readRange(FILE, 0, 3), (error: unknown) => {
    assert.ok(error instanceof StorageError);
    assert.equal(error.retryable, true);
    assert.match(
      error.message,
      /^GCS read "db\/ltx\/0\/0000000000000001-0000000000000001\.ltx" in bucket "bkt" \(gs:\/\/bkt\/db\): not found/,
    );
    return true;
  });
});

Deno.test("GcsReplicaClient.createFile() uploads create-only; a 412 over other bytes is FileExistsError", async () => {
  const uploads: URL[] = [];
  await using fake = fakeServer((request) => {
    const url = new URL(request.url);
    if (request.method === "POST") {
      uploads.push(url);
      return googleError(412, "conditionNotMet");
    }
    return new Response(new Uint8Array([9, 9, 9]), { status: 206 });
  });
  await assert.rejects(
    fake.client.createFile(FILE, new Uint8Array([1, 2, 3])),
    (error: unknown) => {
      assert.ok(error instanceof FileExistsError, String(error));
      assert.match(error.message, /^GCS object ".*" in bucket "bkt" exists/);
      return true;
    },
  );
  assert.equal(uploads.length, 1);
  assert.equal(uploads[0].pathname, "/upload/storage/v1/b/bkt/o");
  assert.equal(uploads[0].searchParams.get("ifGenerationMatch"), "0");
  assert.equal(uploads[0].searchParams.get("uploadType"), "multipart");
  // The same bytes there: the write counts as done (a retried first try).
  await fake.client.createFile(FILE, new Uint8Array([9, 9, 9]));
});
