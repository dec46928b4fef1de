import assert from "node:assert/strict";
import signUtils from "ali-oss/lib/common/signUtils.js";
import {
  classifyOssError,
  DEFAULT_OSS_REGION,
  OssReplicaClient,
  parseOssUrl,
} from "./oss_client.ts";
import { ReplicaUrlError, StorageError } from "./errors.ts";

const KEYS = { OSS_ACCESS_KEY_ID: "id", OSS_ACCESS_KEY_SECRET: "secret" };

Deno.test("parseOssUrl() reads bucket and path, with Litestream's defaults", () => {
  const s = parseOssUrl("oss://my-bucket/some/db/", {});
  assert.equal(s.bucket, "my-bucket");
  assert.equal(s.path, "some/db");
  assert.equal(s.region, DEFAULT_OSS_REGION);
  assert.equal(s.endpoint, "https://oss-cn-hangzhou.aliyuncs.com");
  assert.equal(s.pathStyle, false);
  assert.equal(s.credentials, undefined);
  assert.equal(parseOssUrl("oss://bkt", {}).path, "");
});

Deno.test("parseOssUrl() reads bucket and region from an OSS host, internal too", () => {
  const pub = parseOssUrl("oss://bkt.oss-cn-shanghai.aliyuncs.com/db", {});
  assert.deepEqual(
    [pub.bucket, pub.region, pub.endpoint],
    ["bkt", "cn-shanghai", "https://oss-cn-shanghai.aliyuncs.com"],
  );
  const internal = parseOssUrl(
    "oss://bkt.oss-cn-hangzhou-internal.aliyuncs.com/db",
    {},
  );
  assert.deepEqual(
    [internal.bucket, internal.region, internal.endpoint],
    ["bkt", "cn-hangzhou", "https://oss-cn-hangzhou-internal.aliyuncs.com"],
  );
});

Deno.test("parseOssUrl() takes the region and endpoint query parameters", () => {
  const named = parseOssUrl(
    "oss://bkt/db?endpoint=oss-ap-southeast-1.aliyuncs.com",
    {},
  );
  assert.equal(named.endpoint, "https://oss-ap-southeast-1.aliyuncs.com");
  assert.equal(named.region, "ap-southeast-1", "the endpoint names the region");
  assert.equal(
    parseOssUrl("oss://bkt/db?region=oss-eu-central-1", {}).endpoint,
    "https://oss-eu-central-1.aliyuncs.com",
  );
  const local = parseOssUrl(
    "oss://bkt/db?endpoint=127.0.0.1:9000&region=us-west-1",
    {},
  );
  assert.equal(local.endpoint, "http://127.0.0.1:9000");
  assert.equal(local.region, "us-west-1");
  assert.equal(local.pathStyle, true, "an IP endpoint has no bucket hosts");
  assert.equal(
    parseOssUrl("oss://bkt/db?endpoint=http://localhost:1", {}).pathStyle,
    true,
  );
  assert.equal(
    parseOssUrl("oss://bkt/db?endpoint=https://oss.example.net", {})
      .pathStyle,
    false,
  );
  // Upload-only parameters are accepted.
  parseOssUrl("oss://bkt/db?concurrency=4&partSize=5242880", {});
});

Deno.test("parseOssUrl() rejects a missing or bad bucket and bad options, naming the fix", () => {
  assert.throws(() => parseOssUrl("oss:///db", {}), ReplicaUrlError);
  assert.throws(
    () => parseOssUrl("oss://oss-cn-hangzhou.aliyuncs.com/db", {}),
    /has no bucket: write "oss:\/\/bucket\/path"/,
  );
  assert.throws(
    () => parseOssUrl("oss://Bad_Bucket/db", {}),
    /"Bad_Bucket" is not an OSS bucket name/,
  );
  assert.throws(
    () => parseOssUrl("oss://bkt/db?region=cn hangzhou", {}),
    /is not an OSS region/,
  );
  assert.throws(
    () => parseOssUrl("oss://bkt/db?concurrency=lots", {}),
    /"concurrency" must be a whole number/,
  );
});

Deno.test("parseOssUrl() takes keys from LITESTREAM_* first, else OSS_*", () => {
  const url = "oss://bkt/db";
  assert.deepEqual(
    parseOssUrl(url, {
      OSS_ACCESS_KEY_ID: "oss-id",
      OSS_ACCESS_KEY_SECRET: "oss-secret",
      OSS_SESSION_TOKEN: "oss-token",
    }).credentials,
    {
      accessKeyId: "oss-id",
      accessKeySecret: "oss-secret",
      securityToken: "oss-token",
    },
  );
  assert.deepEqual(
    parseOssUrl(url, {
      LITESTREAM_ACCESS_KEY_ID: "ls-id",
      LITESTREAM_SECRET_ACCESS_KEY: "ls-secret",
      OSS_ACCESS_KEY_ID: "oss-id",
      OSS_ACCESS_KEY_SECRET: "oss-secret",
      OSS_SESSION_TOKEN: "oss-token",
    }).credentials,
    { accessKeyId: "ls-id", accessKeySecret: "ls-secret" },
  );
  // Half a pair is no pair.
  assert.equal(
    parseOssUrl(url, { OSS_ACCESS_KEY_ID: "oss-id" }).credentials,
    undefined,
  );
});

Deno.test("OssReplicaClient refuses to start without credentials, naming the variables", () => {
  assert.throws(
    () => new OssReplicaClient("oss://bkt/db", { env: {} }),
    (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.match(
        error.message,
        /^OSS replica "oss:\/\/bkt\/db": no credentials/,
      );
      assert.match(
        error.message,
        /OSS_ACCESS_KEY_ID and OSS_ACCESS_KEY_SECRET/,
      );
      return true;
    },
  );
  const client = new OssReplicaClient("oss://bkt/db", { env: KEYS });
  assert.equal(client.url, "oss://bkt/db");
  client.close();
});

// The documented example of "Include signatures in the Authorization header"
// (Alibaba Cloud OSS, V1 signature), https://help.aliyun.com/document_detail/31951.html,
// https://www.alibabacloud.com/help/en/oss/developer-reference/include-signatures-in-the-authorization-header:
// a PUT of object "nelson" in bucket "oss-example" signed with AccessKeyId
// 44CF9590006BF252F707 and AccessKeySecret
// OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV has the signature
// 26NBxoKdsyly4EDv6inkoDft/yA=.
const DOC_EXAMPLE = {
  accessKeyId: "44CF9590006BF252F707",
  accessKeySecret: "OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV",
  date: "Thu, 17 Nov 2005 18:49:58 GMT",
  headers: {
    "Content-Md5": "ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=",
    "Content-Type": "text/html",
    "X-OSS-Meta-Author": "foo@bar.com",
    "X-OSS-Magic": "abracadabra",
  },
  stringToSign: "PUT\n" +
    "ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=\n" +
    "text/html\n" +
    "Thu, 17 Nov 2005 18:49:58 GMT\n" +
    "x-oss-magic:abracadabra\n" +
    "x-oss-meta-author:foo@bar.com\n" +
    "/oss-example/nelson",
  authorization: "OSS 44CF9590006BF252F707:26NBxoKdsyly4EDv6inkoDft/yA=",
};

Deno.test("ali-oss signs Alibaba's documented V1 example exactly", () => {
  // The SDK's own signing code, as its client calls it for every request.
  const stringToSign = signUtils.buildCanonicalString(
    "PUT",
    "/oss-example/nelson",
    { headers: DOC_EXAMPLE.headers },
    DOC_EXAMPLE.date,
  );
  assert.equal(stringToSign, DOC_EXAMPLE.stringToSign);
  assert.equal(
    signUtils.authorization(
      DOC_EXAMPLE.accessKeyId,
      DOC_EXAMPLE.accessKeySecret,
      stringToSign,
    ),
    DOC_EXAMPLE.authorization,
  );
  // One byte off, another signature: the check can fail.
  assert.notEqual(
    signUtils.computeSignature(
      DOC_EXAMPLE.accessKeySecret,
      stringToSign.replace("nelson", "nelsoN"),
    ),
    "26NBxoKdsyly4EDv6inkoDft/yA=",
  );
});

Deno.test("classifyOssError() tells transient failures from permanent ones", () => {
  const where = 'OSS read "db/0000/x.ltx" in bucket "bkt" (oss://bkt/db)';
  const cases: [unknown, boolean, RegExp][] = [
    [{ status: 500, code: "InternalError" }, true, /HTTP 500 InternalError/],
    [{ status: 503 }, true, /HTTP 503/],
    [{ status: 429, code: "TooManyRequests" }, true, /HTTP 429/],
    [
      { name: "ConnectionTimeoutError", status: -2, message: "x" },
      true,
      /no answer within 250 ms/,
    ],
    [
      {
        name: "RequestError",
        status: -1,
        message:
          "connect ECONNREFUSED 127.0.0.1:1, GET http://127.0.0.1:1/bkt/?x -1 (connected: false)\nheaders: {}",
      },
      true,
      /: RequestError: connect ECONNREFUSED 127\.0\.0\.1:1$/,
    ],
    [{ status: 404, code: "NoSuchKey" }, true, /not found/],
    [{ status: 404, code: "NoSuchBucket" }, false, /no such bucket/],
    [
      { status: 403, code: "SignatureDoesNotMatch" },
      false,
      /access denied \(SignatureDoesNotMatch\); check the credentials \(OSS_ACCESS_KEY_ID/,
    ],
    [{ status: 403, code: "InvalidAccessKeyId" }, false, /access denied/],
    [
      { status: 403, code: "RequestTimeTooSkewed" },
      false,
      /clock is more than 15 minutes off/,
    ],
    [
      {
        status: 403,
        code: "AccessDenied",
        message:
          "The bucket you are attempting to access must be addressed using the specified endpoint.",
      },
      false,
      /in another region; set region= or endpoint=/,
    ],
    [{ status: 416, code: "InvalidRange" }, false, /HTTP 416 InvalidRange/],
    [{ status: 409, code: "FileAlreadyExists" }, false, /HTTP 409/],
  ];
  for (const [error, retryable, message] of cases) {
    const e = classifyOssError(where, error, 250);
    assert.ok(e instanceof StorageError);
    assert.equal(
      e.retryable,
      retryable,
      `${JSON.stringify(error)}: ${e.message}`,
    );
    assert.match(e.message, message);
    assert.ok(e.message.startsWith(where), e.message);
    assert.equal(e.cause, error);
    assert.doesNotMatch(e.message, /http:\/\//);
  }
  const own = new StorageError("Short read", { retryable: false });
  assert.equal(classifyOssError(where, own, 250), own);
});
