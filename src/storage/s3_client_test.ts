import assert from "node:assert/strict";
import { DEFAULT_S3_REGION, parseS3Url } from "./s3_client.ts";
import { ReplicaUrlError } from "./errors.ts";
import { openSyncReplicaClient, redactUrl } from "./replica_url.ts";

Deno.test("parseS3Url() reads bucket and path, with AWS defaults", () => {
  const s = parseS3Url("s3://my-bucket/some/db/", {});
  assert.equal(s.bucket, "my-bucket");
  assert.equal(s.path, "some/db");
  assert.equal(s.region, DEFAULT_S3_REGION);
  assert.equal(s.endpoint, undefined);
  assert.equal(s.forcePathStyle, false);
  assert.equal(s.skipVerify, false);
  assert.equal(s.credentials, undefined);
  assert.equal(parseS3Url("s3://b", {}).path, "");
});

Deno.test("parseS3Url() takes Litestream's query parameters", () => {
  const s = parseS3Url(
    "s3://b/db?endpoint=http://127.0.0.1:9000&region=eu-west-3&skipVerify=true",
    {},
  );
  assert.equal(s.endpoint, "http://127.0.0.1:9000");
  assert.equal(s.region, "eu-west-3");
  assert.equal(s.forcePathStyle, true, "an endpoint implies path style");
  assert.equal(s.skipVerify, true);
  const off = parseS3Url(
    "s3://b/db?endpoint=s3.example.net&force-path-style=false&skip-verify=0",
    {},
  );
  assert.equal(off.endpoint, "https://s3.example.net");
  assert.equal(off.forcePathStyle, false);
  assert.equal(off.skipVerify, false);
  assert.equal(
    parseS3Url("s3://b/db?endpoint=localhost:9000", {}).endpoint,
    "http://localhost:9000",
  );
  // Upload-only parameters are accepted.
  parseS3Url(
    "s3://b/db?concurrency=4&partSize=5242880&storageClass=GLACIER",
    {},
  );
});

Deno.test("parseS3Url() reads bucket, region and endpoint from the host", () => {
  const aws = parseS3Url("s3://bkt.s3.us-west-2.amazonaws.com/db", {});
  assert.deepEqual([aws.bucket, aws.region], ["bkt", "us-west-2"]);
  const minio = parseS3Url("s3://bkt.minio.local:9000/db", {});
  assert.deepEqual(
    [minio.bucket, minio.endpoint, minio.forcePathStyle],
    ["bkt", "http://minio.local:9000", true],
  );
});

Deno.test("parseS3Url() reads the environment", () => {
  const s = parseS3Url("s3://b/db", {
    AWS_REGION: "ap-south-1",
    LITESTREAM_S3_ENDPOINT: "127.0.0.1:9000",
    LITESTREAM_ACCESS_KEY_ID: "AKID",
    LITESTREAM_SECRET_ACCESS_KEY: "SECRET",
  });
  assert.equal(s.region, "ap-south-1");
  assert.equal(s.endpoint, "http://127.0.0.1:9000");
  assert.equal(s.forcePathStyle, true);
  assert.deepEqual(s.credentials, {
    accessKeyId: "AKID",
    secretAccessKey: "SECRET",
  });
  const url = parseS3Url("s3://b/db?endpoint=http://h:1&region=r", {
    AWS_REGION: "x",
    LITESTREAM_S3_ENDPOINT: "http://other:2",
  });
  assert.deepEqual([url.endpoint, url.region], ["http://h:1", "r"]);
});

Deno.test("parseS3Url() rejects a missing bucket or a bad option, naming the fix", () => {
  assert.throws(() => parseS3Url("s3:///db", {}), ReplicaUrlError);
  assert.throws(
    () => parseS3Url("s3://b/db?forcePathStyle=maybe", {}),
    /"forcePathStyle" must be true or false, got "maybe"/,
  );
  assert.throws(
    () => parseS3Url("s3://b/db?concurrency=lots", {}),
    /"concurrency" must be a whole number/,
  );
});

Deno.test("openSyncReplicaClient() refuses unknown schemes, listing the known ones", () => {
  assert.throws(
    () => openSyncReplicaClient("ftp://b/db"),
    /unknown scheme "ftp": use one of file:\/\/, s3:\/\/, gs:\/\//,
  );
  assert.equal(
    redactUrl("s3://b/db?endpoint=http://h:1&sseCustomerKey=abc"),
    "s3://b/db?endpoint=http%3A%2F%2Fh%3A1&sseCustomerKey=***",
  );
});

Deno.test("parseS3Url() takes keys from LITESTREAM_* first, else AWS_*", () => {
  const url = "s3://b/db";
  assert.deepEqual(
    parseS3Url(url, {
      AWS_ACCESS_KEY_ID: "aws-id",
      AWS_SECRET_ACCESS_KEY: "aws-secret",
      AWS_SESSION_TOKEN: "aws-token",
    }).credentials,
    {
      accessKeyId: "aws-id",
      secretAccessKey: "aws-secret",
      sessionToken: "aws-token",
    },
  );
  assert.deepEqual(
    parseS3Url(url, {
      LITESTREAM_ACCESS_KEY_ID: "ls-id",
      LITESTREAM_SECRET_ACCESS_KEY: "ls-secret",
      AWS_ACCESS_KEY_ID: "aws-id",
      AWS_SECRET_ACCESS_KEY: "aws-secret",
      AWS_SESSION_TOKEN: "aws-token",
    }).credentials,
    { accessKeyId: "ls-id", secretAccessKey: "ls-secret" },
  );
  // No keys: the SDK's default chain (profiles, instance metadata).
  assert.equal(parseS3Url(url, {}).credentials, undefined);
});
