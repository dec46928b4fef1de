import assert from "node:assert/strict";
import type { DatabaseFile } from "../engine/database_file.ts";
import { ReplicaNotFoundError } from "../engine/errors.ts";
import { Logger } from "../log/mod.ts";
import {
  SQLITE_CANTOPEN,
  SQLITE_ERROR,
  SQLITE_IOERR_RDLOCK,
  SQLITE_IOERR_READ,
  SQLITE_NOTFOUND,
} from "../sqlite/constants.ts";
import {
  type Answer,
  decodeAnswer,
  encodeRequest,
  FRAME_HEADER_SIZE,
  type Op,
  type Request,
} from "./protocol.ts";
import { serve } from "./server.ts";

const PAGE = 512;

/** A two-page database whose page n is filled with n; reads return both. */
function fakeFile(closed: unknown[]): DatabaseFile {
  return {
    pageSize: PAGE,
    beginRead: () => 7n,
    endRead: () => {},
    localGeneration: () => 0,
    localMap: () => new Uint8Array(0),
    size: () => 2 * PAGE,
    readPages(pgno, out) {
      if (pgno > 2) throw new Error(`No page ${pgno}`);
      out.fill(1, 0, PAGE);
      out.fill(2, PAGE, 2 * PAGE);
      return { first: 1, count: 2 };
    },
    pragma(name, value) {
      if (name !== "litestream_time") return undefined;
      if (value === "bad") throw new ReplicaNotFoundError("file:///gone");
      return value === null ? "2024-01-01T00:00:00Z" : null;
    },
    close: (counters) => closed.push(counters ?? "no counters"),
  };
}

/** Serves the requests, fed one byte at a time; returns the answers. */
function exchange(
  requests: Request[],
  options: { closed?: unknown[]; logs?: string[] } = {},
): Answer<Op>[] {
  const input = new Uint8Array(
    requests.flatMap((r) => [...encodeRequest(r)]),
  );
  let at = 0;
  const output: number[] = [];
  const logs = options.logs ?? [];
  serve((name, params) => {
    if (params.get("replica_url") === undefined) {
      throw new ReplicaNotFoundError(`file://${name}`);
    }
    return fakeFile(options.closed ?? []);
  }, {
    read(buffer) {
      if (at === input.length) return null;
      buffer[0] = input[at++];
      return 1;
    },
    write(buffer) {
      output.push(...buffer);
      return buffer.length;
    },
  }, { logger: new Logger({ sink: { write: (l) => logs.push(l) } }) });
  const bytes = new Uint8Array(output);
  const answers: Answer<Op>[] = [];
  let offset = 0;
  for (const request of requests) {
    const length = new DataView(bytes.buffer, offset).getUint32(0, true);
    const start = offset + FRAME_HEADER_SIZE;
    answers.push(
      decodeAnswer(request.op, bytes.subarray(start, start + length)),
    );
    offset = start + length;
  }
  assert.equal(offset, bytes.length, "answers without a request");
  return answers;
}

const OPEN: Request = {
  op: "open",
  name: "/db",
  params: new TextEncoder().encode("replica_url\0file:///r\0"),
};

Deno.test("serve() answers each port call from the engine's file", () => {
  const closed: unknown[] = [];
  const answers = exchange([
    OPEN,
    { op: "beginRead", id: 1 },
    { op: "fileSize", id: 1 },
    { op: "readPages", id: 1, pgno: 2, max: 4 },
    { op: "pragma", id: 1, name: "litestream_time", value: null },
    { op: "pragma", id: 1, name: "litestream_time", value: "1h" },
    { op: "pragma", id: 1, name: "cache_size", value: null },
    { op: "endRead", id: 1 },
    { op: "close", id: 1, stats: [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n] },
  ], { closed });
  const pages = new Uint8Array(2 * PAGE).fill(1, 0, PAGE).fill(2, PAGE);
  assert.deepEqual(answers, [
    { code: 0, id: 1, pageSize: PAGE },
    { code: 0, version: 7n, local: 0, size: 1024 },
    { code: 0, size: 2 * PAGE },
    { code: 0, first: 1, count: 2, pages },
    { code: 0, result: "2024-01-01T00:00:00Z" },
    { code: 0, result: null },
    { code: SQLITE_NOTFOUND, message: "" },
    { code: 0 },
    { code: 0 },
  ]);
  assert.deepEqual(closed, [{
    hits: 1,
    misses: 2,
    evictions: 3,
    drops: 4,
    bytes: 5,
    pages: 6,
    maxBytes: 7,
    localReads: 8,
    engineReads: 9,
  }]);
});

Deno.test("serve() answers engine errors with the host port's codes and messages", () => {
  const logs: string[] = [];
  const answers = exchange([
    { op: "open", name: "/nowhere", params: new Uint8Array() },
    OPEN,
    { op: "readPages", id: 1, pgno: 3, max: 1 },
    { op: "pragma", id: 1, name: "litestream_time", value: "bad" },
    { op: "beginRead", id: 42 },
  ], { logs });
  assert.deepEqual(answers.map((a) => a.code), [
    SQLITE_CANTOPEN,
    0,
    SQLITE_IOERR_READ,
    SQLITE_ERROR,
    // An unknown id is an I/O failure of the call, as in the host port.
    SQLITE_IOERR_RDLOCK,
  ]);
  assert.match((answers[0] as { message: string }).message, /nowhere/);
  assert.equal((answers[2] as { message: string }).message, "No page 3");
  assert.match(
    (answers[4] as { message: string }).message,
    /Unknown database file id: 42/,
  );
  assert.equal(logs.length, 1);
  assert.match(logs[0], /level=ERROR msg="cannot open database" db=\/nowhere/);
});

Deno.test("serve() closes the files still open when the pipe closes", () => {
  const closed: unknown[] = [];
  exchange([OPEN, OPEN], { closed });
  assert.deepEqual(closed, ["no counters", "no counters"]);
});

Deno.test("serve() rejects a message cut short", () => {
  const cut = encodeRequest({ op: "fileSize", id: 1 }).subarray(0, 6);
  let at = 0;
  assert.throws(
    () =>
      serve(() => {
        throw new Error("unused");
      }, {
        read(buffer) {
          if (at === cut.length) return null;
          const n = Math.min(buffer.length, cut.length - at);
          buffer.set(cut.subarray(at, at + n));
          at += n;
          return n;
        },
        write: (buffer) => buffer.length,
      }),
    /the pipe closed after 2 of 5 bytes/,
  );
});
