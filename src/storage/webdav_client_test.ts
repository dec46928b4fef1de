import assert from "node:assert/strict";
import { ReplicaUrlError, StorageError } from "./errors.ts";
import { parseWebDavUrl, WebDavReplicaClient } from "./webdav_client.ts";

const FILE = {
  level: 0,
  minTxid: 1n,
  maxTxid: 1n,
  size: 100,
  createdAt: 0,
};

/** A fake WebDAV server on 127.0.0.1, for what a real one will not do. */
function serve(
  handler: (request: Request) => Response | Promise<Response>,
): Deno.HttpServer<Deno.NetAddr> & AsyncDisposable {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    handler,
  );
  return Object.assign(server, {
    [Symbol.asyncDispose]: () => server.shutdown(),
  });
}

function multistatus(...responses: string[]): Response {
  return new Response(
    `<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:">${
      responses.join("")
    }</D:multistatus>`,
    { status: 207, headers: { "Content-Type": "application/xml" } },
  );
}

function entry(href: string, size?: number): string {
  const type = size === undefined ? "<D:collection/>" : "";
  const length = size === undefined
    ? ""
    : `<D:getcontentlength>${size}</D:getcontentlength>`;
  return `<D:response><D:href>${href}</D:href><D:propstat><D:prop>` +
    `<D:resourcetype>${type}</D:resourcetype>${length}` +
    "<D:getlastmodified>Thu, 03 Dec 2026 18:51:54 GMT</D:getlastmodified>" +
    "</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>";
}

Deno.test("parseWebDavUrl() maps webdav to http and webdavs to https, with the path decoded", () => {
  assert.deepEqual(parseWebDavUrl("webdav://127.0.0.1:8080/a%20b/db/", {}), {
    endpoint: "http://127.0.0.1:8080",
    path: "a b/db",
  });
  assert.equal(
    parseWebDavUrl("webdavs://dav.example/db", {}).endpoint,
    "https://dav.example",
  );
  assert.equal(parseWebDavUrl("webdav://h", {}).path, "");
});

Deno.test("parseWebDavUrl() takes credentials from the URL, else from LITESTREAM_WEBDAV_*", () => {
  const env = {
    LITESTREAM_WEBDAV_USERNAME: "env-user",
    LITESTREAM_WEBDAV_PASSWORD: "env-pw",
  };
  const fromUrl = parseWebDavUrl("webdav://me:p%40ss@h/db", env);
  assert.equal(fromUrl.username, "me");
  assert.equal(fromUrl.password, "p@ss");
  const fromEnv = parseWebDavUrl("webdav://h/db", env);
  assert.equal(fromEnv.username, "env-user");
  assert.equal(fromEnv.password, "env-pw");
  const none = parseWebDavUrl("webdav://h/db", {});
  assert.equal(none.username, undefined);
  assert.equal(none.password, undefined);
});

Deno.test("parseWebDavUrl() rejects a URL without host or of another scheme", () => {
  assert.throws(() => parseWebDavUrl("webdav:///db", {}), ReplicaUrlError);
  assert.throws(
    () => parseWebDavUrl("https://h/db", {}),
    /is not a WebDAV URL/,
  );
  assert.throws(() => parseWebDavUrl("webdav://[bad", {}), ReplicaUrlError);
});

Deno.test("WebDavReplicaClient.url never shows the password", () => {
  const client = new WebDavReplicaClient("webdav://me:secret@h:1/db", {
    env: {},
  });
  assert.equal(client.url, "webdav://me:***@h:1/db");
  client.close();
});

Deno.test("WebDavReplicaClient sends no credentials before the server asks, then the scheme it asks for", async () => {
  const seen: (string | null)[] = [];
  const good = `Basic ${btoa("me:pw")}`;
  await using server = serve((request) => {
    seen.push(request.headers.get("authorization"));
    if (request.headers.get("authorization") !== good) {
      return new Response("no", {
        status: 401,
        headers: { "WWW-Authenticate": 'Basic realm="r"' },
      });
    }
    return multistatus(entry("/db/ltx/0/"));
  });
  const client = new WebDavReplicaClient(
    `webdav://me:pw@127.0.0.1:${server.addr.port}/db`,
  );
  try {
    assert.deepEqual(await client.listFiles(0), []);
    assert.equal(client.authScheme, "basic");
    assert.deepEqual(seen, [null, good]);
  } finally {
    client.close();
  }
});

Deno.test("WebDavReplicaClient.listFiles() keeps non-empty LTX files of a PROPFIND, and a missing collection has none", async () => {
  const paths: string[] = [];
  await using server = serve((request) => {
    const path = new URL(request.url).pathname;
    paths.push(`${request.method} ${path} ${request.headers.get("depth")}`);
    if (path !== "/r/db/ltx/0/") return new Response("", { status: 404 });
    return multistatus(
      entry("/r/db/ltx/0/"),
      entry("/r/db/ltx/0/0000000000000002-0000000000000003.ltx", 300),
      entry(
        `http://127.0.0.1:${server.addr.port}/r/db/ltx/0/0000000000000001-0000000000000001.ltx`,
        100,
      ),
      entry("/r/db/ltx/0/0000000000000004-0000000000000004.ltx", 0),
      entry("/r/db/ltx/0/.lsvfs-x.tmp", 100),
      entry("/r/db/ltx/0/sub/"),
    );
  });
  const client = new WebDavReplicaClient(
    `webdav://127.0.0.1:${server.addr.port}/r/db`,
    { env: {} },
  );
  try {
    const files = await client.listFiles(0);
    assert.deepEqual(
      files.map((f) => [f.minTxid, f.maxTxid, f.size]),
      [[1n, 1n, 100], [2n, 3n, 300]],
    );
    assert.equal(files[0].createdAt, Date.parse("2026-12-03T18:51:54Z"));
    assert.deepEqual(await client.listFiles(1), []);
    assert.deepEqual(paths, [
      "PROPFIND /r/db/ltx/0/ 1",
      "PROPFIND /r/db/ltx/1/ 1",
    ]);
  } finally {
    client.close();
  }
});

Deno.test("WebDavReplicaClient.readRange() sends a Range header and refuses a server that ignores it", async () => {
  const body = new Uint8Array(100).map((_, i) => i);
  let ignoreRange = false;
  await using server = serve((request) => {
    const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.get("range")!)!;
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (ignoreRange) return new Response(body);
    if (from >= body.length) return new Response("", { status: 416 });
    return new Response(body.slice(from, to + 1), { status: 206 });
  });
  const client = new WebDavReplicaClient(
    `webdav://127.0.0.1:${server.addr.port}/db`,
    { env: {} },
  );
  try {
    assert.deepEqual(await client.readRange(FILE, 10, 5), body.slice(10, 15));
    await assert.rejects(
      client.readRange(FILE, 1000, 5),
      (error: unknown) =>
        error instanceof StorageError && !error.retryable &&
        /WebDAV read .*HTTP 416/.test(error.message),
    );
    ignoreRange = true;
    // The whole file from offset 0 is what was asked for: fine.
    assert.deepEqual(await client.readRange(FILE, 0, 100), body);
    await assert.rejects(
      client.readRange(FILE, 10, 5),
      (error: unknown) =>
        error instanceof StorageError && !error.retryable &&
        /ignored the Range header/.test(error.message),
    );
  } finally {
    client.close();
  }
});

Deno.test("WebDavReplicaClient gives up on 500s within its retry budget, retryable", async () => {
  let hits = 0;
  await using server = serve(() => {
    hits++;
    return new Response("oops", { status: 500 });
  });
  const client = new WebDavReplicaClient(
    `webdav://127.0.0.1:${server.addr.port}/db`,
    { retryBudgetMs: 500, env: {} },
  );
  try {
    const started = performance.now();
    await assert.rejects(client.listFiles(0), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.retryable, true);
      assert.match(error.message, /^WebDAV list "\/db\/ltx\/0\/".*HTTP 500/);
      return true;
    });
    assert.ok(performance.now() - started < 1_500);
    assert.ok(hits > 1, `${hits} attempts`);
  } finally {
    client.close();
  }
});

Deno.test("WebDavReplicaClient names the user, never the password, on a 401", async () => {
  await using server = serve(() =>
    new Response("no", {
      status: 401,
      headers: { "WWW-Authenticate": 'Basic realm="r"' },
    })
  );
  const client = new WebDavReplicaClient(
    `webdav://me:hunter2@127.0.0.1:${server.addr.port}/db`,
  );
  try {
    await assert.rejects(client.listFiles(0), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.retryable, false);
      assert.match(error.message, /HTTP 401, the server refused user "me"/);
      assert.ok(!error.message.includes("hunter2"), error.message);
      return true;
    });
  } finally {
    client.close();
  }
});
