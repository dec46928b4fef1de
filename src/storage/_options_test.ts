import assert from "node:assert/strict";
import {
  accessKeys,
  boolOption,
  checkWholeNumbers,
  endpointWithScheme,
  parseReplicaUrl,
  underPrefix,
  UPLOAD_NUMBER_OPTIONS,
  urlPath,
} from "./_options.ts";
import { ReplicaUrlError } from "./errors.ts";

const invalid = (problem: string) => new ReplicaUrlError(`URL: ${problem}`);

Deno.test("parseReplicaUrl() throws ReplicaUrlError without the password", () => {
  assert.equal(parseReplicaUrl("s3://b/db").hostname, "b");
  assert.throws(
    () => parseReplicaUrl("sftp://me:secret@ho st/db"),
    (error: unknown) => {
      assert.ok(error instanceof ReplicaUrlError);
      assert.equal(
        error.message,
        'Invalid replica URL "sftp://me:***@ho st/db"',
      );
      return true;
    },
  );
  assert.throws(() => parseReplicaUrl("x://a b", "shown"), /"shown"/);
});

Deno.test("urlPath() and underPrefix() make key prefixes", () => {
  assert.equal(urlPath(new URL("s3://b")), "");
  assert.equal(urlPath(new URL("s3://b/")), "");
  assert.equal(urlPath(new URL("s3://b//a%2Fb/c//")), "a/b/c");
  assert.equal(underPrefix("", "ltx/0/"), "ltx/0/");
  assert.equal(underPrefix("a/b", "ltx/0/"), "a/b/ltx/0/");
});

Deno.test("boolOption() reads Litestream's spellings under the first name set", () => {
  for (const v of ["1", "t", "TRUE", "yes", "On"]) {
    assert.equal(
      boolOption(new URLSearchParams({ a: v }), ["a"], invalid),
      true,
    );
  }
  for (const v of ["0", "f", "False", "NO", "off"]) {
    assert.equal(
      boolOption(new URLSearchParams({ a: v }), ["a"], invalid),
      false,
    );
  }
  const q = new URLSearchParams("a=&b=false&c=true");
  assert.equal(boolOption(q, ["a", "b", "c"], invalid), false);
  assert.equal(boolOption(q, ["x"], invalid), undefined);
  assert.throws(
    () => boolOption(new URLSearchParams("b=maybe"), ["a", "b"], invalid),
    (error: unknown) => {
      assert.ok(error instanceof ReplicaUrlError);
      assert.equal(
        error.message,
        'URL: "b" must be true or false, got "maybe"',
      );
      return true;
    },
  );
});

Deno.test("checkWholeNumbers() accepts digits only", () => {
  checkWholeNumbers(
    new URLSearchParams("concurrency=4&partSize=100"),
    UPLOAD_NUMBER_OPTIONS,
    invalid,
  );
  assert.throws(
    () =>
      checkWholeNumbers(
        new URLSearchParams("part-size=1.5"),
        UPLOAD_NUMBER_OPTIONS,
        invalid,
      ),
    /^ReplicaUrlError: URL: "part-size" must be a whole number, got "1.5"$/,
  );
});

Deno.test("endpointWithScheme() takes http for local and private hosts", () => {
  assert.equal(endpointWithScheme("localhost:9000"), "http://localhost:9000");
  assert.equal(endpointWithScheme("10.0.0.1"), "http://10.0.0.1");
  assert.equal(endpointWithScheme("172.20.0.1:80/"), "http://172.20.0.1:80");
  assert.equal(endpointWithScheme("172.32.0.1"), "https://172.32.0.1");
  assert.equal(endpointWithScheme("[::1]:9000"), "http://[::1]:9000");
  assert.equal(endpointWithScheme("s3.example.com"), "https://s3.example.com");
  assert.equal(endpointWithScheme("HTTP://h:1//"), "HTTP://h:1");
});

Deno.test("accessKeys() takes LITESTREAM_* keys when both are set, else the vendor's", () => {
  const vendor = { id: "V_ID", secret: "V_SECRET", token: "V_TOKEN" };
  assert.deepEqual(
    accessKeys({
      LITESTREAM_ACCESS_KEY_ID: "l",
      LITESTREAM_SECRET_ACCESS_KEY: "ls",
      V_ID: "v",
      V_SECRET: "vs",
      V_TOKEN: "vt",
    }, vendor),
    { id: "l", secret: "ls" },
  );
  assert.deepEqual(
    accessKeys(
      { LITESTREAM_ACCESS_KEY_ID: "l", V_ID: "v", V_SECRET: "vs" },
      vendor,
    ),
    { id: "v", secret: "vs" },
  );
  assert.deepEqual(
    accessKeys({ V_ID: "v", V_SECRET: "vs", V_TOKEN: "vt" }, vendor),
    { id: "v", secret: "vs", token: "vt" },
  );
  assert.equal(accessKeys({ V_ID: "v" }, vendor), undefined);
  assert.equal(accessKeys({}, vendor), undefined);
});
