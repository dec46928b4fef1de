/**
 * `lsvfs query`: runs SQL against a replica in place and prints the rows,
 * as a table on a terminal and JSON in a pipe unless a flag says which.
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
      options.pollInterval = flagValue(args, i++, "a duration, such as 5s");
    } else if (arg.startsWith("-") && arg !== "-") {
      throw new UsageError(`Unknown option "${arg}"`);
    } else positional.push(arg);
  }
  if (positional.length === 0 || positional.length > 2) {
    throw new UsageError("query takes a replica URL and at most one SQL text");
  }
  return { url: positional[0], sql: positional[1], format, options };
}

async function readStdin(): Promise<string> {
  return await new Response(Deno.stdin.readable).text();
}

/** `lsvfs query`. */
export const queryCommand: Command = {
  name: "query",
  synopsis:
    `  lsvfs query <replica-url> [sql] [--json | --ndjson | --csv | --table]
                                  [--poll-interval <duration>]`,
  help: `lsvfs query <replica-url> [sql] [--json | --ndjson | --csv | --table]
                                [--poll-interval <duration>]

  Runs SQL against the replica in place. SQL comes from standard input when
  no [sql] is given. The output is a table on a terminal and JSON otherwise,
  unless a format flag says which.

Examples:
  lsvfs query file:///var/backups/app "SELECT count(*) FROM users"
  echo "SELECT * FROM orders LIMIT 3" | lsvfs query /var/backups/app --csv
`,
  async run(args) {
    const { url, sql, format, options } = parseQueryArgs(args);
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
  },
};
