import assert from "node:assert/strict";
import type { DatabaseFile } from "../engine/database_file.ts";
import {
  BusyError,
  ReadOnlyError,
  ReplicaNotFoundError,
} from "../engine/errors.ts";
import { Logger } from "../log/mod.ts";
import {
  SQLITE_BUSY,
  SQLITE_CANTOPEN,
  SQLITE_ERROR,
  SQLITE_IOERR_FSYNC,
  SQLITE_IOERR_RDLOCK,
  SQLITE_IOERR_READ,
  SQLITE_IOERR_TRUNCATE,
  SQLITE_IOERR_WRITE,
  SQLITE_NOTFOUND,
  SQLITE_READONLY,
} from "../sqlite/constants.ts";
import {
  type Answer,
  decodeAnswer,
  encodeRequest,
  FRAME_HEADER_SIZE,
  type Op,
  type Request,
} from "./protocol.ts";
import { OPEN_WRITABLE } from "../vfs/port_files.ts";
import { type PipeIo, serve } from "./server.ts";

const PAGE = 512;

/**
 * A two-page database whose page n is filled with n; reads return both.
 * Writable when `writes` is given: it records the write-mode calls there
 * (a lock "exclusive" is busy; a write at a negative offset, a truncate to
 * an odd size and a commit after a truncate to 0 fail); read-only
 * otherwise.
 */
function fakeFile(closed: unknown[], writes?: unknown[]): DatabaseFile {
  const readOnly = () => new ReadOnlyError("Write mode is off");
  let staged = 2 * PAGE;
  return {
    pageSize: PAGE,
    writable: writes !== undefined,
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
    lockWrite(level) {
      if (writes === undefined) throw readOnly();
      if (level === "exclusive") throw new BusyError("Readers hold the db");
      writes.push(["lockWrite", level]);
    },
    write(offset, data) {
      if (writes === undefined) throw readOnly();
      if (offset < 0) throw new RangeError(`Bad offset ${offset}`);
      writes.push(["write", offset, [...data]]);
    },
    truncate(size) {
      if (writes === undefined) throw readOnly();
      if (size % 2 === 1) throw new Error(`Odd size ${size}`);
      staged = size;
      writes.push(["truncate", size]);
    },
    commit() {
      if (writes === undefined) throw readOnly();
      if (staged === 0) throw new Error("No room to fsync");
      writes.push(["commit"]);
      return 8n;
    },
    close: (counters) => closed.push(counters ?? "no counters"),
  };
}

/** A pipe that hands out `input` one byte at a time; answers go to `output`. */
function bytePipe(input: Uint8Array, output: number[]): PipeIo {
  let at = 0;
  return {
    read(buffer) {
      if (at === input.length) return null;
      buffer[0] = input[at++];
      return 1;
    },
    write(buffer) {
      output.push(...buffer);
      return buffer.length;
    },
  };
}

/** Splits the answers in `output`, one per request, and decodes them. */
function answersTo(requests: Request[], output: number[]): Answer<Op>[] {
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

/** Serves the requests, fed one byte at a time; returns the answers. */
function exchange(
  requests: Request[],
  options: { closed?: unknown[]; logs?: string[]; writes?: unknown[] } = {},
): Answer<Op>[] {
  const input = new Uint8Array(
    requests.flatMap((r) => [...encodeRequest(r)]),
  );
  const output: number[] = [];
  const logs = options.logs ?? [];
  serve(
    (name, params) => {
      if (params.get("replica_url") === undefined) {
        throw new ReplicaNotFoundError(`file://${name}`);
      }
      return fakeFile(
        options.closed ?? [],
        params.get("write") === "on" ? options.writes ?? [] : undefined,
      );
    },
    bytePipe(input, output),
    {
      logger: new Logger({ sink: { write: (l) => logs.push(l) } }),
    },
  );
  return answersTo(requests, output);
}

const OPEN: Request = {
  op: "open",
  name: "/db",
  params: new TextEncoder().encode("replica_url\0file:///r\0"),
};

const OPEN_WRITE: Request = {
  op: "open",
  name: "/db",
  params: new TextEncoder().encode("replica_url\0file:///r\0write\0on\0"),
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
    { code: 0, id: 1, pageSize: PAGE, flags: 0 },
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

Deno.test("serve() carries the write-mode calls to the engine's file", () => {
  const writes: unknown[] = [];
  const answers = exchange([
    OPEN_WRITE,
    { op: "beginRead", id: 1 },
    { op: "writeLock", id: 1, level: "reserved" },
    { op: "write", id: 1, offset: PAGE, data: new Uint8Array([9, 8, 7]) },
    { op: "truncate", id: 1, size: 3 * PAGE },
    { op: "commit", id: 1 },
    { op: "writeLock", id: 1, level: "shared" },
    { op: "writeLock", id: 1, level: "exclusive" },
    { op: "write", id: 1, offset: -1, data: new Uint8Array(1) },
    { op: "truncate", id: 1, size: 1023 },
    { op: "truncate", id: 1, size: 0 },
    { op: "commit", id: 1 },
    { op: "commit", id: 2 },
  ], { writes });
  assert.deepEqual(answers.slice(0, 7), [
    { code: 0, id: 1, pageSize: PAGE, flags: OPEN_WRITABLE },
    { code: 0, version: 7n, local: 0, size: 2 * PAGE },
    { code: 0 },
    { code: 0 },
    { code: 0 },
    { code: 0, version: 8n },
    { code: 0 },
  ]);
  assert.deepEqual(answers.slice(7), [
    { code: SQLITE_BUSY, message: "Readers hold the db" },
    { code: SQLITE_IOERR_WRITE, message: "Bad offset -1" },
    { code: SQLITE_IOERR_TRUNCATE, message: "Odd size 1023" },
    { code: 0 },
    { code: SQLITE_IOERR_FSYNC, message: "No room to fsync" },
    { code: SQLITE_IOERR_FSYNC, message: "Unknown database file id: 2" },
  ]);
  assert.deepEqual(writes, [
    ["lockWrite", "reserved"],
    ["write", PAGE, [9, 8, 7]],
    ["truncate", 3 * PAGE],
    ["commit"],
    ["lockWrite", "shared"],
    ["truncate", 0],
  ]);
});

Deno.test("serve() answers SQLITE_READONLY for writes to a read-only file", () => {
  const answers = exchange([
    OPEN,
    { op: "writeLock", id: 1, level: "reserved" },
    { op: "write", id: 1, offset: 0, data: new Uint8Array(PAGE) },
    { op: "truncate", id: 1, size: 0 },
    { op: "commit", id: 1 },
  ]);
  assert.deepEqual(answers[0], { code: 0, id: 1, pageSize: PAGE, flags: 0 });
  for (const answer of answers.slice(1)) {
    assert.deepEqual(answer, {
      code: SQLITE_READONLY,
      message: "Write mode is off",
    });
  }
});

/**
 * A pipe that plays a script: each step is the bytes one read returns (at
 * most what the buffer holds, the rest on the next read) or "timeout", a
 * read that throws what an idle pipe throws; then end of file. Events go
 * to `events`: "answer" for each write.
 */
function scriptedPipe(
  script: (Uint8Array | "timeout")[],
  output: number[],
  events: string[],
): PipeIo {
  const steps = [...script];
  return {
    read(buffer) {
      const step = steps.shift();
      if (step === undefined) return null;
      if (step === "timeout") throw new Deno.errors.TimedOut("Idle");
      const n = Math.min(buffer.length, step.length);
      buffer.set(step.subarray(0, n));
      if (n < step.length) steps.unshift(step.subarray(n));
      return n;
    },
    write(buffer) {
      events.push("answer");
      output.push(...buffer);
      return buffer.length;
    },
  };
}

Deno.test("serve() calls onIdle while the pipe is idle, not inside a message", () => {
  const open = encodeRequest(OPEN);
  const size = encodeRequest({ op: "fileSize", id: 1 });
  const output: number[] = [];
  const events: string[] = [];
  serve(
    () => fakeFile([]),
    scriptedPipe(
      [
        "timeout",
        "timeout",
        open.subarray(0, 3), // inside the length
        "timeout",
        open.subarray(3, 9), // inside the body
        "timeout",
        open.subarray(9),
        "timeout",
        size,
      ],
      output,
      events,
    ),
    {
      onIdle: (quiet) => events.push(quiet ? "quiet" : "busy"),
      idleIntervalMs: 60_000,
    },
  );
  assert.deepEqual(events, ["quiet", "quiet", "answer", "quiet", "answer"]);
  assert.deepEqual(answersTo([OPEN, { op: "fileSize", id: 1 }], output), [
    { code: 0, id: 1, pageSize: PAGE, flags: 0 },
    { code: 0, size: 2 * PAGE },
  ]);
});

Deno.test("serve() calls onIdle after answers once the interval has passed", () => {
  const requests: Request[] = [OPEN, { op: "fileSize", id: 1 }, {
    op: "close",
    id: 1,
    stats: [],
  }];
  const output: number[] = [];
  const events: string[] = [];
  serve(
    () => fakeFile([]),
    scriptedPipe(requests.map(encodeRequest), output, events),
    {
      onIdle: (quiet) => events.push(quiet ? "quiet" : "busy"),
      idleIntervalMs: 0,
    },
  );
  assert.deepEqual(events, [
    "answer",
    "busy",
    "answer",
    "busy",
    "answer",
    "busy",
  ]);
});

Deno.test("serve() throws other read errors, and closes the files", () => {
  const closed: unknown[] = [];
  const events: string[] = [];
  const pipe = scriptedPipe([encodeRequest(OPEN)], [], events);
  assert.throws(
    () =>
      serve(() => fakeFile(closed), {
        read(buffer) {
          const n = pipe.read(buffer);
          if (n === null) throw new Deno.errors.ConnectionReset("Reset");
          return n;
        },
        write: pipe.write,
      }),
    Deno.errors.ConnectionReset,
  );
  assert.deepEqual(events, ["answer"]);
  assert.deepEqual(closed, ["no counters"]);
});
