// The GCS test server, run by tests/_gcs.ts as its own Node 20 process:
// Firebase's Cloud Storage emulator (npm `firebase-tools`, in-process,
// the security-rules runtime stubbed: its GCS JSON API routes never
// evaluate rules, and the runtime would download a jar and want Java 21),
// behind a small proxy on the port clients use. The proxy supplies what
// the emulator lacks and Google has:
//
// - Auth. The emulator checks none. The proxy wants every API request to
//   carry `Authorization: Bearer <JWT>` signed (RS256) with the private key
//   of the service account the harness made, as the self-signed JWTs
//   Google's SDKs send for a service-account key; anything else gets
//   Google's 401. It stands in for Google's auth, which no local server has.
// - Buckets that do not exist. The emulator makes a bucket on any request
//   that names it; the proxy answers Google's 404 for every bucket but the
//   ones it was started with.
// - Preconditions. The emulator ignores `ifGenerationMatch` on uploads;
//   the proxy takes the uploads of one object one at a time (a per-object
//   lock), reads the object's generation (0 when absent) and answers 412
//   when it differs, so create-only races (`ifGenerationMatch=0`) have
//   exactly one winner.
//
// It also counts requests and injects faults on demand. Control endpoints
// (no auth): `GET /__counts`, `POST /__counts/reset`,
// `POST /__faults` with `{"status": 503}` (answer every API request with
// that status) or `{"down": true}` (close every connection without an
// answer), `POST /__faults/clear`.
//
// Usage: node tests/_gcs_emulator.mjs CONFIG_JSON
// where CONFIG_JSON is {"firebaseTools": dir, "port": n, "buckets": [...],
// "clientEmail": "...", "publicKey": "PEM" (or null: no auth)}. The
// emulator keeps its data under os.tmpdir() (set TMPDIR). Prints the
// proxy's port on the first line of stdout.

import { createServer } from "node:http";
import { createRequire } from "node:module";
import { createPublicKey, verify } from "node:crypto";
import { join } from "node:path";

const config = JSON.parse(process.argv[2]);
const require = createRequire(import.meta.url);
const { StorageEmulator } = require(
  join(config.firebaseTools, "lib", "emulator", "storage", "index.js"),
);

const { EmulatorRegistry } = require(
  join(config.firebaseTools, "lib", "emulator", "registry.js"),
);
const emulator = new StorageEmulator({
  projectId: "lsvfs-test",
  host: "127.0.0.1",
  port: config.emulatorPort,
  auto_download: false,
});
// The rules runtime is a Java jar fetched at start; the JSON API never
// consults it.
const done = () => Promise.resolve();
emulator._rulesRuntime = { start: done, stop: done };
emulator._rulesManager = {
  start: () => Promise.resolve([]),
  stop: done,
  getRuleset: () => undefined,
};
// Bucket metadata and upload URLs name the emulator's address from here.
EmulatorRegistry.set("storage", emulator);
await emulator.start();
const upstream = `http://127.0.0.1:${config.emulatorPort}`;

const buckets = new Set(config.buckets);
const publicKey = config.publicKey ? createPublicKey(config.publicKey) : null;
const counts = {};
let faults = {};

function googleError(code, message, reason) {
  return JSON.stringify({
    error: { code, message, errors: [{ message, domain: "global", reason }] },
  });
}

/** Why a bearer token is refused, or undefined when it is good. */
function refuse(authorization) {
  const token = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
  if (token === undefined) return "no bearer token";
  const parts = token.split(".");
  if (parts.length !== 3) return "not a JWT";
  let header, claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], "base64url").toString());
    claims = JSON.parse(Buffer.from(parts[1], "base64url").toString());
  } catch {
    return "not a JWT";
  }
  if (header.alg !== "RS256") return `alg ${header.alg}`;
  const good = verify(
    "RSA-SHA256",
    Buffer.from(`${parts[0]}.${parts[1]}`),
    publicKey,
    Buffer.from(parts[2], "base64url"),
  );
  if (!good) return "bad signature";
  if (claims.iss !== config.clientEmail) return "unknown issuer";
  if (!(claims.exp * 1000 > Date.now())) return "expired";
  return undefined;
}

/** The uploads under way with a precondition, by object: each waits for the one before. */
const locks = new Map();

async function lock(key) {
  const before = locks.get(key) ?? Promise.resolve();
  let release;
  const mine = new Promise((resolve) => release = resolve);
  const chained = before.then(() => mine);
  locks.set(key, chained);
  await before;
  return () => {
    release();
    if (locks.get(key) === chained) locks.delete(key);
  };
}

function readBody(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    request.on("data", (c) => chunks.push(c));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

/** The object an upload names: `name=` in the query, else the multipart metadata. */
function uploadName(url, body) {
  const name = url.searchParams.get("name");
  if (name) return name;
  const json = /\{[^\r\n]*"name"[^\r\n]*\}/.exec(body.toString("latin1"));
  try {
    return json ? JSON.parse(json[0]).name : undefined;
  } catch {
    return undefined;
  }
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "host",
]);

function send(response, status, body, headers = {}) {
  response.writeHead(status, {
    "content-type": "application/json; charset=UTF-8",
    ...headers,
  });
  response.end(body);
}

async function serve(request, response) {
  const url = new URL(request.url ?? "/", "http://proxy");
  const method = request.method ?? "GET";
  if (url.pathname.startsWith("/__")) {
    const body = await readBody(request);
    if (url.pathname === "/__counts") {
      return send(response, 200, JSON.stringify(counts));
    }
    if (url.pathname === "/__counts/reset") {
      for (const k of Object.keys(counts)) delete counts[k];
      return send(response, 204, "");
    }
    if (url.pathname === "/__faults") {
      faults = JSON.parse(body.toString() || "{}");
      return send(response, 204, "");
    }
    if (url.pathname === "/__faults/clear") {
      faults = {};
      return send(response, 204, "");
    }
    return send(response, 404, `No control endpoint "${url.pathname}"`);
  }
  const bucket = /\/b\/([^/]+)/.exec(url.pathname)?.[1] ??
    /^\/([^/]+)\//.exec(url.pathname)?.[1];
  const isUpload = url.pathname.startsWith("/upload/");
  const isList = method === "GET" && /\/b\/[^/]+\/o$/.test(url.pathname);
  const kind = isUpload ? "UPLOAD" : isList ? "LIST" : method;
  counts[kind] = (counts[kind] ?? 0) + 1;
  if (faults.down) {
    request.socket.destroy();
    return;
  }
  if (faults.status) {
    return send(
      response,
      faults.status,
      googleError(faults.status, "Injected fault", "backendError"),
    );
  }
  if (publicKey !== null) {
    const why = refuse(request.headers["authorization"]);
    if (why !== undefined) {
      return send(
        response,
        401,
        googleError(401, `Invalid Credentials (${why})`, "authError"),
        { "www-authenticate": 'Bearer realm="https://accounts.google.com/"' },
      );
    }
  }
  if (bucket !== undefined && !buckets.has(decodeURIComponent(bucket))) {
    return send(
      response,
      404,
      googleError(404, "The specified bucket does not exist.", "notFound"),
    );
  }
  const body = await readBody(request);
  const precondition = url.searchParams.get("ifGenerationMatch");
  let release = () => {};
  try {
    if (isUpload && method === "POST" && precondition !== null) {
      const name = uploadName(url, body);
      release = await lock(`${bucket}/${name}`);
      const head = await fetch(
        `${upstream}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`,
      );
      const generation = head.ok ? (await head.json()).generation : "0";
      if (!head.ok) await head.body?.cancel();
      if (String(generation) !== precondition) {
        return send(
          response,
          412,
          googleError(
            412,
            "At least one of the pre-conditions you specified did not hold.",
            "conditionNotMet",
          ),
        );
      }
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    const answer = await fetch(`${upstream}${url.pathname}${url.search}`, {
      method,
      headers,
      body: method === "GET" || method === "HEAD" ? undefined : body,
      redirect: "manual",
    });
    const payload = Buffer.from(await answer.arrayBuffer());
    const out = {};
    answer.headers.forEach((value, name) => {
      if (!HOP_BY_HOP.has(name) && name !== "content-encoding") {
        out[name] = value;
      }
    });
    out["content-length"] = String(payload.length);
    response.writeHead(answer.status, out);
    response.end(payload);
  } finally {
    release();
  }
}

const server = createServer((request, response) => {
  serve(request, response).catch((error) => {
    if (response.headersSent) request.socket.destroy();
    else {send(
        response,
        502,
        googleError(502, `Proxy: ${error}`, "backendError"),
      );}
  });
});
server.listen(0, "127.0.0.1", () => {
  console.log(server.address().port);
});
process.on("SIGTERM", async () => {
  server.close();
  await emulator.stop().catch(() => {});
  process.exit(0);
});
