/**
 * The counting proxy in front of s3rver, run as its own process by
 * `tests/_s3.ts`: a test that opens an `s3://` replica blocks its own thread
 * in `Atomics.wait` while the storage worker talks to the server, so the
 * proxy cannot live in the test's event loop.
 *
 * Besides forwarding, it counts requests, logs each one with its start and
 * end time (`performance.now()` here), fixes what s3rver gets wrong (suffix
 * ranges, and PUT with `If-None-Match: *`, which it ignores: here the second
 * writer of a key gets 412), and injects faults on demand: HTTP 500 answers, added latency,
 * connections dropped without an answer or cut in the middle of one.
 *
 * It is a `node:http` server, not `Deno.serve`: a handler of `Deno.serve`
 * cannot close a connection without answering (a thrown error becomes a
 * 500), and a dropped connection is one of the faults.
 *
 * Usage: `deno run --allow-net tests/_s3_proxy.ts http://127.0.0.1:UPSTREAM`;
 * prints its port on the first line of stdout. Control endpoints:
 *
 * - `GET /__counts`: the request counts as JSON
 *   (`{"GET /bucket/key": 3, "LIST /bucket?prefix=p": 1}`).
 * - `POST /__counts/reset`: clears the counts and the request log.
 * - `GET /__log`: the request log, a JSON array of {@linkcode LoggedRequest}.
 * - `POST /__faults` with a JSON {@linkcode Faults} body: injects those
 *   faults from now on (replacing any before) and restarts their counters.
 * - `GET /__faults`: the faults in force and how many were injected.
 * - `POST /__faults/clear`: back to a healthy server (no latency either).
 *
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import {
  answerLength,
  FaultInjector,
  type Faults,
  forwardUpstream,
  KeyLocks,
  readBody,
  serveOnFreePort,
} from "./_proxy_util.ts";

export type { Faults };

/** One request as the log records it; times are this process's `performance.now()`. */
export interface LoggedRequest {
  /** `GET`, `LIST` (a GET with `list-type` or `prefix`), `HEAD`, `PUT`, ... */
  kind: string;
  /** The request path (`/bucket/key`). */
  path: string;
  /** The `Range` header as the client sent it, if any. */
  range?: string;
  /** When the request's head arrived, in ms. */
  start: number;
  /** When the answer was written out or the connection dropped, in ms. */
  end: number;
  /** HTTP status answered; 0 for a dropped connection. */
  status: number;
  /** The fault injected, if any. */
  fault?: "error" | "drop" | "cut";
}

const upstream = Deno.args[0];
const counts: Record<string, number> = {};
let log: LoggedRequest[] = [];
const faults = new FaultInjector();
const locks = new KeyLocks();

function json(value: unknown): { status: number; body: string } {
  return { status: 200, body: JSON.stringify(value) };
}

async function control(
  path: string,
  request: IncomingMessage,
): Promise<{ status: number; body: string }> {
  if (path === "/__counts") return json(counts);
  if (path === "/__log") return json(log);
  if (path === "/__counts/reset") {
    for (const key of Object.keys(counts)) delete counts[key];
    log = [];
    return { status: 204, body: "" };
  }
  if (path === "/__faults" && request.method === "POST") {
    const text = new TextDecoder().decode(await readBody(request));
    faults.set(JSON.parse(text) as Faults);
    return json(faults.faults);
  }
  if (path === "/__faults") {
    return json({ faults: faults.faults, injected: faults.injected });
  }
  if (path === "/__faults/clear") {
    faults.faults = {};
    return { status: 204, body: "" };
  }
  return { status: 404, body: `No control endpoint "${path}"` };
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-encoding",
  "content-length",
  "host",
]);

async function serve(
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const start = performance.now();
  const url = new URL(request.url ?? "/", "http://proxy");
  if (url.pathname.startsWith("/__")) {
    const { status, body } = await control(url.pathname, request);
    response.writeHead(status, { "content-type": "application/json" });
    response.end(status === 204 ? undefined : body);
    return;
  }
  const method = request.method ?? "GET";
  const isList = method === "GET" &&
    (url.searchParams.has("list-type") || url.searchParams.has("prefix"));
  const kind = isList ? "LIST" : method;
  const key = isList
    ? `LIST ${url.pathname}?prefix=${url.searchParams.get("prefix") ?? ""}`
    : `${method} ${url.pathname}`;
  counts[key] = (counts[key] ?? 0) + 1;
  const range = request.headers["range"];
  const entry: LoggedRequest = {
    kind,
    path: url.pathname,
    ...(range === undefined ? {} : { range }),
    start,
    end: start,
    status: 0,
  };
  log.push(entry);
  const fault = faults.faultFor(kind, url.pathname, range);
  if (fault !== undefined) entry.fault = fault;
  const body = await readBody(request);
  const { latencyMs } = faults.faults;
  if (latencyMs) await new Promise((r) => setTimeout(r, latencyMs));
  const { injected } = faults;
  if (fault === "drop") {
    injected.drops++;
    entry.end = performance.now();
    request.socket.destroy();
    return;
  }
  if (fault === "error") {
    injected.errors++;
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><Resource>${url.pathname}</Resource><RequestId>lsvfs-fault-${injected.errors}</RequestId></Error>`;
    entry.status = 500;
    response.writeHead(500, { "content-type": "application/xml" });
    response.end(xml, () => entry.end = performance.now());
    return;
  }

  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name === "host") continue;
    headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  // s3rver answers a suffix range (`bytes=-N`) wrongly: make it explicit.
  const suffix = /^bytes=-(\d+)$/.exec(range ?? "");
  if (suffix) {
    const head = await fetch(`${upstream}${url.pathname}`, {
      method: "HEAD",
      headers,
    });
    await head.body?.cancel();
    const size = Number(head.headers.get("content-length"));
    const n = Math.min(Number(suffix[1]), size);
    headers.set("range", `bytes=${size - n}-${size - 1}`);
  }
  // s3rver ignores If-None-Match on PUT: answer it here, one PUT of a key
  // at a time, so that of two racing writers exactly one wins.
  let forwarded: Awaited<ReturnType<typeof forwardUpstream>>;
  try {
    forwarded = await forwardUpstream(upstream, {
      url,
      method,
      headers,
      body,
      createOnly: method === "PUT" && request.headers["if-none-match"] === "*",
    }, locks);
  } catch (error) {
    entry.status = 502;
    response.writeHead(502, { "content-type": "text/plain" });
    response.end(`The proxy could not reach s3rver: ${error}`, () => {
      entry.end = performance.now();
    });
    return;
  }
  if (forwarded === "exists") {
    entry.status = 412;
    response.writeHead(412, { "content-type": "application/xml" });
    response.end(
      `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>`,
      () => entry.end = performance.now(),
    );
    return;
  }
  const { answer, payload } = forwarded;
  const out: Record<string, string> = {};
  answer.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name)) out[name] = value;
  });
  out["content-length"] = answerLength(method, answer, payload);
  entry.status = answer.status;
  response.writeHead(answer.status, out);
  if (fault === "cut") {
    injected.cuts++;
    response.write(payload.subarray(0, payload.length >> 1), () => {
      entry.end = performance.now();
      request.socket.destroy();
    });
    return;
  }
  response.end(method === "HEAD" ? undefined : payload, () => {
    entry.end = performance.now();
  });
}

serveOnFreePort(serve, "The S3 proxy");
