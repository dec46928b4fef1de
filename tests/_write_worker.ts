/**
 * A writer process for `write_processes_test.ts`: opens a replica through
 * `mod.ts` in its own process, so that two writers can race for the same
 * TXID and a writer can be killed with SIGKILL at any instant. It prints
 * one JSON object per line on standard output (the engine's log goes to
 * standard error), each written with a blocking write before the worker
 * goes on: a line the test read is a fact about the past, even if the
 * process was killed right after it.
 *
 * Modes (the first argument):
 *
 * - `race URL BUFFER NAME`: one of two writers racing on one replica, with
 *   a sync interval of an hour, so that only the test's `sync` uploads. It
 *   prints `{"event":"ready","txid"}`, then obeys lines on standard input:
 *   - `commit ROUND ROWS`: one transaction inserting ROWS rows into `t`,
 *     tagged `NAME-ROUND-I`; prints `committed` with the TXID the writer
 *     stands on (the base both racers must share).
 *   - `sync AT`: waits until the wall-clock time AT (ms since the epoch),
 *     the same for both writers, then runs `db.sync()` (both lines carry
 *     when it started and ended, to tell whether the syncs overlapped).
 *     The winner prints `synced` with the TXID. The loser prints `conflict` with the error,
 *     and what a write then gets (it must be refused too); then it
 *     continues as a user would: it closes the database, moves its buffer
 *     away to `BUFFER.lost-ROUND` (which keeps the transaction that lost),
 *     and opens the replica again with an empty buffer at BUFFER, which
 *     takes up the winner's TXID as its base; the line says where the
 *     buffer went and the new base.
 *   - `quit`: closes the database and prints `closed`.
 * - `inspect URL BUFFER...`: opens the replica in write mode once per
 *   buffer (as a process started after a crash would), and for each prints
 *   `inspected`: the rows of `t` it sees, and the errors a write and a sync
 *   get. Nothing is expected to succeed on a buffer that conflicts.
 * - `workload URL BUFFER SEED`: a write workload meant to be killed. Opens
 *   with a 50 ms sync interval (so syncs also happen on their own), prints
 *   `opened` with what it finds (row count, highest sequence number, the
 *   `meta` row, `integrity_check`, TXID), then commits transactions in a
 *   loop, each inserting the next sequence number into `w` and setting
 *   `meta.last` to it, and prints `committed` only after COMMIT returned;
 *   now and then (seeded) it calls `db.sync()` and prints `synced`. It
 *   stops by itself after 20 s, a safety net: the test kills it long before.
 * - `read URL SQL...`: opens the replica read-only and prints `rows`, the
 *   values of each statement.
 * - `exec URL BUFFER SQL...`: opens in write mode (taking up what the
 *   buffer holds) and runs the statements in order, `SYNC` standing for
 *   `db.sync()` (its result is the TXID); prints `rows`, the results.
 * - `upload-then-die URL BUFFER`: commits one row tagged `uploaded-once`
 *   and syncs it, then leaves on disk exactly what a SIGKILL between the
 *   upload and the emptying of the buffer leaves: the buffer as it was
 *   while the upload ran (copied just before the sync: a sync does not
 *   touch the buffer until the upload is done), over the emptied one.
 *
 * An unexpected error prints `{"event":"error"}` with its message and exits
 * with code 1.
 *
 * @module
 */

import { random as seededRandom } from "../src/ltx/_test_util.ts";
import { type Database, open, SqliteError } from "../mod.ts";

const encoder = new TextEncoder();

/** Prints one line of JSON, with a blocking write, before going on. */
function emit(event: string, fields: Record<string, unknown> = {}): void {
  const bytes = encoder.encode(`${JSON.stringify({ event, ...fields })}\n`);
  let done = 0;
  while (done < bytes.length) {
    done += Deno.stdout.writeSync(bytes.subarray(done));
  }
}

/** What an error says, for the test to check. */
function describe(error: unknown): { code?: number; message: string } {
  if (error instanceof SqliteError) {
    return { code: error.code, message: error.message };
  }
  return { message: error instanceof Error ? error.message : String(error) };
}

/** Runs `fn` and returns its error; undefined when it did not fail. */
function failure(
  fn: () => unknown,
): { code?: number; message: string } | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return describe(error);
  }
}

function txidOf(db: Database): string {
  return String(db.values("SELECT litestream_txid()")[0][0]);
}

/** Lines of standard input. */
async function* stdinLines(): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of Deno.stdin.readable) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
    }
  }
}

/** Waits until a wall-clock time: a timer, then a spin for the last ms. */
async function until(at: number): Promise<void> {
  const wait = at - Date.now() - 2;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  while (Date.now() < at) {
    // Spin: both racers leave this loop within a millisecond of AT.
  }
}

async function race(url: string, bufferPath: string, name: string) {
  const openWriter = () =>
    open(url, { write: true, bufferPath, syncInterval: "1h" });
  let db = openWriter();
  let round = 0;
  emit("ready", { txid: txidOf(db) });
  for await (const line of stdinLines()) {
    const [command, ...args] = line.trim().split(/\s+/);
    if (command === "commit") {
      round = Number(args[0]);
      const rows = Number(args[1]);
      db.exec("BEGIN");
      for (let i = 0; i < rows; i++) {
        db.exec(
          "INSERT INTO t (who, round, tag) VALUES (?, ?, ?)",
          name,
          round,
          `${name}-${round}-${i}`,
        );
      }
      db.exec("COMMIT");
      emit("committed", { round, base: txidOf(db) });
    } else if (command === "sync") {
      await until(Number(args[0]));
      const started = performance.timeOrigin + performance.now();
      let txid: string | undefined;
      const error = failure(() => txid = db.sync());
      const ended = performance.timeOrigin + performance.now();
      if (error === undefined) {
        emit("synced", { round, txid, started, ended });
        continue;
      }
      // Writes must be refused too, with the same conflict.
      const write = failure(() =>
        db.exec(
          "INSERT INTO t (who, round, tag) VALUES (?, ?, 'after-conflict')",
          name,
          round,
        )
      );
      db.close();
      const lost = `${bufferPath}.lost-${round}`;
      Deno.renameSync(bufferPath, lost);
      db = openWriter();
      emit("conflict", {
        round,
        error,
        write,
        lost,
        base: txidOf(db),
        started,
        ended,
      });
    } else if (command === "quit") {
      break;
    } else {
      throw new Error(`Unknown command: ${line}`);
    }
  }
  db.close();
  emit("closed");
}

function inspect(url: string, buffers: string[]) {
  for (const bufferPath of buffers) {
    const db = open(url, { write: true, bufferPath, syncInterval: "1h" });
    try {
      const rows = db.values(
        "SELECT who, round, count(*) FROM t GROUP BY who, round ORDER BY who, round",
      );
      const write = failure(() =>
        db.exec("INSERT INTO t (who, round, tag) VALUES ('inspect', 0, 'x')")
      );
      const sync = failure(() => db.sync());
      emit("inspected", { bufferPath, rows, write, sync, txid: txidOf(db) });
    } finally {
      db.close();
    }
  }
}

function workload(url: string, bufferPath: string, seed: number) {
  const random = seededRandom(seed);
  using db = open(url, { write: true, bufferPath, syncInterval: "50ms" });
  const [count, max] = db.values(
    "SELECT count(*), coalesce(max(seq), 0) FROM w",
  )[0] as number[];
  const last = db.values("SELECT last FROM meta")[0][0] as number;
  const integrity = db.values("PRAGMA integrity_check").map((r) => r[0]);
  emit("opened", { count, max, last, integrity, txid: txidOf(db) });
  const stopAt = Date.now() + 20_000;
  for (let seq = max + 1; Date.now() < stopAt; seq++) {
    // Pads of up to 3 KiB: the database grows by a page now and then.
    db.exec("BEGIN");
    db.exec(
      "INSERT INTO w (seq, pad) VALUES (?, randomblob(?))",
      seq,
      Math.floor(random() * 3000),
    );
    db.exec("UPDATE meta SET last = ?", seq);
    db.exec("COMMIT");
    emit("committed", { seq });
    if (random() < 0.1) emit("synced", { seq, txid: db.sync() });
  }
  emit("done");
}

function read(url: string, statements: string[]) {
  using db = open(url);
  emit("rows", { results: statements.map((sql) => db.values(sql)) });
}

function execute(url: string, bufferPath: string, statements: string[]) {
  using db = open(url, { write: true, bufferPath, syncInterval: "1h" });
  const results = statements.map((sql) =>
    sql === "SYNC" ? db.sync() : db.values(sql)
  );
  emit("rows", { results });
}

function uploadThenDie(url: string, bufferPath: string) {
  {
    using db = open(url, { write: true, bufferPath, syncInterval: "1h" });
    db.exec(
      "INSERT INTO t (who, round, tag) VALUES ('died', 0, 'uploaded-once')",
    );
    Deno.copyFileSync(bufferPath, `${bufferPath}.at-upload`);
    emit("synced", { txid: db.sync() });
  }
  Deno.renameSync(`${bufferPath}.at-upload`, bufferPath);
  emit("left");
}

if (import.meta.main) {
  const [mode, url, ...rest] = Deno.args;
  try {
    if (mode === "race") await race(url, rest[0], rest[1]);
    else if (mode === "inspect") inspect(url, rest);
    else if (mode === "workload") workload(url, rest[0], Number(rest[1]));
    else if (mode === "read") read(url, rest);
    else if (mode === "exec") execute(url, rest[0], rest.slice(1));
    else if (mode === "upload-then-die") uploadThenDie(url, rest[0]);
    else throw new Error(`Unknown mode "${mode}"`);
  } catch (error) {
    emit("error", describe(error));
    Deno.exit(1);
  }
}
