/**
 * What the harnesses' proxies in front of s3rver share (tests/_s3_proxy.ts,
 * which counts and injects faults into S3 requests, and tests/_oss_proxy.ts,
 * which speaks OSS): reading a request's body, one create-only PUT of a key
 * at a time, the faults they inject, forwarding to s3rver, and a
 * `node:http` server on a free port that prints it.
 *
 * Both are `node:http` servers, not `Deno.serve`: a handler of `Deno.serve`
 * cannot close a connection without answering (a thrown error becomes a
 * 500), and a dropped connection is one of the faults.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { random as seededRandom } from "../src/ltx/_test_util.ts";

/**
 * Reads a request's whole body.
 *
 * @param request The request.
 * @returns Its bytes; empty for none.
 */
export function readBody(
  request: IncomingMessage,
): Promise<Uint8Array<ArrayBuffer>> {
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    request.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    request.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
    request.on("error", reject);
  });
}

/**
 * Locks by key: the create-only PUTs of one key, one at a time, so that
 * their "does it exist?" checks do not race and of two writers exactly one
 * wins.
 */
export class KeyLocks {
  #locks = new Map<string, Promise<void>>();

  /**
   * Waits for the earlier holders of a key.
   *
   * @param key The key (the request path).
   * @returns The release; call it once, in a `finally`.
   */
  async lock(key: string): Promise<() => void> {
    const before = this.#locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => release = resolve);
    const chained = before.then(() => mine);
    this.#locks.set(key, chained);
    await before;
    return () => {
      release();
      if (this.#locks.get(key) === chained) this.#locks.delete(key);
    };
  }
}

/**
 * Faults to inject. Counters ("every Nth") count the GETs faults apply to
 * (LISTs included, unless `ltxRangesOnly`), from the `POST /__faults` on.
 */
export interface Faults {
  /** Answer HTTP 500 (an `InternalError` body) to every Nth GET; 1 for all. */
  errorEvery?: number;
  /** Answer HTTP 500 to this fraction of GETs, drawn from a PRNG seeded with `seed`. */
  errorRate?: number;
  /** Seed of the PRNG for `errorRate`; default 1. */
  seed?: number;
  /** Close the connection without an answer for every Mth GET. */
  dropEvery?: number;
  /** Answer every Kth GET's head and half its body, then close the connection. */
  cutEvery?: number;
  /** Added before forwarding every request, GET or not, in ms; default 0. */
  latencyMs?: number;
  /** Inject errors, drops and cuts only into range GETs of `.ltx` objects. */
  ltxRangesOnly?: boolean;
  /** Answer HTTP 500 to every Nth PUT (uploads); 1 for all. */
  putErrorEvery?: number;
  /** A server that is down: close every connection, any method, without an answer. */
  down?: boolean;
}

/** A fault to inject into one request. */
export type Fault = "error" | "drop" | "cut";

/** How many faults of each kind were injected. */
export interface Injected {
  /** HTTP 500s answered. */
  errors: number;
  /** Connections closed without an answer. */
  drops: number;
  /** Answers cut in the middle. */
  cuts: number;
}

function every(n: number | undefined, count: number): boolean {
  return n !== undefined && n > 0 && count % n === 0;
}

/** The faults in force, and which request is due one. */
export class FaultInjector {
  /** The faults in force. */
  faults: Faults = {};
  /** How many were injected since the last {@linkcode FaultInjector.set}. */
  injected: Injected = { errors: 0, drops: 0, cuts: 0 };
  #faultable = 0;
  #puts = 0;
  #nextRandom = seededRandom(1);

  /**
   * Injects these faults from now on, replacing any before, and restarts
   * their counters.
   *
   * @param faults The faults; `{}` for none.
   */
  set(faults: Faults): void {
    this.faults = faults;
    this.#faultable = 0;
    this.#puts = 0;
    this.injected = { errors: 0, drops: 0, cuts: 0 };
    this.#nextRandom = seededRandom(faults.seed ?? 1);
  }

  /**
   * The fault for a request, if one is due; advances the counters (the
   * caller counts what it injects in {@linkcode FaultInjector.injected}).
   *
   * @param kind `GET`, `LIST`, `PUT`, `HEAD`...
   * @param path The request path.
   * @param range The `Range` header, if any.
   */
  faultFor(kind: string, path: string, range?: string): Fault | undefined {
    const { faults } = this;
    if (faults.down) return "drop";
    if (kind === "PUT") {
      this.#puts++;
      return every(faults.putErrorEvery, this.#puts) ? "error" : undefined;
    }
    if (kind !== "GET" && kind !== "LIST") return undefined;
    if (
      faults.ltxRangesOnly &&
      (kind !== "GET" || range === undefined || !path.endsWith(".ltx"))
    ) return undefined;
    this.#faultable++;
    if (every(faults.dropEvery, this.#faultable)) return "drop";
    if (every(faults.cutEvery, this.#faultable)) return "cut";
    if (every(faults.errorEvery, this.#faultable)) return "error";
    if (
      faults.errorRate !== undefined && this.#nextRandom() < faults.errorRate
    ) {
      return "error";
    }
    return undefined;
  }
}

/** A request to forward to s3rver. */
export interface Forward {
  /** The request's path and query, as it came. */
  url: URL;
  /** The HTTP method. */
  method: string;
  /** The headers to send. */
  headers: Headers;
  /** The body (not sent for GET and HEAD). */
  body: Uint8Array<ArrayBuffer>;
  /**
   * Create-only: forward only if no object is at the path (checked with a
   * plain HEAD), one such request of a path at a time.
   */
  createOnly: boolean;
}

/**
 * Forwards a request to s3rver and reads its whole answer.
 *
 * @param upstream s3rver, `http://127.0.0.1:PORT`.
 * @param request What to forward.
 * @param locks Where create-only requests wait for each other.
 * @returns The answer and its body; `"exists"` for a create-only request
 * of a path that has an object (nothing forwarded).
 * @throws When s3rver cannot be reached.
 */
export async function forwardUpstream(
  upstream: string,
  request: Forward,
  locks: KeyLocks,
): Promise<{ answer: Response; payload: Uint8Array } | "exists"> {
  const { url, method, headers, body, createOnly } = request;
  const release = createOnly ? await locks.lock(url.pathname) : () => {};
  try {
    if (createOnly) {
      // Plain: the PUT's own conditions would make a HEAD a 304.
      const head = await fetch(`${upstream}${url.pathname}`, {
        method: "HEAD",
      });
      await head.body?.cancel();
      if (head.status === 200) return "exists";
    }
    const answer = await fetch(`${upstream}${url.pathname}${url.search}`, {
      method,
      headers,
      body: method === "GET" || method === "HEAD" ? undefined : body,
      redirect: "manual",
    });
    return { answer, payload: new Uint8Array(await answer.arrayBuffer()) };
  } finally {
    release();
  }
}

/**
 * The `content-length` to answer: the object's for a HEAD, else the body's.
 *
 * @param method The request's method.
 * @param answer s3rver's answer.
 * @param payload Its body.
 */
export function answerLength(
  method: string,
  answer: Response,
  payload: Uint8Array,
): string {
  return method === "HEAD"
    ? answer.headers.get("content-length") ?? "0"
    : String(payload.length);
}

/**
 * Serves on a free port of 127.0.0.1 and prints the port on stdout's first
 * line (what tests/_servers.ts's `startProxy` waits for). A request whose
 * handling fails is answered 400 if still possible, else its connection is
 * closed: one request never ends the proxy.
 *
 * @param serve The handler.
 * @param what The proxy, in failure answers (`The S3 proxy`).
 */
export function serveOnFreePort(
  serve: (request: IncomingMessage, response: ServerResponse) => Promise<void>,
  what: string,
): void {
  const server = createServer((request, response) => {
    serve(request, response).catch((error) => {
      if (response.headersSent) {
        request.socket.destroy();
      } else {
        response.writeHead(400, { "content-type": "text/plain" });
        response.end(`${what} failed: ${error}`);
      }
    });
  });
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    console.log(typeof address === "object" && address ? address.port : 0);
  });
}
