/**
 * The `lsvfs` command. For now it has three commands: `query`, which runs
 * SQL against a replica in place, `hydrate`, which restores one to a
 * hydration file with progress, and `engine`, the engine child the loadable
 * extension starts (src/host); the rest of the command line (`shell`, `ls`,
 * `info`, `verify`, `restore`) is the CLI issue's.
 *
 * Exit codes: 0 success, 1 a failed query or unreadable replica, 2 a usage
 * error.
 *
 * @module
 */

import { open, type OpenOptions } from "../../mod.ts";
import { runEngineChild } from "../host/mod.ts";
import { formatResult, type OutputFormat } from "./format.ts";
import { hydrate, type HydrateArgs } from "./hydrate.ts";
import { parseDuration } from "../engine/mod.ts";

const USAGE = `lsvfs: query a Litestream replica in place, without restoring it

Usage:
  lsvfs query <replica-url> [sql] [--json | --ndjson | --csv | --table]
                                  [--poll-interval <duration>]
  lsvfs hydrate <replica-url> <path> [--json] [--timeout <duration>]
  lsvfs engine

  SQL comes from standard input when no [sql] is given. The output is a table
  on a terminal and JSON otherwise, unless a format flag says which.

  hydrate restores the replica to <path> (a plain SQLite file, with
  <path>.meta.json beside it) and returns once it holds the latest TXID,
  showing progress on standard error (--json: one JSON object a line). A
  program that opens the replica with the same hydration path starts warm.
  An existing file is checked and caught up, or rebuilt if it is unsound.

  engine serves the loadable extension (dist/litestream-vfs.so) on standard
  input and output; the extension starts it, people do not.

Examples:
  lsvfs query file:///var/backups/app "SELECT count(*) FROM users"
  echo "SELECT * FROM orders LIMIT 3" | lsvfs query /var/backups/app --csv
  lsvfs hydrate s3://bucket/app /var/cache/app.db

Exit codes: 0 success, 1 failed query or unreadable replica, 2 usage error.
`;

/** A usage mistake: printed with a pointer to `--help`, exit code 2. */
class UsageError extends Error {}

/** What the command line asked for. */
interface QueryArgs {
  url: string;
  sql?: string;
  format?: OutputFormat;
  options: OpenOptions;
}

function parseQueryArgs(args: string[]): QueryArgs {
  const positional: string[] = [];
  let format: OutputFormat | undefined;
  const options: OpenOptions = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const flag = /^--(json|ndjson|csv|table)$/.exec(arg);
    if (flag) format = flag[1] as OutputFormat;
    else if (arg === "--poll-interval") {
      if (args[i + 1] === undefined) {
        throw new UsageError("--poll-interval needs a duration, such as 5s");
      }
      options.pollInterval = args[++i];
    } else if (arg.startsWith("-") && arg !== "-") {
      throw new UsageError(`Unknown option "${arg}"`);
    } else positional.push(arg);
  }
  if (positional.length === 0 || positional.length > 2) {
    throw new UsageError("query takes a replica URL and at most one SQL text");
  }
  return { url: positional[0], sql: positional[1], format, options };
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
      if (args[i + 1] === undefined) {
        throw new UsageError("--timeout needs a duration, such as 10m");
      }
      timeout = args[++i];
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

async function readStdin(): Promise<string> {
  return await new Response(Deno.stdin.readable).text();
}

/**
 * Runs the command line.
 *
 * @param args The arguments after the program name.
 * @returns The exit code.
 */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (
    command === undefined || command === "--help" || command === "-h" ||
    command === "help"
  ) {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  try {
    if (command === "engine") {
      if (rest.length > 0) {
        throw new UsageError("engine takes no arguments");
      }
      runEngineChild();
      return 0;
    }
    if (command !== "query" && command !== "hydrate") {
      throw new UsageError(`Unknown command "${command}"`);
    }
    if (rest.includes("--help") || rest.includes("-h")) {
      console.log(USAGE);
      return 0;
    }
    if (command === "hydrate") {
      const args = parseHydrateArgs(rest);
      const encoder = new TextEncoder();
      const txid = await hydrate(args, {
        isTerminal: Deno.stderr.isTerminal(),
        write: (text) => Deno.stderr.writeSync(encoder.encode(text)),
      });
      console.log(
        args.json
          ? JSON.stringify({ path: args.path, txid })
          : `hydrated ${args.path} at TXID ${txid}`,
      );
      return 0;
    }
    const { url, sql, format, options } = parseQueryArgs(rest);
    const text = sql ?? await readStdin();
    using db = open(url, options);
    using statement = db.prepare(text);
    const result = {
      columns: statement.columnNames(),
      rows: statement.values(),
    };
    const chosen = format ?? (Deno.stdout.isTerminal() ? "table" : "json");
    await Deno.stdout.write(
      new TextEncoder().encode(formatResult(result, chosen)),
    );
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError) {
      console.error(`lsvfs: ${message} (see lsvfs --help)`);
      return 2;
    }
    console.error(`lsvfs: ${message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
