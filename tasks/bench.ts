/**
 * `deno task bench`: lsvfs side by side with Litestream's own extension
 * (npm `litestream-vfs-linux-amd64`), loaded the same way into the same
 * client (Debian's sqlite3 CLI), on the same replicas, in one run; plus
 * lsvfs through its Deno API, and plain SQLite on a copy Litestream
 * restored (the physical limit). These machines are noisy: read the
 * ratios, which compare figures taken minutes apart, not the absolute
 * times.
 *
 * Every measurement is a fresh client process. Inside it, time is read
 * with SQL (`julianday('now')`, milliseconds) between groups of
 * statements, so the client's start-up counts only in "open to first row",
 * which is the whole process, measured from outside. Peak RSS is the
 * client's (`/usr/bin/time`), plus for lsvfs's extension its engine child's
 * (`VmHWM`).
 *
 * Replicas (in `bench/data/`, git-ignored, made once): a 45 MB database
 * (44,000 rows of 1,000-byte blobs) written by Litestream's extension to a
 * folder; and a 4 MB one written by it to s3rver, for the S3 workloads,
 * which run behind a proxy that adds latency to every request (Litestream's
 * extension fetches each page with its own GET, so 45 MB would take
 * minutes per run).
 *
 * Writes (tasks/_bench_write.ts): commits per second, the final sync and
 * the sync latency of lsvfs's write mode beside Litestream's, on a copy of
 * a 4 MB replica per process, on file:// and on S3; where Litestream's
 * write mode fails, the table says "fails: <reason>", and the JSON keeps
 * its error text. Every write run is read back through lsvfs (row count,
 * integrity_check): a run of lsvfs that fails or reads back wrong makes
 * the bench exit with status 1, after the results are written.
 *
 * Usage: `deno task bench [--runs N] [--s3-runs N] [--latency MS] [--no-s3]
 * [--only local,hydrated,s3,write]`. `--only` runs those tables alone
 * (`--no-s3` also leaves out the S3 write rows). Writes the table to
 * standard output and the same figures as JSON to
 * `bench/results/<time>.json`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { defaultShimPath, ensureShim } from "../ffi/build.ts";
import {
  hydrateWithLitestream,
  makeLitestreamReplica,
  replicaTxid,
  writeWithLitestream,
} from "../tests/_litestream.ts";
import {
  type LoggedRequest,
  S3RVER_ENV,
  type S3Server,
  sequentialWaves,
  startS3Server,
} from "../tests/_s3.ts";
import { writeBench } from "./_bench_write.ts";
import { writeLauncher } from "./build_ext.ts";
import {
  litestreamExtensionPath,
  projectRoot,
  sqlite3CliPath,
} from "./setup_test_env.ts";

const ROOT = `${projectRoot()}/`;
const DATA = `${ROOT}bench/data`;
const RESULTS = `${ROOT}bench/results`;

/** Rows of the local replica: about 45 MB. */
const ROWS = 44_000;
/** Rows of the S3 replica: about 4 MB. */
const S3_ROWS = 4_000;

const rowsOf = (n: number) =>
  `(WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < ${n}) SELECT v FROM s)`;

/** 20,000 primary-key lookups in an order that jumps across the table. */
const lookups = (rows: number, n = 20_000) =>
  `SELECT sum(length(body)) FROM ${
    rowsOf(n)
  } AS s JOIN big ON big.id = (s.v * 7919) % ${rows} + 1`;
const SCAN = "SELECT count(*), sum(length(body)) FROM big";
/** A quarter second with no query: the sqlite3 CLI's, and the Deno client's. */
const PAUSE = ".shell sleep 0.25";
const FIRST_ROW = "SELECT id FROM big LIMIT 1";
/** 500 small queries, each its own transaction. */
const small = (rows: number) =>
  Array.from(
    { length: 500 },
    (_, i) =>
      `SELECT length(body) FROM big WHERE id = ${(i * 7919) % rows + 1}`,
  );

/** A client set-up: how the database is opened. */
interface Variant {
  name: string;
  /** sqlite3 (an extension or none) or the Deno API. */
  client: "sqlite3" | "deno";
  /** `.load` path, for the sqlite3 client with a VFS. */
  extension?: string;
  /** The database: a file, or a replica URL. */
  target: string;
  env?: Record<string, string>;
  /** Deno API options. */
  options?: Record<string, unknown>;
  /** Seconds to give background hydration before the first mark. */
  settleSeconds?: number;
}

/** One client process's result. */
interface Run {
  /** Milliseconds of each group, in order. */
  groups: number[];
  /** The whole process, ms. */
  wallMs: number;
  /** Peak RSS of the client plus an engine child, KiB. */
  rssKiB: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function sqlite3Script(variant: Variant, groups: string[][]): string {
  const lines = [".bail on", ".mode list"];
  if (variant.extension) lines.push(`.load ${variant.extension}`);
  lines.push(
    variant.extension
      ? ".open file:bench.db?vfs=litestream"
      : `.open --readonly ${variant.target}`,
  );
  if (variant.settleSeconds) {
    lines.push(`.output /dev/null`, FIRST_ROW + ";");
    lines.push(`.shell sleep ${variant.settleSeconds}`, ".output stdout");
  }
  const mark =
    "SELECT 'mark|' || ((julianday('now') - 2440587.5) * 86400000.0);";
  lines.push(mark);
  for (const group of groups) {
    lines.push(".output /dev/null", ...group.map((sql) => `${sql};`));
    lines.push(".output stdout", mark);
  }
  // The engine child of lsvfs's extension: its peak RSS.
  lines.push(
    ".shell for p in $(pgrep -P $PPID deno); do grep VmHWM /proc/$p/status; done",
  );
  return lines.join("\n") + "\n";
}

async function runProcess(
  command: string,
  args: string[],
  stdin: string,
  env: Record<string, string>,
): Promise<{ stdout: string; stderr: string; wallMs: number }> {
  const started = performance.now();
  const child = new Deno.Command("/usr/bin/time", {
    args: ["-f", "rss_kib=%M", command, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    // The bench's own environment and these: the engine child finds Deno's
    // cache where the bench does.
    env,
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(encoder.encode(stdin));
  await writer.close();
  const timer = setTimeout(() => child.kill("SIGKILL"), 600_000);
  const out = await child.output();
  clearTimeout(timer);
  const wallMs = performance.now() - started;
  const stdout = decoder.decode(out.stdout);
  const stderr = decoder.decode(out.stderr);
  if (!out.success) {
    throw new Error(
      `${command} failed (${out.code}): ${stderr.slice(-2000)}`,
    );
  }
  return { stdout, stderr, wallMs };
}

/** Runs groups of statements in one fresh client process. */
async function measure(variant: Variant, groups: string[][]): Promise<Run> {
  let result;
  if (variant.client === "sqlite3") {
    result = await runProcess(
      sqlite3CliPath(),
      ["-batch"],
      sqlite3Script(variant, groups),
      { LITESTREAM_REPLICA_URL: variant.target, ...variant.env },
    );
  } else {
    result = await runProcess(
      Deno.execPath(),
      [
        "run",
        "--allow-all",
        `${ROOT}tasks/_bench_deno.ts`,
        variant.target,
        JSON.stringify(variant.options ?? {}),
        JSON.stringify(groups),
      ],
      "",
      { ...variant.env },
    );
  }
  const marks = [...result.stdout.matchAll(/^mark\|([\d.]+)$/gm)].map((m) =>
    Number(m[1])
  );
  if (marks.length !== groups.length + 1) {
    throw new Error(
      `${variant.name}: ${marks.length} marks for ${groups.length} groups: ${
        result.stdout.slice(0, 500)
      }`,
    );
  }
  const client = Number(/rss_kib=(\d+)/.exec(result.stderr)?.[1] ?? 0);
  const engines = [...result.stdout.matchAll(/^VmHWM:\s+(\d+) kB$/gm)]
    .reduce((sum, m) => sum + Number(m[1]), 0);
  return {
    groups: marks.slice(1).map((m, i) => m - marks[i]),
    wallMs: result.wallMs,
    rssKiB: client + engines,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One row of the results: a workload, and its median per variant. */
export interface Row {
  workload: string;
  unit: "ms" | "MiB" | "GETs" | "waves" | "commits/s";
  values: Record<string, number>;
  /** Each run's figure per variant, where kept (the write rows). */
  samples?: Record<string, number[]>;
  /**
   * Printed after the figure, or instead of it when there is none: "fails:
   * <reason>", "n/a: <reason>".
   */
  notes?: Record<string, string>;
  /** The error texts of failed runs, per variant. */
  failures?: Record<string, string[]>;
}

/** Workloads of one process each: a name per group, or "" to skip a group. */
interface Workload {
  name: string;
  groups: string[][];
  /** Names of the groups' figures ("" for a warm-up not reported). */
  figures: string[];
  /** Also report the process's wall time under this name. */
  wall?: string;
}

function localWorkloads(rows: number): Workload[] {
  return [
    {
      name: "first row",
      groups: [[FIRST_ROW]],
      figures: [""],
      wall: "cold open to first row (whole process)",
    },
    {
      name: "lookups",
      groups: [[lookups(rows)], [lookups(rows)]],
      figures: ["20,000 random lookups, cold", "20,000 random lookups, warm"],
    },
    {
      // The pause lets the engine idle, which starts background
      // verification (file:// replicas' default); checking the 45 MB takes
      // longer than the three rounds after it, so they run beside it.
      name: "lookups while verifying",
      groups: [
        [lookups(rows)],
        [PAUSE],
        [lookups(rows), lookups(rows), lookups(rows)],
      ],
      figures: ["", "", "60,000 random lookups, warm, while verifying"],
    },
    {
      name: "scan",
      groups: [[SCAN], [SCAN]],
      figures: ["full scan, cold", "full scan, warm"],
    },
    {
      name: "small",
      groups: [small(rows), small(rows)],
      figures: ["", "500 small queries, one transaction each, warm"],
    },
  ];
}

async function runAll(
  variants: Variant[],
  workloads: Workload[],
  runs: number,
  requests?: { server: S3Server; only: string[] },
): Promise<Row[]> {
  const figures = new Map<string, Map<string, number[]>>();
  const add = (figure: string, variant: string, value: number) => {
    if (!figures.has(figure)) figures.set(figure, new Map());
    const byVariant = figures.get(figure)!;
    byVariant.set(variant, [...(byVariant.get(variant) ?? []), value]);
  };
  for (let run = 0; run < runs; run++) {
    for (const workload of workloads) {
      for (const variant of variants) {
        await requests?.server.resetCounts();
        const result = await measure(variant, workload.groups);
        workload.figures.forEach((figure, i) => {
          if (figure) add(`${figure}|ms`, variant.name, result.groups[i]);
        });
        if (workload.wall) {
          add(`${workload.wall}|ms`, variant.name, result.wallMs);
        }
        // The scan touches every page: the figure that shows memory bounds.
        if (workload.name === "scan") {
          add("peak RSS, full scans|MiB", variant.name, result.rssKiB / 1024);
        }
        if (requests && requests.only.includes(workload.name)) {
          const log = (await requests.server.requests()).filter((r) =>
            r.kind === "GET"
          );
          add(`${workload.name}: GET requests|GETs`, variant.name, log.length);
          add(
            `${workload.name}: sequential GET waves|waves`,
            variant.name,
            sequentialWaves(log as LoggedRequest[]),
          );
        }
        console.error(
          `bench: run ${run + 1}/${runs}, ${workload.name}, ${variant.name}: ${
            result.groups.map((g) => g.toFixed(1)).join(" / ")
          } ms, ${(result.rssKiB / 1024).toFixed(0)} MiB`,
        );
      }
    }
  }
  return [...figures.entries()].map(([key, byVariant]) => {
    const [workload, unit] = key.split("|") as [string, Row["unit"]];
    return {
      workload,
      unit,
      values: Object.fromEntries(
        [...byVariant.entries()].map(([v, xs]) => [v, median(xs)]),
      ),
    };
  });
}

function formatTable(
  title: string,
  rows: Row[],
  columns: string[],
  ratios: [string, string, string][],
): string {
  const fmt = (x: number | undefined, unit: string) =>
    x === undefined
      ? ""
      : unit === "ms"
      ? x < 10 ? x.toFixed(2) : x.toFixed(0)
      : unit === "MiB"
      ? x.toFixed(0)
      : String(Math.round(x));
  const header = ["workload", ...columns, ...ratios.map(([name]) => name)];
  const lines = [
    `### ${title}`,
    "",
    `| ${header.join(" | ")} |`,
    `| ${header.map((_, i) => i === 0 ? "---" : "---:").join(" | ")} |`,
  ];
  for (const row of rows) {
    const cells = [
      `${row.workload} (${row.unit})`,
      ...columns.map((c) =>
        [fmt(row.values[c], row.unit), row.notes?.[c] ?? ""]
          .filter((x) => x !== "").join(" ")
      ),
      ...ratios.map(([, a, b]) => {
        const x = row.values[a];
        const y = row.values[b];
        return x === undefined || y === undefined || y === 0
          ? ""
          : `${(x / y).toFixed(2)}x`;
      }),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

async function localReplica(): Promise<{ replica: string; plain: string }> {
  const replica = `${DATA}/replica`;
  const plain = `${DATA}/restored.db`;
  if (await replicaTxid(replica).catch(() => 0n) !== 5n) {
    await Deno.remove(DATA, { recursive: true }).catch(() => {});
    console.error("bench: writing a 45 MB replica with Litestream's extension");
    await makeLitestreamReplica(replica, [
      "CREATE TABLE big (id INTEGER PRIMARY KEY, body BLOB)",
      ...Array.from(
        { length: 4 },
        () =>
          `INSERT INTO big (body) SELECT randomblob(1000) FROM ${
            rowsOf(ROWS / 4)
          }`,
      ),
    ]);
  }
  await Deno.remove(plain).catch(() => {});
  await Deno.remove(`${plain}.meta`).catch(() => {});
  await hydrateWithLitestream(replica, plain);
  return { replica, plain };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string", default: "3" },
      "s3-runs": { type: "string", default: "2" },
      latency: { type: "string", default: "20" },
      "no-s3": { type: "boolean", default: false },
      only: { type: "string", default: "local,hydrated,s3,write" },
    },
  });
  const sections = ["local", "hydrated", "s3", "write"];
  const only = new Set(values.only.split(",").map((x) => x.trim()));
  for (const name of only) {
    if (!sections.includes(name)) {
      throw new RangeError(
        `Unknown table "${name}" in --only: use ${sections.join(", ")}`,
      );
    }
  }
  const runs = Number(values.runs);
  const s3Runs = Number(values["s3-runs"]);
  const latencyMs = Number(values.latency);
  ensureShim();
  writeLauncher();
  await Deno.mkdir(DATA, { recursive: true });
  const tables: string[] = [];
  const results: Record<string, Row[]> = {};
  let oursFailed = false;
  if (only.has("local") || only.has("hydrated")) {
    await readTables(only, runs, tables, results);
  }
  if (!values["no-s3"] && only.has("s3")) {
    await s3Table(s3Runs, latencyMs, tables, results);
  }
  if (only.has("write")) {
    const sections = await writeBench({
      data: DATA,
      runs,
      s3Runs,
      latencyMs,
      s3: !values["no-s3"],
      extensions: {
        ours: defaultShimPath(),
        theirs: litestreamExtensionPath(),
      },
    });
    for (const section of sections) {
      results[`write_${section.name}`] = section.rows;
      tables.push(formatTable(
        section.title,
        section.rows,
        section.columns,
        section.ratios,
      ));
      oursFailed ||= section.oursFailed;
    }
  }

  const text = tables.join("\n\n");
  console.log(text);
  await Deno.mkdir(RESULTS, { recursive: true });
  const file = `${RESULTS}/${
    new Date().toISOString().replaceAll(":", "-")
  }.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify(
      { at: new Date().toISOString(), runs, s3Runs, latencyMs, results },
      null,
      2,
    ) + "\n",
  );
  console.error(`bench: results in ${file}`);
  if (oursFailed) {
    console.error(
      "bench: a write run of lsvfs failed or read back wrong (see FAILED above and the results)",
    );
    Deno.exit(1);
  }
}

/** The tables of the 45 MB local replica. */
async function readTables(
  only: Set<string>,
  runs: number,
  tables: string[],
  results: Record<string, Row[]>,
): Promise<void> {
  const ours = defaultShimPath();
  const theirs = litestreamExtensionPath();
  const { replica, plain } = await localReplica();
  const url = `file://${replica}`;
  const hydration = `${DATA}/hydration`;
  await Deno.mkdir(hydration, { recursive: true });

  const local: Variant[] = [
    { name: "plain SQLite", client: "sqlite3", target: plain },
    {
      name: "Litestream",
      client: "sqlite3",
      extension: theirs,
      target: url,
    },
    { name: "lsvfs", client: "sqlite3", extension: ours, target: url },
    // file:// replicas verify in the background by default: its cost.
    {
      name: "lsvfs, verify=off",
      client: "sqlite3",
      extension: ours,
      target: url,
      env: { LSVFS_VERIFY: "off" },
    },
    { name: "lsvfs (Deno)", client: "deno", target: url },
  ];
  const hydratedWith = (name: string, extension: string): Variant => ({
    name: `${name} + hydration`,
    client: "sqlite3",
    extension,
    target: url,
    env: {
      LITESTREAM_HYDRATION_ENABLED: "true",
      LITESTREAM_HYDRATION_PATH: `${hydration}/${name}.db`,
    },
    settleSeconds: 5,
  });
  const hydrated: Variant[] = [
    { name: "plain SQLite", client: "sqlite3", target: plain },
    hydratedWith("Litestream", theirs),
    hydratedWith("lsvfs", ours),
  ];
  if (only.has("local")) {
    results.local = await runAll(local, localWorkloads(ROWS), runs);
    tables.push(formatTable(
      "45 MB replica on file://, default settings (10 MiB cache)",
      results.local,
      local.map((v) => v.name),
      [
        ["lsvfs / Litestream", "lsvfs", "Litestream"],
        ["lsvfs / plain", "lsvfs", "plain SQLite"],
        ["background / off", "lsvfs", "lsvfs, verify=off"],
      ],
    ));
  }

  if (only.has("hydrated")) {
    const warm = localWorkloads(ROWS).filter((w) =>
      w.name === "lookups" || w.name === "scan"
    );
    results.hydrated = await runAll(hydrated, warm, runs);
    tables.push(formatTable(
      "45 MB replica on file://, hydration on",
      results.hydrated,
      hydrated.map((v) => v.name),
      [
        ["lsvfs / Litestream", "lsvfs + hydration", "Litestream + hydration"],
        ["lsvfs / plain", "lsvfs + hydration", "plain SQLite"],
        ["Litestream / plain", "Litestream + hydration", "plain SQLite"],
      ],
    ));
  }
}

/** The table of the 4 MB replica on S3. */
async function s3Table(
  s3Runs: number,
  latencyMs: number,
  tables: string[],
  results: Record<string, Row[]>,
): Promise<void> {
  const ours = defaultShimPath();
  const theirs = litestreamExtensionPath();
  await using server = await startS3Server();
  const s3Url =
    `s3://${server.bucket}/bench?endpoint=${server.endpoint}&forcePathStyle=true`;
  console.error(
    "bench: writing a 4 MB replica to s3rver with Litestream's extension",
  );
  await writeWithLitestream(s3Url, [
    "CREATE TABLE big (id INTEGER PRIMARY KEY, body BLOB)",
    `INSERT INTO big (body) SELECT randomblob(1000) FROM ${rowsOf(S3_ROWS)}`,
  ], { env: S3RVER_ENV });
  await server.setFaults({ latencyMs });
  const env = { ...S3RVER_ENV, AWS_CA_BUNDLE: "" };
  const remote: Variant[] = [
    {
      name: "Litestream",
      client: "sqlite3",
      extension: theirs,
      target: s3Url,
      env,
    },
    { name: "lsvfs", client: "sqlite3", extension: ours, target: s3Url, env },
    { name: "lsvfs (Deno)", client: "deno", target: s3Url, env },
  ];
  const workloads: Workload[] = [
    {
      name: "open",
      groups: [[FIRST_ROW]],
      figures: [""],
      wall: "cold open to first row (whole process)",
    },
    {
      name: "scan",
      groups: [[SCAN], [SCAN]],
      figures: ["full scan, cold", "full scan, warm"],
    },
    {
      name: "lookups",
      groups: [[lookups(S3_ROWS, 2_000)], [lookups(S3_ROWS, 2_000)]],
      figures: ["2,000 random lookups, cold", "2,000 random lookups, warm"],
    },
  ];
  results.s3 = await runAll(remote, workloads, s3Runs, {
    server,
    only: ["open", "scan"],
  });
  tables.push(formatTable(
    `4 MB replica on S3 (s3rver, ${latencyMs} ms added per request)`,
    results.s3,
    remote.map((v) => v.name),
    [["lsvfs / Litestream", "lsvfs", "Litestream"]],
  ));
}

if (import.meta.main) await main();
