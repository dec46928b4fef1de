/**
 * What `ls`, `info`, `verify` and `restore` share: their argument parsing,
 * opening a replica, the restore plan for now or a time, progress output
 * (one redrawn line on a terminal, one JSON object a line otherwise), and
 * byte and TXID formatting.
 *
 * @module
 */

import { Replica } from "../engine/replica.ts";
import { restorePlan } from "../engine/restore_plan.ts";
import { parseTargetTime, planAtTime } from "../engine/time_travel.ts";
import { formatTxid } from "../ltx/mod.ts";
import { type LtxFileInfo, openSyncReplicaClient } from "../storage/mod.ts";
import { flagValue, UsageError } from "./command.ts";

/** The arguments of an inspecting command. */
export interface InspectArgs {
  /** The positional arguments: the replica URL first. */
  positional: string[];
  /** `--json`. */
  json: boolean;
  /** `--at <time>`, when allowed and given. */
  at?: string;
  /** `--force`, when allowed and given. */
  force: boolean;
}

/** Options of {@linkcode parseInspectArgs}. */
export interface ParseInspectOptions {
  /** The command's name, for messages. */
  name: string;
  /** What the positional arguments are, for the message when they are wrong. */
  expects: string;
  /** How many positional arguments it takes. */
  count: number;
  /** Whether `--at` is accepted. */
  at?: boolean;
  /** Whether `--force` is accepted. */
  force?: boolean;
}

/**
 * Parses `<positional...> [--json] [--at <time>] [--force]`.
 *
 * @param args The arguments after the command's name.
 * @param options What the command accepts.
 * @returns The parsed arguments.
 * @throws {UsageError} On an unknown option or a wrong number of arguments.
 *
 * @example Parse
 * ```ts
 * import { parseInspectArgs } from "./_inspect.ts";
 * import assert from "node:assert/strict";
 * const parsed = parseInspectArgs(["s3://b/db", "--at", "5 minutes ago"], {
 *   name: "ls", expects: "a replica URL", count: 1, at: true,
 * });
 * assert.equal(parsed.at, "5 minutes ago");
 * ```
 */
export function parseInspectArgs(
  args: string[],
  options: ParseInspectOptions,
): InspectArgs {
  const parsed: InspectArgs = { positional: [], json: false, force: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--json") parsed.json = true;
    else if (arg === "--at" && options.at) {
      parsed.at = flagValue(args, i++, 'a time, such as "5 minutes ago"');
    } else if (arg === "--force" && options.force) parsed.force = true;
    else if (arg.startsWith("-") && arg !== "-") {
      throw new UsageError(`Unknown option "${arg}"`);
    } else parsed.positional.push(arg);
  }
  if (parsed.positional.length !== options.count) {
    throw new UsageError(`${options.name} takes ${options.expects}`);
  }
  return parsed;
}

/**
 * Opens a replica for inspection.
 *
 * @param url The replica URL.
 * @returns The replica; close it when done.
 */
export function openReplica(url: string): Replica {
  return new Replica(openSyncReplicaClient(url));
}

/**
 * Whether `--at` means the latest state.
 *
 * @param at The `--at` value.
 * @returns True when absent or LATEST.
 */
export function isLatest(at: string | undefined): boolean {
  return at === undefined || at.trim().toUpperCase() === "LATEST";
}

/**
 * The restore plan for the latest state or the newest one at or before `at`.
 *
 * @param replica The replica.
 * @param files Its files.
 * @param at The `--at` value.
 * @returns The plan, oldest file first.
 * @throws {UsageError} When `at` is not a time.
 * @throws {TxidGapError} When the chain has a gap (latest).
 * @throws {TimeTravelError} When no state is that old.
 */
export function planFor(
  replica: Replica,
  files: readonly LtxFileInfo[],
  at: string | undefined,
): LtxFileInfo[] {
  if (isLatest(at)) return restorePlan(files, { url: replica.url });
  let target: number;
  try {
    target = parseTargetTime(at!, Date.now());
  } catch (error) {
    throw new UsageError(`--at: ${(error as Error).message}`);
  }
  replica.prefetchHeaders(files);
  return planAtTime(files, (f) => replica.timestamp(f), target, replica.url);
}

/**
 * Formats a byte count for people.
 *
 * @param bytes The count.
 * @returns For example `512 B`, `4.0 KiB`, `1.5 MiB`.
 *
 * @example Sizes
 * ```ts
 * import { formatBytes } from "./_inspect.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatBytes(512), "512 B");
 * assert.equal(formatBytes(1536 * 1024), "1.5 MiB");
 * ```
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A file's TXID range as `ls` shows it.
 *
 * @param file The file.
 * @returns `min-max`, 16 hex digits each.
 */
export function txidRange(file: LtxFileInfo): string {
  return `${formatTxid(file.minTxid)}-${formatTxid(file.maxTxid)}`;
}

/** Where progress goes: one redrawn line on a terminal, else one line each. */
export class Progress {
  #json: boolean;
  #terminal: boolean;
  #write: (text: string) => void;
  #drawn = false;
  #last = 0;

  /**
   * @param json Whether lines are JSON objects.
   * @param sink Standard error by default.
   */
  constructor(
    json: boolean,
    sink: { isTerminal: boolean; write(text: string): void } = {
      isTerminal: Deno.stderr.isTerminal(),
      write: (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
    },
  ) {
    this.#json = json;
    this.#terminal = sink.isTerminal && !json;
    this.#write = sink.write;
  }

  /**
   * Reports progress. A terminal is redrawn at most every 100 ms; JSON lines
   * are written at most every 500 ms, and always when `final`.
   *
   * @param report The figures (JSON).
   * @param line The line for people.
   * @param final Whether it is the last report.
   */
  report(report: Record<string, unknown>, line: string, final = false): void {
    const now = Date.now();
    const every = this.#terminal ? 100 : 500;
    if (!final && now - this.#last < every) return;
    this.#last = now;
    if (this.#terminal) {
      this.#write(`\r\x1b[2K${line}${final ? "\n" : ""}`);
      this.#drawn = !final;
    } else if (this.#json) {
      this.#write(`${JSON.stringify({ progress: report })}\n`);
    } else if (final) {
      this.#write(`${line}\n`);
    }
  }

  /** Ends a redrawn line before other output. */
  clear(): void {
    if (this.#drawn) this.#write("\r\x1b[2K");
    this.#drawn = false;
  }
}

/**
 * Writes text to standard output.
 *
 * @param text The text.
 */
export function out(text: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(text));
}
