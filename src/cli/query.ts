/**
 * `lsvfs query`: runs SQL against a replica in place and prints the rows,
 * as a table on a terminal and JSON in a pipe unless a flag says which;
 * at a time in the past with `--at`, or in write mode with `--write`.
 *
 * @module
 */

import { open, type OpenOptions } from "../../mod.ts";
import { type Command, flagValue, UsageError } from "./command.ts";
import { formatResult, type OutputFormat } from "./format.ts";

/** What the command line asked for. */
interface QueryArgs {
  url: string;
  sql?: string;
  format?: OutputFormat;
  /** A time to travel to first (`--at`). */
  at?: string;
  options: OpenOptions;
}

function parseQueryArgs(args: string[]): QueryArgs {
  const positional: string[] = [];
  let format: OutputFormat | undefined;
  let at: string | undefined;
  const options: OpenOptions = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const flag = /^--(json|ndjson|csv|table)$/.exec(arg);
    if (flag) format = flag[1] as OutputFormat;
    else if (arg === "--poll-interval") {
      options.pollInterval = flagValue(args, i++, "a duration, such as 5s");
    } else if (arg === "--at") {
      at = flagValue(args, i++, 'a time, such as "5 minutes ago"');
    } else if (arg === "--write") {
      options.write = true;
    } else if (arg.startsWith("-") && arg !== "-") {
      throw new UsageError(`Unknown option "${arg}"`);
    } else positional.push(arg);
  }
  if (positional.length === 0 || positional.length > 2) {
    throw new UsageError("query takes a replica URL and at most one SQL text");
  }
  if (at !== undefined && options.write) {
    throw new UsageError("--at is read-only: it cannot go with --write");
  }
  return { url: positional[0], sql: positional[1], format, at, options };
}

/**
 * Splits SQL text into statements at the semicolons outside string
 * literals, quoted names and comments.
 *
 * @param text SQL, one statement or several.
 * @returns The statements, trimmed, empty ones left out.
 *
 * @example
 * ```ts
 * import { splitStatements } from "./query.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   splitStatements("INSERT INTO t VALUES ('a;b'); -- x;\nSELECT 1;"),
 *   ["INSERT INTO t VALUES ('a;b')", "-- x;\nSELECT 1"],
 * );
 * ```
 */
export function splitStatements(text: string): string[] {
  const statements: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    let end = -1;
    if (c === "'" || c === '"' || c === "`") end = text.indexOf(c, i + 1);
    else if (c === "[") end = text.indexOf("]", i + 1);
    else if (c === "-" && text[i + 1] === "-") end = text.indexOf("\n", i);
    else if (c === "/" && text[i + 1] === "*") {
      end = text.indexOf("*/", i + 2);
      if (end !== -1) end++;
    } else if (c === ";") {
      statements.push(text.slice(start, i));
      start = i + 1;
      continue;
    } else continue;
    if (end === -1) break;
    i = end;
  }
  statements.push(text.slice(start));
  return statements.map((s) => s.trim()).filter((s) => s !== "");
}

async function readStdin(): Promise<string> {
  return await new Response(Deno.stdin.readable).text();
}

/** `lsvfs query`. */
export const queryCommand: Command = {
  name: "query",
  synopsis:
    `  lsvfs query <replica-url> [sql] [--json | --ndjson | --csv | --table]
                                  [--at <time>] [--write]
                                  [--poll-interval <duration>]`,
  help: `lsvfs query <replica-url> [sql] [--json | --ndjson | --csv | --table]
                                [--at <time>] [--write]
                                [--poll-interval <duration>]

  Runs SQL against the replica in place. SQL comes from standard input when
  no [sql] is given; several statements run in order, and the rows of the
  last one are printed. The output is a table on a terminal and JSON
  otherwise, unless a format flag says which.

  --at <time>   the replica as it was then: RFC 3339, "5 minutes ago",
                "yesterday"..., the formats of litestream_set_time()
  --write       write mode: the statements may change the database, and
                their transactions are uploaded before the command returns

Examples:
  lsvfs query file:///var/backups/app "SELECT count(*) FROM users"
  echo "SELECT * FROM orders LIMIT 3" | lsvfs query /var/backups/app --csv
  lsvfs query s3://bucket/app --at "1 hour ago" "SELECT count(*) FROM orders"
  lsvfs query file:///var/backups/app --write "INSERT INTO notes VALUES ('hi')"
`,
  async run(args) {
    const { url, sql, format, at, options } = parseQueryArgs(args);
    const statements = splitStatements(sql ?? await readStdin());
    if (statements.length === 0) throw new UsageError("No SQL to run");
    using db = open(url, options);
    if (at !== undefined) db.setTime(at);
    for (const earlier of statements.slice(0, -1)) db.exec(earlier);
    const result = (() => {
      using statement = db.prepare(statements.at(-1)!);
      return { columns: statement.columnNames(), rows: statement.values() };
    })();
    if (options.write) db.sync();
    const chosen = format ?? (Deno.stdout.isTerminal() ? "table" : "json");
    await Deno.stdout.write(
      new TextEncoder().encode(formatResult(result, chosen)),
    );
    return 0;
  },
};
