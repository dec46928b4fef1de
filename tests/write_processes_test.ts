/**
 * Write mode across real processes, on real `file://` replicas that
 * Litestream's extension wrote: what one process cannot show.
 *
 * - Two writers in two processes, both on the same base, race their syncs
 *   at the same instant, round after round: exactly one upload wins each
 *   race, the other gets `SQLITE_BUSY` naming its buffer, keeps its
 *   transaction there (a fresh process that opens that buffer is refused
 *   writes and syncs, and the file is left as it was), and the replica
 *   holds exactly the rows of the syncs that won, read back by a fresh
 *   process of ours and by Litestream's extension.
 * - A writer killed with SIGKILL at random instants of a write workload
 *   (seeded: the seed is in every failure message; set `LSVFS_TEST_SEED` to
 *   run one again): every transaction whose COMMIT returned before the kill
 *   is there at the next open, whole (`meta.last` moves with each row), the
 *   database passes `integrity_check`, a buffer left with unsynced
 *   transactions is taken up and uploaded, and after a final sync
 *   Litestream's extension reads the same rows.
 * - The same kill through the loadable extension in python3, whose engine
 *   runs in a child process of its own: killed with its client, it leaves a
 *   buffer the next python3 run takes up; with the client alone killed, it
 *   must let go of the buffer, losing nothing.
 * - A writer killed after its upload but before it emptied its buffer (the
 *   bytes such a kill leaves, made on purpose) may write again at the next
 *   open: the replica moved by its own upload, not another writer's, and
 *   the buffer is emptied onto it.
 *
 * Workers are `tests/_write_worker.ts` (its module documentation has the
 * protocol) and python3 programs; every wait has a time limit, so a hang
 * fails the test instead of stalling it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { WriteBuffer } from "../src/engine/write_buffer.ts";
import { formatTxid } from "../src/ltx/mod.ts";
import { random as seededRandom } from "../src/ltx/_test_util.ts";
import { SQLITE_BUSY } from "../src/sqlite/constants.ts";
import { clientEnv, ourExtension, PYTHON3, ROOT } from "./_extension.ts";
import {
  makeLitestreamReplica,
  queryWithLitestream,
  replicaTxid,
} from "./_litestream.ts";

const WORKER = join(ROOT, "tests/_write_worker.ts");
/** Longest wait for one line from a worker. */
const LINE_TIMEOUT_MS = 30_000;

/** One line a worker printed. */
type Event = { event: string; [field: string]: unknown };

/** An error a worker saw. */
type Failure = { code?: number; message: string } | undefined;

/**
 * A child process printing one record per line (JSON for the workers,
 * words for the python3 programs): the lines are read as they come, so
 * that the child never blocks on a full pipe, and kept for the test to
 * take in order.
 */
class Child {
  readonly process: Deno.ChildProcess;
  readonly lines: string[] = [];
  #taken = 0;
  #wake: (() => void) | undefined;
  #ended = false;
  #reading: Promise<void>;
  #stderr: Promise<string>;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly what: string;

  constructor(command: string, args: string[], options: {
    env?: Record<string, string>;
    cwd?: string;
    what: string;
  }) {
    this.what = options.what;
    this.process = new Deno.Command(command, {
      args,
      cwd: options.cwd ?? ROOT,
      env: options.env,
      clearEnv: options.env !== undefined,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.process.stdin.getWriter();
    this.#stderr = new Response(this.process.stderr).text();
    this.#reading = this.#read();
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of this.process.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        this.lines.push(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        this.#wake?.();
      }
    }
    this.#ended = true;
    this.#wake?.();
  }

  /** The next line not yet taken; throws after the time limit or at EOF. */
  async nextLine(timeoutMs = LINE_TIMEOUT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.#taken >= this.lines.length) {
      if (this.#ended) {
        throw new Error(
          `${this.what} ended without a line: ${await this.#errorText()}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        this.kill();
        throw new Error(
          `${this.what} printed nothing for ${timeoutMs} ms (killed): ${await this
            .#errorText()}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    return this.lines[this.#taken++];
  }

  /** The next JSON line of a worker; a worker's `error` line throws. */
  async next(event?: string): Promise<Event> {
    const line = await this.nextLine();
    const parsed = JSON.parse(line) as Event;
    if (parsed.event === "error" || (event && parsed.event !== event)) {
      throw new Error(
        `${this.what} printed ${line} (expected "${event}"): ${await this
          .#errorText()}`,
      );
    }
    return parsed;
  }

  /** Writes a line to the child's standard input. */
  async send(line: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(`${line}\n`));
  }

  kill(): void {
    try {
      this.process.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }

  /** Closes its input, waits for it to end; its status and standard error. */
  async finish(): Promise<{ status: Deno.CommandStatus; stderr: string }> {
    await this.#stdin.close().catch(() => {});
    const status = await this.process.status;
    await this.#reading;
    return { status, stderr: await this.#stderr };
  }

  async #errorText(): Promise<string> {
    // Standard error is complete only once the child is gone.
    this.kill();
    await this.process.status;
    return (await this.#stderr).trim();
  }
}

/** A worker process of `_write_worker.ts`. */
function worker(what: string, args: string[]): Child {
  return new Child(
    Deno.execPath(),
    [
      "run",
      "--quiet",
      "--allow-all",
      "--config",
      join(ROOT, "deno.json"),
      WORKER,
      ...args,
    ],
    { what },
  );
}

/** Runs a worker to its end; its lines, which must end in a clean exit. */
async function runWorker(what: string, args: string[]): Promise<
  { events: Event[]; stderr: string }
> {
  const child = worker(what, args);
  const { status, stderr } = await child.finish();
  const events = child.lines.map((l) => JSON.parse(l) as Event);
  assert.equal(
    status.code,
    0,
    `${what} failed: ${child.lines.join("\n")}\n${stderr}`,
  );
  return { events, stderr };
}

/** Log lines at a level, from a log in Litestream's format. */
function logLines(log: string, level: string): string[] {
  return log.split("\n").filter((l) => l.includes(`level=${level} `));
}

/** Whether `bytes` holds `text` (ASCII) anywhere. */
function holds(bytes: Uint8Array, text: string): boolean {
  const needle = new TextEncoder().encode(text);
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (bytes[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}

function testSeed(): number {
  const fromEnv = Deno.env.get("LSVFS_TEST_SEED");
  return fromEnv === undefined
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(fromEnv);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("two writer processes racing their syncs on one base: one upload wins each race, the loser keeps its transaction, no synced row is lost", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-write-race-" });
  try {
    const replica = join(dir, "replica");
    const url = `file://${replica}`;
    await makeLitestreamReplica(replica, [
      "CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT, round INTEGER, tag TEXT)",
      "INSERT INTO t (who, round, tag) VALUES ('seed', 0, 's0'), ('seed', 0, 's1'), ('seed', 0, 's2')",
    ]);
    let txid = await replicaTxid(replica);
    const ROUNDS = 6;
    const ROWS = 3;
    const names = ["A", "B"] as const;
    const buffers = { A: join(dir, "a.buffer"), B: join(dir, "b.buffer") };
    const writers = {
      A: worker("writer A", ["race", url, buffers.A, "A"]),
      B: worker("writer B", ["race", url, buffers.B, "B"]),
    };
    const winners: string[] = [];
    const lost: { name: string; round: number; path: string }[] = [];
    let overlapping = 0;
    let raced = false;
    try {
      for (const name of names) {
        assert.equal(
          (await writers[name].next("ready")).txid,
          formatTxid(txid),
        );
      }
      for (let round = 1; round <= ROUNDS; round++) {
        // Both commit on the same base before either syncs.
        for (const name of names) {
          await writers[name].send(`commit ${round} ${ROWS}`);
        }
        for (const name of names) {
          const committed = await writers[name].next("committed");
          assert.equal(
            committed.base,
            formatTxid(txid),
            `${name}'s base in round ${round}`,
          );
        }
        // Then both sync at the same instant.
        const at = Date.now() + 100;
        for (const name of names) await writers[name].send(`sync ${at}`);
        const results = {
          A: await writers.A.next(),
          B: await writers.B.next(),
        };
        const won = names.filter((n) => results[n].event === "synced");
        assert.equal(
          won.length,
          1,
          `round ${round}: exactly one sync must win: ${
            JSON.stringify(results)
          }`,
        );
        const winner = won[0];
        const loser = winner === "A" ? "B" : "A";
        const conflict = results[loser];
        assert.equal(conflict.event, "conflict", JSON.stringify(conflict));
        // The winner made the next TXID; the loser says where its work is.
        assert.equal(results[winner].txid, formatTxid(txid + 1n));
        const error = conflict.error as Failure;
        assert.equal(error?.code, SQLITE_BUSY, JSON.stringify(error));
        assert.ok(
          error.message.includes(`"${buffers[loser]}"`),
          `the conflict names the buffer: ${error.message}`,
        );
        // Once a sync conflicted, writes are refused as well.
        const write = conflict.write as Failure;
        assert.equal(write?.code, SQLITE_BUSY, JSON.stringify(write));
        assert.ok(write.message.includes(`"${buffers[loser]}"`), write.message);
        // Reopened on an empty buffer, the loser stands on the winner's TXID.
        assert.equal(conflict.base, formatTxid(txid + 1n));
        const [s1, e1, s2, e2] = [
          results.A.started,
          results.A.ended,
          results.B.started,
          results.B.ended,
        ] as number[];
        if (s1 < e2 && s2 < e1) overlapping++;
        txid++;
        winners.push(winner);
        lost.push({ name: loser, round, path: conflict.lost as string });
      }
      for (const name of names) await writers[name].send("quit");
      for (const name of names) await writers[name].next("closed");
      raced = true;
    } finally {
      // After a failure, only end them: the failure is what to report.
      if (!raced) { for (const name of names) writers[name].kill(); }
      for (const name of names) {
        const { status, stderr } = await writers[name].finish();
        if (raced) assert.equal(status.code, 0, `writer ${name}: ${stderr}`);
      }
    }
    // Syncs raced for real in most rounds (not a requirement: timing).
    console.log(
      `winners ${winners.join("")}, ${overlapping}/${ROUNDS} syncs overlapped`,
    );

    // One file per round, none overwritten: exactly the winners' rows.
    assert.equal(await replicaTxid(replica), txid);
    const want = [
      ["seed", 0, 3],
      ...winners.map((who, i) => [who, i + 1, ROWS]),
    ].sort((a, b) =>
      String(a[0]) < String(b[0])
        ? -1
        : String(a[0]) > String(b[0])
        ? 1
        : Number(a[1]) - Number(b[1])
    );
    const GROUPS =
      "SELECT who, round, count(*) FROM t GROUP BY who, round ORDER BY who, round";
    const ours = await runWorker("reader", [
      "read",
      url,
      GROUPS,
      "PRAGMA integrity_check",
      "SELECT litestream_txid()",
    ]);
    assert.deepEqual(ours.events[0].results, [want, [["ok"]], [[
      formatTxid(txid),
    ]]]);
    assert.equal(
      await queryWithLitestream(
        replica,
        `.mode list\n${GROUPS};\nPRAGMA integrity_check;`,
      ),
      [...want.map((r) => r.join("|")), "ok"].join("\n"),
    );

    // Each lost transaction is still in its buffer, which a new process
    // that opens it may not upload or write on.
    const before = lost.map((l) => Deno.readFileSync(l.path));
    lost.forEach((l, i) => {
      for (let row = 0; row < ROWS; row++) {
        const tag = `${l.name}-${l.round}-${row}`;
        assert.ok(holds(before[i], tag), `${l.path} lost its row ${tag}`);
      }
    });
    const inspected = await runWorker("inspector", [
      "inspect",
      url,
      ...lost.map((l) => l.path),
    ]);
    assert.equal(inspected.events.length, lost.length);
    lost.forEach((l, i) => {
      const seen = inspected.events[i];
      assert.equal(seen.bufferPath, l.path);
      for (
        const [what, error] of [["write", seen.write], [
          "sync",
          seen.sync,
        ]] as const
      ) {
        const e = error as Failure;
        assert.equal(
          e?.code,
          SQLITE_BUSY,
          `${what} on ${l.path}: ${JSON.stringify(e)}`,
        );
        assert.ok(e.message.includes(`"${l.path}"`), `${what}: ${e.message}`);
      }
      // It shows the replica, without the transaction that lost.
      assert.deepEqual(seen.rows, want);
      assert.equal(seen.txid, formatTxid(txid));
      assert.ok(
        logLines(inspected.stderr, "ERROR").some((line) =>
          line.includes("conflicts") && line.includes(l.path)
        ),
        `no conflict logged for ${l.path}:\n${inspected.stderr}`,
      );
      assert.deepEqual(
        Deno.readFileSync(l.path),
        before[i],
        `${l.path} changed`,
      );
    });
    assert.equal(await replicaTxid(replica), txid, "the inspector uploaded");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a writer killed with SIGKILL at random points of a write workload loses no committed transaction", async () => {
  const seed = testSeed();
  const random = seededRandom(seed);
  const why = `(seed ${seed}; LSVFS_TEST_SEED=${seed} runs it again)`;
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-write-kill-" });
  try {
    const replica = join(dir, "replica");
    const url = `file://${replica}`;
    const bufferPath = join(dir, "buffer");
    await makeLitestreamReplica(replica, [
      "CREATE TABLE w (seq INTEGER PRIMARY KEY, pad BLOB);" +
      "CREATE TABLE meta (last INTEGER); INSERT INTO meta VALUES (0)",
    ]);
    const ITERATIONS = 8;
    /** The highest sequence number printed: its COMMIT had returned. */
    let committed = 0;
    let takenUp = 0;
    let syncs = 0;
    /** What a process found at open, after the kill before it. */
    const check = (found: number[], at: string) => {
      const [count, max, last] = found;
      // Every COMMIT that returned before the kill is there, whole; at
      // most one more (durable in the buffer, its line never printed).
      assert.ok(
        max >= committed && max <= committed + 1,
        `${at}: found up to ${max}, committed up to ${committed}`,
      );
      assert.equal(
        count,
        max,
        `${at}: ${max - count} sequence number(s) missing`,
      );
      assert.equal(
        last,
        max,
        `${at}: meta.last ${last} is not the last row ${max}`,
      );
    };
    const checkLog = (stderr: string, at: string) => {
      if (
        stderr.includes('msg="write buffer taken up from an earlier process"')
      ) takenUp++;
      assert.deepEqual(
        [...logLines(stderr, "ERROR"), ...logLines(stderr, "WARN")],
        [],
        `${at}: errors logged`,
      );
    };
    for (let i = 0; i < ITERATIONS; i++) {
      const at = `iteration ${i} ${why}`;
      const child = worker(`workload ${at}`, [
        "workload",
        url,
        bufferPath,
        String(seed + i),
      ]);
      let opened: Event;
      // Killed anywhere: in a commit, between commits, in a sync.
      const killAfter = 100 + Math.floor(random() * 500);
      try {
        opened = await child.next("opened");
        await sleep(killAfter);
      } finally {
        child.kill();
      }
      const { status, stderr } = await child.finish();
      const events = child.lines.map((l) => JSON.parse(l) as Event);
      assert.equal(
        status.signal,
        "SIGKILL",
        `${at}: the worker ended by itself: ${
          child.lines.join("\n")
        }\n${stderr}`,
      );
      assert.deepEqual(opened.integrity, ["ok"], at);
      check([opened.count, opened.max, opened.last] as number[], at);
      checkLog(stderr, at);
      const before = committed;
      for (const e of events) {
        if (e.event === "committed") {
          committed = Math.max(committed, e.seq as number);
        }
        if (e.event === "synced") syncs++;
      }
      assert.ok(
        committed > before,
        `${at}: nothing committed in ${killAfter} ms`,
      );
    }

    // A last process takes up what the last kill left, and syncs: then the
    // replica alone has every row, for Litestream's extension too.
    const ROWS = "SELECT count(*), max(seq), (SELECT last FROM meta), " +
      "group_concat(seq || ':' || length(pad) || ':' || hex(substr(pad, 1, 4)), ',') " +
      "FROM (SELECT * FROM w ORDER BY seq)";
    const final = await runWorker(`final sync ${why}`, [
      "exec",
      url,
      bufferPath,
      "SYNC",
      ROWS,
      "PRAGMA integrity_check",
    ]);
    const [txid, [rows], integrity] = final.events[0].results as [
      string,
      unknown[][],
      unknown[][],
    ];
    assert.deepEqual(integrity, [["ok"]], why);
    check(rows.slice(0, 3) as number[], `the final sync ${why}`);
    checkLog(final.stderr, `the final sync ${why}`);
    assert.equal(txid, formatTxid(await replicaTxid(replica)), why);
    {
      // The buffer is empty: everything is in the replica.
      const buffer = WriteBuffer.open(bufferPath, 4096, {
        txid: 0n,
        checksum: 0n,
      });
      try {
        assert.equal(buffer.transactions, 0, why);
      } finally {
        buffer.close();
      }
    }
    assert.equal(
      await queryWithLitestream(
        replica,
        `.mode list\n${ROWS};\nPRAGMA integrity_check;`,
      ),
      `${rows.join("|")}\nok`,
      why,
    );
    // A kill left unsynced transactions at least once (at 50 ms between
    // syncs, nearly every time), and the next process took them up.
    assert.ok(takenUp >= 1, `no kill left a buffer to take up ${why}`);
    assert.ok(syncs >= 1, `no explicit sync ran ${why}`);
    console.log(
      `seed ${seed}: ${committed} commits, ${syncs} explicit syncs, ${takenUp}/${ITERATIONS} kills left a buffer to take up`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The engine children of a process (Linux /proc). */
function childrenOf(pid: number): number[] {
  const pids: number[] = [];
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    const text = Deno.readTextFileSync(
      `/proc/${pid}/task/${task.name}/children`,
    );
    pids.push(...text.split(/\s+/).filter(Boolean).map(Number));
  }
  return pids;
}

/** Whether a process is gone (or a zombie, which holds no file any more). */
function gone(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!gone(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

Deno.test("python3 through the loadable extension: a writer killed with SIGKILL mid-workload loses no committed transaction", async () => {
  const lib = ourExtension();
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-write-python-" });
  try {
    const replica = join(dir, "replica");
    const bufferPath = join(dir, "buffer");
    await makeLitestreamReplica(replica, [
      "CREATE TABLE w (seq INTEGER PRIMARY KEY, pad BLOB);" +
      "CREATE TABLE meta (last INTEGER); INSERT INTO meta VALUES (0)",
    ]);
    // The engine child may write only under TMPDIR (and the replica's and
    // buffer's own paths): both are in this temporary folder.
    const env = clientEnv({ TMPDIR: dir, LSVFS_WRITABLE: dir });
    // An hour between syncs: whatever was committed at the kill is in the
    // buffer only.
    const uri = `file:app.db?vfs=litestream&replica_url=file://${replica}` +
      `&write_enabled=true&buffer_path=${bufferPath}&sync_interval=1h`;
    const prelude = `
import sqlite3, sys, time
conn = sqlite3.connect(":memory:")
conn.enable_load_extension(True)
conn.load_extension(${JSON.stringify(lib)})
db = sqlite3.connect(${JSON.stringify(uri)}, uri=True, isolation_level=None)
def state():
    row = db.execute("SELECT count(*), coalesce(max(seq), 0), (SELECT last FROM meta) FROM w").fetchone()
    return list(row) + [db.execute("PRAGMA integrity_check").fetchone()[0]]
`;
    // Prints each sequence number once its COMMIT returned.
    const writer = `${prelude}
seq = state()[1]
stop = time.time() + 20
while time.time() < stop:
    seq += 1
    db.execute("BEGIN")
    db.execute("INSERT INTO w (seq, pad) VALUES (?, randomblob(700))", (seq,))
    db.execute("UPDATE meta SET last = ?", (seq,))
    db.execute("COMMIT")
    print(seq, flush=True)
`;
    // Prints what it finds, then syncs it.
    const reader = `${prelude}
print(*state())
print(db.execute("PRAGMA litestream_sync").fetchone()[0])
db.close()
`;
    const writerPy = join(dir, "writer.py");
    const readerPy = join(dir, "reader.py");
    Deno.writeTextFileSync(writerPy, writer);
    Deno.writeTextFileSync(readerPy, reader);
    /** The highest sequence number printed: its COMMIT had returned. */
    let committed = 0;

    /**
     * Runs the writer until it committed `n` more transactions, then kills
     * it with SIGKILL: its engine child first when `withEngine` (the whole
     * program dies at once, as on a crash), else the client alone.
     */
    const killWriter = async (n: number, withEngine: boolean) => {
      const child = new Child(PYTHON3, [writerPy], {
        env,
        what: "python3 writer",
      });
      let engine: number | undefined;
      try {
        for (let i = 0; i < n; i++) {
          committed = Math.max(committed, Number(await child.nextLine()));
        }
        // One engine child, started at the open; in its own process group,
        // so it does not die with its client unless killed too.
        const engines = childrenOf(child.process.pid);
        assert.equal(engines.length, 1, `engine children: ${engines}`);
        engine = engines[0];
        if (withEngine) Deno.kill(engine, "SIGKILL");
      } finally {
        child.kill();
      }
      const { status, stderr } = await child.finish();
      assert.equal(status.signal, "SIGKILL", stderr);
      for (const line of child.lines) {
        if (/^\d+$/.test(line)) committed = Math.max(committed, Number(line));
      }
      // A client killed alone: its engine must notice and let go of the
      // buffer, or no later process could write.
      assert.ok(
        await waitGone(engine, 10_000),
        `the engine child ${engine} outlived its client by 10 s`,
      );
    };

    /** Runs the reader: what it found must hold every committed row. */
    const check = async (what: string) => {
      const child = new Child(PYTHON3, [readerPy], { env, what });
      const { status, stderr } = await child.finish();
      assert.equal(status.code, 0, `${what}: ${stderr}`);
      const [found, txid] = child.lines;
      const [count, max, last, integrity] = found.split(" ");
      assert.equal(integrity, "ok", what);
      assert.ok(
        Number(max) >= committed && Number(max) <= committed + 1,
        `${what}: found up to ${max}, committed up to ${committed}`,
      );
      assert.equal(count, max, `${what}: sequence numbers missing`);
      assert.equal(last, max, `${what}: meta.last is not the last row`);
      assert.equal(txid, formatTxid(await replicaTxid(replica)), what);
      assert.deepEqual(logLines(stderr, "ERROR"), [], `${what}: ${stderr}`);
      return { found: [count, max, last], stderr };
    };

    // Killed with its engine: the buffer holds every transaction, and the
    // next run takes it up and uploads it.
    await killWriter(30, true);
    const first = await check("python3 after a kill of client and engine");
    assert.match(
      first.stderr,
      /msg="write buffer taken up from an earlier process"/,
    );
    assert.match(
      first.stderr,
      new RegExp(`transactions=${first.found[1]} `),
      "not every transaction was in the buffer",
    );

    // The client alone killed: whatever its engine did with the buffer at
    // the end (synced it, or left it), nothing committed is lost.
    await killWriter(20, false);
    const second = await check("python3 after a kill of the client alone");

    // Everything is in the replica, for Litestream's extension too.
    assert.equal(
      await queryWithLitestream(
        replica,
        ".mode list\nSELECT count(*), max(seq), (SELECT last FROM meta) FROM w;\nPRAGMA integrity_check;",
      ),
      `${second.found.join("|")}\nok`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a writer killed after its upload, before it emptied its buffer, may write again at the next open", async () => {
  // The window of a sync between the create-only upload and the buffer's
  // reset is short, so random kills rarely land in it; the worker leaves
  // the very bytes such a kill leaves instead (see upload-then-die). The
  // next process finds a buffer based on TXID n and the replica at n + 1,
  // which holds exactly the buffer's transactions: nothing to conflict
  // with, and nothing to upload again.
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-write-window-" });
  try {
    const replica = join(dir, "replica");
    const url = `file://${replica}`;
    const bufferPath = join(dir, "buffer");
    await makeLitestreamReplica(replica, [
      "CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT, round INTEGER, tag TEXT)",
    ]);
    const base = await replicaTxid(replica);
    const died = await runWorker("upload-then-die", [
      "upload-then-die",
      url,
      bufferPath,
    ]);
    assert.equal(died.events[0].txid, formatTxid(base + 1n));
    assert.equal(await replicaTxid(replica), base + 1n);

    const GROUPS = "SELECT who, tag FROM t ORDER BY id";
    const next = worker("the next writer", [
      "exec",
      url,
      bufferPath,
      "INSERT INTO t (who, round, tag) VALUES ('next', 0, 'after')",
      "SYNC",
      GROUPS,
    ]);
    const { status, stderr } = await next.finish();
    assert.equal(
      status.code,
      0,
      `the next writer was refused: ${next.lines.join("\n")}\n${stderr}`,
    );
    const [, txid, rows] = JSON.parse(next.lines[0]).results;
    assert.equal(txid, formatTxid(base + 2n));
    assert.deepEqual(rows, [["died", "uploaded-once"], ["next", "after"]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
