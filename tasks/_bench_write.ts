/**
 * The write rows of `deno task bench`: lsvfs's write mode beside
 * Litestream's, through the same client (Debian's sqlite3 CLI, our
 * extension against theirs), on the same starting replica (a fresh copy
 * for every process), against a folder and against s3rver behind the
 * latency proxy; plus lsvfs through its Deno API, and plain SQLite on a
 * local file for the commits (the physical limit: a rollback journal,
 * `synchronous=FULL`).
 *
 * Workloads, one client process each:
 *
 * - commits: 500 INSERTs of 100 bytes, each its own transaction, with the
 *   sync interval at an hour (no sync in the loop); then the final sync of
 *   the 500 (ours: `PRAGMA litestream_sync`; Litestream's, which has no
 *   sync PRAGMA in v0.5.17, syncs at close: from the last commit to the
 *   process's exit); then, ours only, 10 rounds of 10 commits and a
 *   `PRAGMA litestream_sync`, whose median is the sync latency.
 * - commit to replica: 5 rounds of one INSERT, then a wait until its LTX
 *   file is in the replica (the file in the folder; on S3, the proxy has
 *   answered its PUT), with the sync interval at 10 ms: the time from the
 *   end of the COMMIT to the file, for both, without a PRAGMA.
 * - default interval: the 500 commits at the default sync interval (1 s),
 *   so syncs run in the loop.
 *
 * Clients are driven over stdin, one statement a line, and print
 * `mark|<epoch ms>` lines (SQL `julianday('now')`, ms resolution) where the
 * bench asks. A client that fails (Litestream's write mode: "database disk
 * image is malformed" on the transaction after a sync) is a result: its
 * figures so far count, the others are recorded as failures with the
 * client's error text. After every process the replica is read back
 * through our extension, read-only, in a new process: the row count must
 * be what was committed and `PRAGMA integrity_check` ok, or the run counts
 * as failed too.
 *
 * @module
 */

import { join } from "node:path";
import {
  hydrateWithLitestream,
  makeLitestreamReplica,
  replicaTxid,
} from "../tests/_litestream.ts";
import { S3RVER_ENV, type S3Server, startS3Server } from "../tests/_s3.ts";
import type { Row } from "./bench.ts";
import { sqlite3CliPath } from "./setup_test_env.ts";

/** Rows of the starting replica: about 4 MB, as the S3 read rows. */
const BASE_ROWS = 4_000;
/** TXID of the starting replica (a CREATE TABLE, then the rows). */
const BASE_TXID = 2n;
/** Commits of the commits workloads. */
const COMMITS = 500;
/** Rounds of commits then `PRAGMA litestream_sync` (ours). */
const SYNC_ROUNDS = 10;
/** Commits before each of those syncs. */
const COMMITS_PER_SYNC = 10;
/** Rounds of one commit then a wait for its file. */
const LATENCY_ROUNDS = 5;
/** Sync interval of the commit-to-replica workload. */
const SHORT_INTERVAL = "10ms";
/** Longest wait for a file to reach the replica, ms. */
const APPEAR_TIMEOUT_MS = 15_000;
/** Longest life of one client process, ms. */
const PROCESS_TIMEOUT_MS = 120_000;

const MARK = "SELECT 'mark|' || ((julianday('now') - 2440587.5) * 86400000.0);";
const INSERT = "INSERT INTO big (body) VALUES (randomblob(100));";
const SYNC = "PRAGMA litestream_sync;";
const rowsOf = (n: number) =>
  `(WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < ${n}) SELECT v FROM s)`;

const encoder = new TextEncoder();
const now = () => performance.timeOrigin + performance.now();

/** A writing client set-up. */
interface Writer {
  name: string;
  kind: "plain" | "litestream" | "lsvfs";
  client: "sqlite3" | "deno";
}

/** Where one process writes: a fresh copy of the starting replica. */
interface Target {
  /** The replica URL (or, for plain SQLite, the database file). */
  url: string;
  /** Environment for the client. */
  env: Record<string, string>;
  /** Resolves when the file of `txid` is in the replica; its time, epoch ms. */
  appeared(txid: bigint): Promise<number>;
}

/** A figure of the write rows. */
interface Figure {
  key: string;
  label: string;
  unit: Row["unit"];
}

const FIGURES = {
  commits: {
    key: "commits",
    label: `${COMMITS} commits, one INSERT each, sync interval 1 h`,
    unit: "ms",
  },
  commitRate: {
    key: "commitRate",
    label: "commits per second, sync interval 1 h",
    unit: "commits/s",
  },
  finalSync: {
    key: "finalSync",
    label:
      `final sync of the ${COMMITS} (lsvfs: PRAGMA litestream_sync; Litestream: at close)`,
    unit: "ms",
  },
  syncLatency: {
    key: "syncLatency",
    label: `PRAGMA litestream_sync after ${COMMITS_PER_SYNC} commits, median`,
    unit: "ms",
  },
  firstToReplica: {
    key: "firstToReplica",
    label:
      `commit to file in replica, 1st transaction, sync interval ${SHORT_INTERVAL}`,
    unit: "ms",
  },
  laterToReplica: {
    key: "laterToReplica",
    label:
      `commit to file in replica, transactions 2 to ${LATENCY_ROUNDS}, median, sync interval ${SHORT_INTERVAL}`,
    unit: "ms",
  },
  defaultCommits: {
    key: "defaultCommits",
    label: `${COMMITS} commits, sync interval 1 s (default)`,
    unit: "ms",
  },
  defaultCommitRate: {
    key: "defaultCommitRate",
    label: "commits per second, sync interval 1 s (default)",
    unit: "commits/s",
  },
} as const satisfies Record<string, Figure>;

/** Figures a writer cannot give, and why (printed instead of a number). */
const NOT_APPLICABLE: Record<Writer["kind"], Partial<Record<string, string>>> =
  {
    plain: { finalSync: "n/a", syncLatency: "n/a" },
    litestream: {
      syncLatency:
        "n/a: no sync PRAGMA (v0.5.17 syncs on its interval or at close)",
    },
    lsvfs: {},
  };

/** A client process's failure: what it printed on standard error. */
class ClientFailure extends Error {}

/**
 * One client process, fed statements on stdin and read line by line.
 * Lines other than marks are kept in {@linkcode Session.output}.
 */
class Session {
  readonly output: string[] = [];
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;
  #stderr: Promise<string>;
  #timer: ReturnType<typeof setTimeout>;
  #what: string;
  #logFile?: string;

  constructor(
    command: Deno.Command,
    what: string,
    prelude: string[],
    logFile?: string,
  ) {
    this.#what = what;
    this.#logFile = logFile;
    this.#child = command.spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#lines = lines(this.#child.stdout);
    this.#stderr = new Response(this.#child.stderr).text();
    this.#timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Gone already.
      }
    }, PROCESS_TIMEOUT_MS);
    // The prelude's errors come with the first read.
    this.#stdin.write(encoder.encode(prelude.map((l) => `${l}\n`).join("")))
      .catch(() => {});
  }

  /** Sends statements, one a line. */
  async send(...statements: string[]): Promise<void> {
    try {
      await this.#stdin.write(encoder.encode(statements.join("\n") + "\n"));
    } catch {
      // The process is gone; the next read says why.
    }
  }

  /** Asks for a mark and waits for it: the client's clock, epoch ms. */
  async mark(): Promise<number> {
    await this.send(MARK);
    for (;;) {
      const next = await this.#lines.next();
      if (next.done) throw await this.#failure();
      const m = /^mark\|([\d.]+)$/.exec(next.value);
      if (m) return Number(m[1]);
      this.output.push(next.value);
    }
  }

  /**
   * Closes stdin and waits for the exit.
   *
   * @returns The time of the exit, epoch ms.
   */
  async close(): Promise<number> {
    await this.#stdin.close().catch(() => {});
    const status = await this.#child.status;
    const exitAt = now();
    clearTimeout(this.#timer);
    for (;;) {
      const next = await this.#lines.next();
      if (next.done) break;
      this.output.push(next.value);
    }
    if (!status.success) throw await this.#failure();
    const logged = await logErrors(this.#logFile);
    if (logged) {
      throw new ClientFailure(`${this.#what} logged errors: ${logged}`);
    }
    return exitAt;
  }

  /** Kills the process if it still runs (after a failure of the bench). */
  async kill(): Promise<void> {
    clearTimeout(this.#timer);
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Gone already.
    }
    await this.#child.status;
    await this.#stderr.catch(() => "");
  }

  async #failure(): Promise<ClientFailure> {
    await this.#stdin.close().catch(() => {});
    const status = await this.#child.status;
    clearTimeout(this.#timer);
    const stderr = plain(await this.#stderr).trim();
    const logged = await logErrors(this.#logFile);
    return new ClientFailure(
      `${this.#what} exited with ${status.signal ?? status.code}: ${stderr}${
        logged ? `\nLog: ${logged}` : ""
      }`,
    );
  }
}

async function* lines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string, void, undefined> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
    }
  }
  if (buffered) yield buffered;
}

/** Lines of Litestream's log at WARN or ERROR, joined; "" if none. */
async function logErrors(path: string | undefined): Promise<string> {
  if (path === undefined) return "";
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((l) => /\blevel=(ERROR|WARN)\b/.test(l))
    .join("\n");
}

/** The reason of a failure in a few words, for the table. */
function shortReason(text: string): string {
  const lines = text.split("\n").map((l) => l.trim());
  const patterns = [
    /Uncaught (?:\([^)]*\) )*\w+: (.*)$/,
    // Our engine's log, in the extension's client (which says only
    // "database is locked").
    /level=ERROR msg="([^"]*)"/,
    /(?:Runtime|Parse) error near line \d+: (.*)$/,
    /^Error: (?:stepping, )?(.*)$/,
    /^(read back wrong: .*)$/,
    /(?:exited with \w+|failed): (.+)$/,
  ];
  const logged = text.match(
    /level=ERROR msg="([^"]*)"(?: error="((?:[^"\\]|\\.)*)")?/,
  );
  let reason = lines[0];
  for (const pattern of patterns) {
    const found = lines.map((l) => pattern.exec(l)?.[1]).find((x) => x);
    if (found) {
      reason = found;
      if (logged && found === logged[1] && logged[2]) {
        reason += `: ${logged[2].replaceAll('\\"', '"')}`;
      }
      break;
    }
  }
  // Quoted URLs and paths say nothing in a table cell.
  const short = reason.replace(/ \(\d+\)$/, "").replace(/"[^"]{24,}"/g, "…");
  const where = text.startsWith("reading the replica back")
    ? "read back: "
    : "";
  return `${where}${short.length > 90 ? `${short.slice(0, 89)}…` : short}`;
}

/** Without the terminal colours Deno puts in its error output. */
function plain(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/** Starts a client process with the database open. */
function startClient(
  writer: Writer,
  target: Target,
  scratch: string,
  syncInterval: string,
  extensions: { ours: string; theirs: string },
): Session {
  const buffer = join(scratch, "buffer");
  const env: Record<string, string> = {
    ...target.env,
    TMPDIR: scratch,
  };
  let logFile: string | undefined;
  if (writer.client === "deno") {
    const options = { write: true, bufferPath: buffer, syncInterval };
    return new Session(
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-all",
          new URL("./_bench_deno.ts", import.meta.url).pathname,
          target.url,
          JSON.stringify(options),
          "-",
        ],
        cwd: scratch,
        env,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }),
      writer.name,
      [],
    );
  }
  const prelude = [".bail on", ".mode list"];
  if (writer.kind === "plain") {
    prelude.push(`.open ${target.url}`);
  } else if (writer.kind === "litestream") {
    logFile = join(scratch, "litestream.log");
    Object.assign(env, {
      LITESTREAM_REPLICA_URL: target.url,
      LITESTREAM_WRITE_ENABLED: "true",
      LITESTREAM_SYNC_INTERVAL: syncInterval,
      // Accepted, though v0.5.17 puts its buffer under TMPDIR anyway.
      LITESTREAM_BUFFER_PATH: buffer,
      LITESTREAM_LOG_FILE: logFile,
    });
    prelude.push(
      `.load ${extensions.theirs}`,
      ".open file:bench.db?vfs=litestream",
    );
  } else {
    env.LITESTREAM_REPLICA_URL = target.url;
    const params = new URLSearchParams({
      vfs: "litestream",
      write_enabled: "true",
      buffer_path: buffer,
      sync_interval: syncInterval,
    });
    prelude.push(
      `.load ${extensions.ours}`,
      `.open file:bench.db?${params}`,
    );
  }
  return new Session(
    new Deno.Command(sqlite3CliPath(), {
      args: ["-batch"],
      cwd: scratch,
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }),
    writer.name,
    prelude,
    logFile,
  );
}

/** What a correctness check read back. */
interface Check {
  rows: number;
  integrity: string;
  txid?: string;
}

/**
 * Reads a replica back through our extension, read-only, in a new process
 * (or a plain file with sqlite3 alone).
 */
async function readBack(
  writer: Writer,
  target: Target,
  scratch: string,
  ours: string,
): Promise<Check> {
  const script = [".bail on", ".mode list"];
  if (writer.kind === "plain") {
    script.push(`.open --readonly ${target.url}`);
  } else {
    script.push(`.load ${ours}`, ".open file:check.db?vfs=litestream");
  }
  script.push("SELECT count(*) FROM big;", "PRAGMA integrity_check;");
  if (writer.kind !== "plain") script.push("SELECT litestream_txid();");
  const child = new Deno.Command(sqlite3CliPath(), {
    args: ["-batch"],
    cwd: scratch,
    env: {
      ...target.env,
      TMPDIR: scratch,
      ...(writer.kind === "plain"
        ? {}
        : { LITESTREAM_REPLICA_URL: target.url }),
    },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), PROCESS_TIMEOUT_MS);
  const w = child.stdin.getWriter();
  await w.write(encoder.encode(script.join("\n") + "\n"));
  await w.close();
  const out = await child.output();
  clearTimeout(timer);
  const stdout = new TextDecoder().decode(out.stdout).trim().split("\n");
  if (!out.success) {
    throw new ClientFailure(
      `reading the replica back through lsvfs failed: ${
        plain(new TextDecoder().decode(out.stderr)).trim()
      }`,
    );
  }
  return { rows: Number(stdout[0]), integrity: stdout[1], txid: stdout[2] };
}

/** One workload: its figures, and what a process of it does. */
interface WriteWorkload {
  name: string;
  syncInterval: string;
  figures: Figure[];
  kinds: Writer["kind"][];
  /**
   * Runs the workload in a started client; puts figures in `out` as they
   * come (a failure keeps them).
   *
   * @returns Rows expected in the replica after a successful close.
   */
  run(
    s: Session,
    writer: Writer,
    target: Target,
    out: Record<string, number>,
  ): Promise<number>;
  /** Rows expected after a failure: what is known committed and synced. */
  afterFailure?(out: Record<string, number>): number | undefined;
}

const inserts = (n: number) => Array.from({ length: n }, () => INSERT);

const WORKLOADS: WriteWorkload[] = [
  {
    name: "commits",
    syncInterval: "1h",
    figures: [
      FIGURES.commits,
      FIGURES.commitRate,
      FIGURES.finalSync,
      FIGURES.syncLatency,
    ],
    kinds: ["plain", "litestream", "lsvfs"],
    async run(s, writer, _target, out) {
      const t0 = await s.mark();
      await s.send(...inserts(COMMITS));
      const t1 = await s.mark();
      out.commits = t1 - t0;
      out.commitRate = COMMITS / ((t1 - t0) / 1000);
      if (writer.kind === "plain") {
        await s.close();
        return BASE_ROWS + COMMITS;
      }
      if (writer.kind === "litestream") {
        out.finalSync = await s.close() - t1;
        return BASE_ROWS + COMMITS;
      }
      await s.send(SYNC);
      out.finalSync = await s.mark() - t1;
      const syncs: number[] = [];
      for (let i = 0; i < SYNC_ROUNDS; i++) {
        await s.send(...inserts(COMMITS_PER_SYNC));
        const a = await s.mark();
        await s.send(SYNC);
        syncs.push(await s.mark() - a);
      }
      out.syncLatency = median(syncs);
      await s.close();
      return BASE_ROWS + COMMITS + SYNC_ROUNDS * COMMITS_PER_SYNC;
    },
  },
  {
    name: "commit to replica",
    syncInterval: SHORT_INTERVAL,
    figures: [FIGURES.firstToReplica, FIGURES.laterToReplica],
    kinds: ["litestream", "lsvfs"],
    async run(s, _writer, target, out) {
      const latencies: number[] = [];
      for (let i = 1; i <= LATENCY_ROUNDS; i++) {
        await s.send(INSERT);
        const committed = await s.mark();
        latencies.push(
          await target.appeared(BASE_TXID + BigInt(i)) - committed,
        );
        if (i === 1) out.firstToReplica = latencies[0];
        out.rounds = i;
      }
      out.laterToReplica = median(latencies.slice(1));
      await s.close();
      return BASE_ROWS + LATENCY_ROUNDS;
    },
    afterFailure: (out) =>
      out.rounds === undefined ? undefined : BASE_ROWS + out.rounds,
  },
  {
    name: "default interval",
    syncInterval: "1s",
    figures: [FIGURES.defaultCommits, FIGURES.defaultCommitRate],
    kinds: ["litestream", "lsvfs"],
    async run(s, _writer, _target, out) {
      const t0 = await s.mark();
      await s.send(...inserts(COMMITS));
      const t1 = await s.mark();
      out.defaultCommits = t1 - t0;
      out.defaultCommitRate = COMMITS / ((t1 - t0) / 1000);
      await s.close();
      return BASE_ROWS + COMMITS;
    },
  },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) {
      await copyDir(join(from, entry.name), join(to, entry.name));
    } else if (entry.isFile) {
      await Deno.copyFile(join(from, entry.name), join(to, entry.name));
    }
  }
}

/** The starting replica, made once by Litestream's extension. */
async function baseReplica(
  data: string,
): Promise<{ replica: string; plain: string }> {
  const replica = join(data, "write", "replica");
  const plain = join(data, "write", "restored.db");
  if (await replicaTxid(replica).catch(() => 0n) !== BASE_TXID) {
    await Deno.remove(join(data, "write"), { recursive: true }).catch(() => {});
    console.error(
      "bench: writing the 4 MB starting replica of the write rows with Litestream's extension",
    );
    await makeLitestreamReplica(replica, [
      "CREATE TABLE big (id INTEGER PRIMARY KEY, body BLOB)",
      `INSERT INTO big (body) SELECT randomblob(1000) FROM ${
        rowsOf(BASE_ROWS)
      }`,
    ]);
  }
  await Deno.remove(plain).catch(() => {});
  await Deno.remove(`${plain}.meta`).catch(() => {});
  await hydrateWithLitestream(replica, plain);
  return { replica, plain };
}

/** Makes a fresh copy of the starting replica for one process. */
type TargetMaker = (writer: Writer, scratch: string) => Promise<Target>;

function fileTargets(base: { replica: string; plain: string }): TargetMaker {
  return async (writer, scratch) => {
    if (writer.kind === "plain") {
      const db = join(scratch, "plain.db");
      await Deno.copyFile(base.plain, db);
      return {
        url: db,
        env: {},
        appeared: () => {
          throw new Error("A plain database has no replica");
        },
      };
    }
    const dir = join(scratch, "replica");
    await copyDir(base.replica, dir);
    return {
      url: `file://${dir}`,
      env: {},
      async appeared(txid) {
        const hex = txid.toString(16).padStart(16, "0");
        const path = join(dir, "ltx", "0", `${hex}-${hex}.ltx`);
        const deadline = now() + APPEAR_TIMEOUT_MS;
        for (;;) {
          try {
            await Deno.stat(path);
            return now();
          } catch {
            if (now() > deadline) {
              throw new ClientFailure(
                `TXID ${hex} never reached the replica: timed out after ${APPEAR_TIMEOUT_MS} ms`,
              );
            }
            await new Promise((r) => setTimeout(r, 1));
          }
        }
      },
    };
  };
}

/**
 * The starting replica as Litestream v0.5.17 lays it out on S3: each level
 * under `<level as 4 hex digits>/`, not `ltx/<level>/` (it lists only
 * those, and would see an empty replica), so that it can write to it; ours
 * reads both layouts and writes in the one it finds.
 */
async function s3Layout(replica: string, scratch: string): Promise<string> {
  const out = join(scratch, "s3-replica");
  for await (const level of Deno.readDir(join(replica, "ltx"))) {
    if (!level.isDirectory || !/^\d$/.test(level.name)) continue;
    await copyDir(
      join(replica, "ltx", level.name),
      join(out, Number(level.name).toString(16).padStart(4, "0")),
    );
  }
  return out;
}

function s3Targets(server: S3Server, layout: string): TargetMaker {
  let n = 0;
  const env = { ...S3RVER_ENV, AWS_CA_BUNDLE: "" };
  return async () => {
    const prefix = `write-${++n}`;
    await server.upload(layout, prefix);
    await server.resetCounts();
    return {
      url:
        `s3://${server.bucket}/${prefix}?endpoint=${server.endpoint}&forcePathStyle=true`,
      env,
      async appeared(txid) {
        const hex = txid.toString(16).padStart(16, "0");
        // In either layout (see s3Layout).
        const paths = [
          `/${server.bucket}/${prefix}/0000/${hex}-${hex}.ltx`,
          `/${server.bucket}/${prefix}/ltx/0/${hex}-${hex}.ltx`,
        ];
        const deadline = now() + APPEAR_TIMEOUT_MS;
        for (;;) {
          // The proxy sets a request's end once its answer is sent.
          const done = (await server.requests()).some((r) =>
            r.kind === "PUT" && paths.includes(r.path) && r.status >= 200 &&
            r.status < 300 && r.end > r.start
          );
          if (done) return now();
          if (now() > deadline) {
            throw new ClientFailure(
              `TXID ${hex} never reached the replica: timed out after ${APPEAR_TIMEOUT_MS} ms`,
            );
          }
          await new Promise((r) => setTimeout(r, 2));
        }
      },
    };
  };
}

/** Per figure and writer: values of the runs, and failures. */
class Tally {
  values = new Map<string, Map<string, number[]>>();
  failures = new Map<string, Map<string, string[]>>();
  runs = new Map<string, Map<string, number>>();

  #bump<T>(map: Map<string, Map<string, T[]>>, f: string, w: string, x: T) {
    if (!map.has(f)) map.set(f, new Map());
    const byWriter = map.get(f)!;
    byWriter.set(w, [...(byWriter.get(w) ?? []), x]);
  }

  add(figure: string, writer: string, value: number) {
    this.#bump(this.values, figure, writer, value);
  }

  fail(figure: string, writer: string, text: string) {
    this.#bump(this.failures, figure, writer, text);
  }

  rows(figures: Figure[], writers: Writer[]): Row[] {
    return figures.map((figure) => {
      const values: Record<string, number> = {};
      const samples: Record<string, number[]> = {};
      const notes: Record<string, string> = {};
      const failures: Record<string, string[]> = {};
      for (const writer of writers) {
        const xs = this.values.get(figure.key)?.get(writer.name) ?? [];
        const fs = this.failures.get(figure.key)?.get(writer.name) ?? [];
        const na = NOT_APPLICABLE[writer.kind][figure.key];
        if (xs.length > 0) {
          values[writer.name] = median(xs);
          samples[writer.name] = xs;
        }
        if (fs.length > 0) {
          failures[writer.name] = fs;
          const reason = `fails: ${shortReason(fs[0].split("\n; then ")[0])}`;
          notes[writer.name] = xs.length > 0
            ? `(${fs.length}/${fs.length + xs.length} runs ${reason})`
            : reason;
        } else if (na !== undefined && xs.length === 0) {
          notes[writer.name] = na;
        }
      }
      return {
        workload: figure.label,
        unit: figure.unit,
        values,
        samples,
        notes,
        ...(Object.keys(failures).length > 0 ? { failures } : {}),
      };
    });
  }
}

/** One backend's write rows. */
export interface WriteSection {
  /** A short name: "file" or "s3". */
  name: string;
  /** The table's title. */
  title: string;
  /** The columns, in order. */
  columns: string[];
  /** Ratio columns: name, numerator column, denominator column. */
  ratios: [string, string, string][];
  rows: Row[];
  /** Whether one of lsvfs's runs failed or read back wrong. */
  oursFailed: boolean;
}

async function runSection(
  writers: Writer[],
  makeTarget: TargetMaker,
  runs: number,
  extensions: { ours: string; theirs: string },
  label: string,
): Promise<{ rows: Row[]; oursFailed: boolean }> {
  const tally = new Tally();
  let oursFailed = false;
  for (let run = 0; run < runs; run++) {
    for (const workload of WORKLOADS) {
      for (const writer of writers) {
        if (!workload.kinds.includes(writer.kind)) continue;
        const scratch = await Deno.makeTempDir({
          prefix: "lsvfs-bench-write-",
        });
        const out: Record<string, number> = {};
        const started = now();
        // The client failed (its figures so far count), or what it left
        // read back wrong (then none of the run's figures count).
        let failed: string | undefined;
        let wrong: string | undefined;
        let check: Check | undefined;
        try {
          const target = await makeTarget(writer, scratch);
          const session = startClient(
            writer,
            target,
            scratch,
            workload.syncInterval,
            extensions,
          );
          let expected: number | undefined;
          try {
            expected = await workload.run(session, writer, target, out);
          } catch (error) {
            await session.kill();
            if (!(error instanceof ClientFailure)) throw error;
            failed = error.message;
            expected = workload.afterFailure?.(out);
          }
          try {
            check = await readBack(writer, target, scratch, extensions.ours);
            if (
              check.integrity !== "ok" ||
              (expected !== undefined && check.rows !== expected)
            ) {
              wrong = `read back wrong: ${check.rows} rows (expected ${
                expected ?? "any"
              }), integrity_check "${check.integrity}"`;
            }
          } catch (error) {
            if (!(error instanceof ClientFailure)) throw error;
            wrong = error.message;
          }
        } finally {
          await Deno.remove(scratch, { recursive: true }).catch(() => {});
        }
        const failure = [failed, wrong].filter((x) => x !== undefined)
          .join("\n; then ");
        for (const figure of workload.figures) {
          const value = out[figure.key];
          if (wrong === undefined && value !== undefined) {
            tally.add(figure.key, writer.name, value);
          } else if (
            failure && !(value === undefined &&
              NOT_APPLICABLE[writer.kind][figure.key] !== undefined)
          ) {
            tally.fail(figure.key, writer.name, failure);
          }
        }
        if (failure && writer.kind !== "litestream") oursFailed = true;
        const shown = workload.figures.map((f) =>
          out[f.key] === undefined ? "-" : out[f.key].toFixed(1)
        ).join(" / ");
        console.error(
          `bench: write ${label} run ${
            run + 1
          }/${runs}, ${workload.name}, ${writer.name} (${
            ((now() - started) / 1000).toFixed(1)
          } s): ${shown}${
            check
              ? `; read back ${check.rows} rows, ${check.integrity}${
                check.txid ? `, TXID ${check.txid}` : ""
              }`
              : ""
          }${failure ? `; FAILED: ${failure.replaceAll("\n", " | ")}` : ""}`,
        );
      }
    }
  }
  const figures = WORKLOADS.flatMap((w) => w.figures);
  return { rows: tally.rows(figures, writers), oursFailed };
}

/** Options of {@linkcode writeBench}. */
export interface WriteBenchOptions {
  /** `bench/data`, where the starting replica is kept. */
  data: string;
  /** Runs of each workload on a folder. */
  runs: number;
  /** Runs of each workload on S3. */
  s3Runs: number;
  /** Latency the proxy adds to every S3 request, ms. */
  latencyMs: number;
  /** Whether to run against S3 too. */
  s3: boolean;
  /** Our extension and Litestream's. */
  extensions: { ours: string; theirs: string };
}

/**
 * Runs the write workloads on a folder and, unless told not to, on
 * s3rver.
 *
 * @param options Runs, latency, where the data and the extensions are.
 * @returns One section per backend.
 */
export async function writeBench(
  options: WriteBenchOptions,
): Promise<WriteSection[]> {
  const base = await baseReplica(options.data);
  const sqlite3 = (name: string, kind: Writer["kind"]): Writer => ({
    name,
    kind,
    client: "sqlite3",
  });
  const fileWriters: Writer[] = [
    sqlite3("plain SQLite", "plain"),
    sqlite3("Litestream", "litestream"),
    sqlite3("lsvfs", "lsvfs"),
    { name: "lsvfs (Deno)", kind: "lsvfs", client: "deno" },
  ];
  const sections: WriteSection[] = [];
  const file = await runSection(
    fileWriters,
    fileTargets(base),
    options.runs,
    options.extensions,
    "file",
  );
  sections.push({
    name: "file",
    title:
      `Writes: 4 MB replica on file://, ${COMMITS} INSERTs of 100 bytes, one transaction each`,
    columns: fileWriters.map((w) => w.name),
    ratios: [
      ["lsvfs / Litestream", "lsvfs", "Litestream"],
      ["lsvfs / plain", "lsvfs", "plain SQLite"],
    ],
    ...file,
  });
  if (options.s3) {
    await using server = await startS3Server();
    await server.setFaults({ latencyMs: options.latencyMs });
    const s3Writers = fileWriters.filter((w) => w.kind !== "plain");
    const scratch = await Deno.makeTempDir({ prefix: "lsvfs-bench-write-" });
    const layout = await s3Layout(base.replica, scratch);
    const s3 = await runSection(
      s3Writers,
      s3Targets(server, layout),
      options.s3Runs,
      options.extensions,
      "s3",
    );
    sections.push({
      name: "s3",
      title:
        `Writes: 4 MB replica on S3 (s3rver, ${options.latencyMs} ms added per request), ${COMMITS} INSERTs of 100 bytes, one transaction each`,
      columns: s3Writers.map((w) => w.name),
      ratios: [["lsvfs / Litestream", "lsvfs", "Litestream"]],
      ...s3,
    });
    await Deno.remove(scratch, { recursive: true });
  }
  return sections;
}
