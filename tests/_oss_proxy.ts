/**
 * The OSS face of s3rver, run as its own process by `tests/_oss.ts` (a test
 * that opens an `oss://` replica blocks its own thread in `Atomics.wait`
 * while the storage worker talks to the server, so the proxy cannot live in
 * the test's event loop).
 *
 * No OSS emulator exists (ARCHITECTURE.md). s3rver speaks the S3 dialect
 * OSS was modelled on (same paths, `list-type=2` listings with continuation
 * tokens, ranges, XML errors with a `Code`), and this proxy supplies what
 * differs:
 *
 * - Authentication: `Authorization: OSS <AccessKeyId>:<Signature>`, checked
 *   here against the known secret by recomputing the V1 signature
 *   ({@linkcode stringToSignV1}, {@linkcode signV1}); 403 `InvalidAccessKeyId`,
 *   `SignatureDoesNotMatch`, `RequestTimeTooSkewed` or `AccessDenied` as OSS
 *   answers them. s3rver itself checks nothing: requests reach it unsigned.
 * - Headers: `x-oss-meta-*` to and from `x-amz-meta-*`, `x-amz-request-id`
 *   back as `x-oss-request-id`; other `x-amz-*` answers are dropped.
 * - `x-oss-forbid-overwrite: true` on PUT: 409 `FileAlreadyExists` when the
 *   object exists, one PUT of a key at a time, so that of two racing
 *   writers exactly one wins.
 *
 * Buckets are addressed path-style (`/bucket/key`), as `ali-oss` does with
 * `sldEnable` for an IP endpoint.
 *
 * It also counts and logs requests and injects faults on demand (a server
 * that is down, HTTP 500s). It is a `node:http` server: a `Deno.serve`
 * handler cannot close a connection without answering.
 *
 * Usage: `deno run --allow-net=127.0.0.1 tests/_oss_proxy.ts
 * http://127.0.0.1:UPSTREAM AccessKeyId:AccessKeySecret...`; prints its port
 * on the first line of stdout. Control endpoints:
 *
 * - `GET /__log`: the requests since the last reset, a JSON array of
 *   {@linkcode OssLoggedRequest}; `POST /__log/reset` clears it.
 * - `POST /__faults` with a JSON {@linkcode OssFaults} body: injects those
 *   faults from now on (replacing any before); `GET /__faults` tells how
 *   many were injected.
 *
 * @module
 */

import { createHmac } from "node:crypto";
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

/** One request as the proxy saw it. */
export interface OssLoggedRequest {
  /** `GET`, `LIST` (a GET of a bucket), `PUT`, `HEAD`, ... */
  kind: string;
  /** The request path (`/bucket/key`). */
  path: string;
  /** The query string, with its `?`, or "". */
  search: string;
  /** The `Range` header, if any. */
  range?: string;
  /** The status answered; 0 for a dropped connection. */
  status: number;
  /** The OSS error code answered, if the proxy answered one itself. */
  code?: string;
}

/**
 * Faults to inject, from the `POST /__faults` on: `down`, a server that
 * closes every connection without an answer, and `errorEvery`, HTTP 500
 * `InternalError` to every Nth GET (LISTs included). They are counted as
 * the S3 proxy counts them (tests/_proxy_util.ts).
 */
export type OssFaults = Pick<Faults, "down" | "errorEvery">;

/**
 * Query parameters OSS signs as sub-resources, in the CanonicalizedResource
 * (as the V1 signature document and the SDKs list them: a listing's
 * `continuation-token` is one); plain request parameters such as `prefix`
 * or `max-keys` are not signed.
 */
const SUBRESOURCES = new Set([
  "acl",
  "append",
  "bucketInfo",
  "cname",
  "comp",
  "continuation-token",
  "cors",
  "delete",
  "encryption",
  "lifecycle",
  "live",
  "location",
  "logging",
  "objectMeta",
  "partNumber",
  "policy",
  "position",
  "qos",
  "referer",
  "replication",
  "response-cache-control",
  "response-content-disposition",
  "response-content-encoding",
  "response-content-language",
  "response-content-type",
  "response-expires",
  "restore",
  "security-token",
  "stat",
  "status",
  "symlink",
  "tagging",
  "uploadId",
  "uploads",
  "versionId",
  "versioning",
  "versions",
  "website",
  "x-oss-process",
]);

/** What a V1 signature covers, from one request. */
export interface SignedParts {
  /** The HTTP method. */
  method: string;
  /** Request headers, any case. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The bucket, "" for none. */
  bucket: string;
  /** The object key, decoded; "" for the bucket itself. */
  key: string;
  /** The query parameters; those in the sub-resource list are signed. */
  query?: URLSearchParams;
}

/**
 * The V1 StringToSign of a request: VERB, Content-MD5, Content-Type and
 * Date (`x-oss-date` when present) on a line each, then the
 * CanonicalizedOSSHeaders (`x-oss-*`, lower-cased, trimmed, sorted, one
 * `name:value` line each) and the CanonicalizedResource
 * (`/bucket/key`, then the sub-resources, sorted, after `?`, joined by `&`).
 *
 * @param parts The request.
 * @returns The string to sign.
 */
export function stringToSignV1(parts: SignedParts): string {
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(parts.headers)) {
    if (value !== undefined) headers.set(name.toLowerCase(), value.trim());
  }
  const ossHeaders = [...headers.entries()]
    .filter(([name]) => name.startsWith("x-oss-"))
    .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
    .map(([name, value]) => `${name}:${value}\n`)
    .join("");
  let resource = parts.bucket === "" ? "/" : `/${parts.bucket}/${parts.key}`;
  const subresources = [...(parts.query ?? new URLSearchParams()).entries()]
    .filter(([name]) => SUBRESOURCES.has(name))
    .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
    .map(([name, value]) => value === "" ? name : `${name}=${value}`);
  if (subresources.length > 0) resource += `?${subresources.join("&")}`;
  return [
    parts.method.toUpperCase(),
    headers.get("content-md5") ?? "",
    headers.get("content-type") ?? "",
    headers.get("x-oss-date") ?? headers.get("date") ?? "",
    `${ossHeaders}${resource}`,
  ].join("\n");
}

/**
 * The V1 signature: base64 of HMAC-SHA1 over the StringToSign, keyed with
 * the AccessKey secret.
 *
 * @param secret The AccessKey secret.
 * @param stringToSign What {@linkcode stringToSignV1} gives.
 * @returns The signature.
 */
export function signV1(secret: string, stringToSign: string): string {
  return createHmac("sha1", secret).update(stringToSign, "utf8").digest(
    "base64",
  );
}

/** How far a request's date may be from the proxy's clock (OSS: 15 min). */
const MAX_SKEW_MS = 15 * 60_000;

function errorXml(code: string, message: string, extra = ""): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>${code}</Code>
  <Message>${message}</Message>
  <RequestId>lsvfs-oss-proxy</RequestId>
  <HostId>127.0.0.1</HostId>${extra}
</Error>`;
}

/**
 * Checks a request's `Authorization` header.
 *
 * @returns undefined when it holds; else the OSS error to answer.
 */
function checkAuth(
  parts: SignedParts,
  secrets: ReadonlyMap<string, string>,
): { code: string; message: string; extra?: string } | undefined {
  const authorization = parts.headers["authorization"];
  if (authorization === undefined) {
    return { code: "AccessDenied", message: "AccessDenied" };
  }
  const match = /^OSS ([^:\s]+):(\S+)$/.exec(authorization);
  if (match === null) {
    return {
      code: "InvalidArgument",
      message: "Authorization header is invalid.",
    };
  }
  const [, keyId, signature] = match;
  const secret = secrets.get(keyId);
  if (secret === undefined) {
    return {
      code: "InvalidAccessKeyId",
      message:
        "The OSS Access Key Id you provided does not exist in our records.",
      extra: `\n  <OSSAccessKeyId>${keyId}</OSSAccessKeyId>`,
    };
  }
  const date = Date.parse(
    parts.headers["x-oss-date"] ?? parts.headers["date"] ?? "",
  );
  if (Number.isNaN(date) || Math.abs(Date.now() - date) > MAX_SKEW_MS) {
    return {
      code: "RequestTimeTooSkewed",
      message:
        "The difference between the request time and the current time is too large.",
    };
  }
  const wanted = stringToSignV1(parts);
  if (signV1(secret, wanted) !== signature) {
    return {
      code: "SignatureDoesNotMatch",
      message:
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
      extra: `\n  <StringToSign>${
        wanted.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
      }</StringToSign>`,
    };
  }
  return undefined;
}

/** Request headers not forwarded to s3rver. */
const DROPPED = new Set([
  "authorization",
  "connection",
  "content-length",
  "host",
  "keep-alive",
  "transfer-encoding",
]);

/** Answer headers not passed back. */
const HOP_BY_HOP = new Set([
  "connection",
  "content-encoding",
  "content-length",
  "keep-alive",
  "transfer-encoding",
]);

function main(upstream: string, secrets: ReadonlyMap<string, string>): void {
  let log: OssLoggedRequest[] = [];
  const faults = new FaultInjector();
  const locks = new KeyLocks();

  async function control(
    path: string,
    request: IncomingMessage,
  ): Promise<{ status: number; body?: string }> {
    const body = new TextDecoder().decode(await readBody(request));
    if (path === "/__log") return { status: 200, body: JSON.stringify(log) };
    if (path === "/__log/reset") {
      log = [];
      return { status: 204 };
    }
    if (path === "/__faults" && request.method === "POST") {
      faults.set(JSON.parse(body) as OssFaults);
      return { status: 204 };
    }
    if (path === "/__faults") {
      const { injected } = faults;
      return {
        status: 200,
        body: JSON.stringify({ faults: faults.faults, injected }),
      };
    }
    return { status: 404, body: JSON.stringify({ error: "no such control" }) };
  }

  async function serve(
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const url = new URL(request.url ?? "/", "http://proxy");
    if (url.pathname.startsWith("/__")) {
      const { status, body } = await control(url.pathname, request);
      response.writeHead(status, { "content-type": "application/json" });
      response.end(body);
      return;
    }
    const method = request.method ?? "GET";
    const segments = url.pathname.split("/");
    const bucket = decodeURIComponent(segments[1] ?? "");
    const key = decodeURIComponent(segments.slice(2).join("/"));
    const kind = method === "GET" && key === "" ? "LIST" : method;
    const range = request.headers["range"];
    const entry: OssLoggedRequest = {
      kind,
      path: url.pathname,
      search: url.search,
      ...(range === undefined ? {} : { range }),
      status: 0,
    };
    log.push(entry);
    const fault = faults.faultFor(kind, url.pathname, range);
    const body = await readBody(request);
    if (fault === "drop") {
      faults.injected.drops++;
      request.socket.destroy();
      return;
    }
    const answer = (status: number, code: string, xml: string) => {
      entry.status = status;
      entry.code = code;
      response.writeHead(status, {
        "content-type": "application/xml",
        "x-oss-request-id": "lsvfs-oss-proxy",
      });
      response.end(method === "HEAD" ? undefined : xml);
    };
    if (fault === "error") {
      faults.injected.errors++;
      answer(
        500,
        "InternalError",
        errorXml("InternalError", "We encountered an internal error."),
      );
      return;
    }
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      headers[name] = Array.isArray(value) ? value.join(",") : value;
    }
    const denied = checkAuth(
      { method, headers, bucket, key, query: url.searchParams },
      secrets,
    );
    if (denied !== undefined) {
      answer(
        403,
        denied.code,
        errorXml(denied.code, denied.message, denied.extra),
      );
      return;
    }

    const forward = new Headers();
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined || DROPPED.has(name)) continue;
      if (name.startsWith("x-oss-meta-")) {
        forward.set(`x-amz-meta-${name.slice(11)}`, value);
      } else if (!name.startsWith("x-oss-")) {
        forward.set(name, value);
      }
    }
    let forwarded: Awaited<ReturnType<typeof forwardUpstream>>;
    try {
      forwarded = await forwardUpstream(upstream, {
        url,
        method,
        headers: forward,
        body,
        createOnly: method === "PUT" &&
          headers["x-oss-forbid-overwrite"]?.toLowerCase() === "true",
      }, locks);
    } catch (error) {
      answer(
        502,
        "InternalError",
        errorXml("InternalError", `The proxy could not reach s3rver: ${error}`),
      );
      return;
    }
    if (forwarded === "exists") {
      answer(
        409,
        "FileAlreadyExists",
        errorXml(
          "FileAlreadyExists",
          "The object you specified already exists and can not be overwritten.",
        ),
      );
      return;
    }
    const { answer: upstreamAnswer, payload } = forwarded;
    const out: Record<string, string> = {};
    upstreamAnswer.headers.forEach((value, name) => {
      if (HOP_BY_HOP.has(name)) return;
      if (name.startsWith("x-amz-meta-")) {
        out[`x-oss-meta-${name.slice(11)}`] = value;
      } else if (name === "x-amz-request-id") {
        out["x-oss-request-id"] = value;
      } else if (!name.startsWith("x-amz-")) {
        out[name] = value;
      }
    });
    out["content-length"] = answerLength(method, upstreamAnswer, payload);
    entry.status = upstreamAnswer.status;
    response.writeHead(upstreamAnswer.status, out);
    response.end(method === "HEAD" ? undefined : payload);
  }

  serveOnFreePort(serve, "The OSS proxy");
}

if (import.meta.main) {
  const [upstream, ...keys] = Deno.args;
  const secrets = new Map<string, string>();
  for (const pair of keys) {
    const colon = pair.indexOf(":");
    secrets.set(pair.slice(0, colon), pair.slice(colon + 1));
  }
  main(upstream, secrets);
}
