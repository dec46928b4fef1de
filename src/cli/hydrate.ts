/**
 * `lsvfs hydrate <replica-url> <path>`: restores a replica to a hydration
 * file, as the VFS does in the background with hydration on, showing its
 * progress, and returns once the file holds the replica's latest TXID. An
 * application that names the same path (`open(url, { hydration: path })`,
 * `LITESTREAM_HYDRATION_PATH`) then starts warm: it checks the file and
 * fetches only what came after. The file is also a plain SQLite database.
 *
 * @module
 */

import { type Database, open, type OpenOptions } from "../../mod.ts";
import { parseDuration } from "../engine/mod.ts";
import { type Command, flagValue, UsageError } from "./command.ts";

/** How often progress is shown, in ms. */
const TICK_MS = 200;

/** One progress report, as `PRAGMA litestream_hydration` gives it. */
export interface HydrationReport {
  /** `starting`, `building`, `catching-up`, `complete` or `failed`. */
  status: string;
  /** Pages written by the current build or catch-up. */
  pages: number;
  /** Pages it writes. */
  of: number;
  /** Whole percent. */
  percent: number;
  /** MiB fetched so far. */
  mib_fetched: number;
  /** Pages per second, while working. */
  pages_per_s?: number;
  /** Seconds left, while working. */
  eta_s?: number;
  /** TXID the file holds, or null. */
  txid: string | null;
}

/** Where `hydrate` writes its progress. */
export interface ProgressSink {
  /** Whether it is a terminal (one line redrawn) or not (one line per change). */
  isTerminal: boolean;
  /** Writes text. */
  write(text: string): void;
}

/** What `hydrate` needs. */
export interface HydrateArgs {
  /** The replica URL. */
  url: string;
  /** The hydration file. */
  path: string;
  /** JSON lines instead of text. */
  json: boolean;
  /** Give up after this many ms. */
  timeoutMs: number;
  /** More open() options. */
  options: OpenOptions;
}

/**
 * Formats one progress line for people.
 *
 * @param report The progress.
 * @returns For example `building   46%  5120/11042 pages  20.0 MiB  8000 pages/s  ETA 0.7 s`.
 *
 * @example A line
 * ```ts
 * import { formatProgress } from "./hydrate.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   formatProgress({ status: "building", pages: 50, of: 100, percent: 50, mib_fetched: 0.2, pages_per_s: 100, eta_s: 0.5, txid: null }),
 *   "building   50%  50/100 pages  0.2 MiB  100 pages/s  ETA 0.5 s",
 * );
 * ```
 */
export function formatProgress(report: HydrationReport): string {
  const parts = [
    report.status,
    `${String(report.percent).padStart(3)}%`,
    `${report.pages}/${report.of} pages`,
    `${report.mib_fetched.toFixed(1)} MiB`,
  ];
  if (report.pages_per_s !== undefined) {
    parts.push(`${report.pages_per_s} pages/s`);
  }
  if (report.eta_s !== undefined && report.eta_s >= 0) {
    parts.push(`ETA ${report.eta_s} s`);
  }
  return parts.join("  ");
}

function report(db: Database): { report: HydrationReport; txid: string } {
  // Reading the schema takes a read lock, so the view polls first.
  const txid = String(
    Object.values(
      db.get(
        "SELECT litestream_txid() FROM (SELECT count(*) FROM sqlite_master)",
      )!,
    )[0],
  );
  const text = String(
    Object.values(db.get("PRAGMA litestream_hydration")!)[0],
  );
  return { report: JSON.parse(text), txid };
}

/**
 * Hydrates `path` from `url` and waits until it holds the latest TXID,
 * writing progress to `sink`.
 *
 * @param args The replica, the file, the output form, the time limit.
 * @param sink Where progress goes (standard error).
 * @returns The TXID the file holds.
 * @throws {Error} When the replica cannot be opened, hydration fails, or
 * the time limit passes.
 */
export async function hydrate(
  args: HydrateArgs,
  sink: ProgressSink,
): Promise<string> {
  using db = open(args.url, { ...args.options, hydration: args.path });
  const deadline = Date.now() + args.timeoutMs;
  let last = "";
  for (;;) {
    const { report: now, txid } = report(db);
    const line = args.json ? JSON.stringify(now) : formatProgress(now);
    if (sink.isTerminal && !args.json) {
      sink.write(`\r\x1b[2K${line}`);
    } else if (line !== last) {
      sink.write(`${line}\n`);
    }
    last = line;
    if (now.status === "complete" && now.txid === txid) {
      if (sink.isTerminal && !args.json) sink.write("\n");
      return txid;
    }
    if (now.status === "failed") {
      throw new Error(
        `Hydration of "${args.path}" failed; the log (LITESTREAM_LOG_LEVEL=DEBUG) says why`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Hydration of "${args.path}" did not finish in ${args.timeoutMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
}

/** How long `hydrate` waits by default: an hour. */
const HYDRATE_TIMEOUT = "1h";

function parseHydrateArgs(args: string[]): HydrateArgs {
  const positional: string[] = [];
  let json = false;
  let timeout = HYDRATE_TIMEOUT;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--json") json = true;
    else if (arg === "--timeout") {
      timeout = flagValue(args, i++, "a duration, such as 10m");
    } else if (arg.startsWith("-")) {
      throw new UsageError(`Unknown option "${arg}"`);
    } else positional.push(arg);
  }
  if (positional.length !== 2) {
    throw new UsageError("hydrate takes a replica URL and a file path");
  }
  return {
    url: positional[0],
    path: positional[1],
    json,
    timeoutMs: parseDuration(timeout, "--timeout"),
    options: {},
  };
}

/** `lsvfs hydrate`. */
export const hydrateCommand: Command = {
  name: "hydrate",
  synopsis:
    "  lsvfs hydrate <replica-url> <path> [--json] [--timeout <duration>]",
  help: `lsvfs hydrate <replica-url> <path> [--json] [--timeout <duration>]

  Restores the replica to <path> (a plain SQLite file, with <path>.meta.json
  beside it) and returns once it holds the latest TXID, showing progress on
  standard error (--json: one JSON object a line). A program that opens the
  replica with the same hydration path starts warm. An existing file is
  checked and caught up, or rebuilt if it is unsound.

Examples:
  lsvfs hydrate s3://bucket/app /var/cache/app.db
  lsvfs hydrate file:///var/backups/app app.db --json | tail -1
`,
  async run(args) {
    const parsed = parseHydrateArgs(args);
    const encoder = new TextEncoder();
    const txid = await hydrate(parsed, {
      isTerminal: Deno.stderr.isTerminal(),
      write: (text) => Deno.stderr.writeSync(encoder.encode(text)),
    });
    console.log(
      parsed.json
        ? JSON.stringify({ path: parsed.path, txid })
        : `hydrated ${parsed.path} at TXID ${txid}`,
    );
    return 0;
  },
};
