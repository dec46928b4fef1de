/**
 * `lsvfs shell`: an interactive prompt on a replica, like the sqlite3 shell.
 * The prompt shows where the view stands (its TXID, or its time when
 * travelling), statements may span lines (they end at a `;`, see
 * `_sql_complete.ts`), rows print as a table, errors in one line; dot
 * commands travel in time and show the schema. On a terminal lines are
 * edited with `_line_editor.ts` and kept in a history file; otherwise lines
 * are read plainly from standard input.
 *
 * @module
 */

import { type Database, open, type OpenOptions } from "../../mod.ts";
import { type Command, flagValue, UsageError } from "./command.ts";
import { formatResult } from "./format.ts";
import { TerminalLineReader } from "./_line_editor.ts";
import { splitStatements, sqlComplete } from "./_sql_complete.ts";

/** Most history entries kept in the history file. */
const HISTORY_LIMIT = 1000;

/** The dot commands, for `.help`. */
export const DOT_HELP = `.help              this list
.tables            the tables and views
.schema [table]    the CREATE statements (of tables named like [table])
.time <time>       travel to a time: RFC 3339 or relative ("5 minutes ago",
                   "yesterday"), as litestream_set_time(); LATEST returns
.time              the view's time
.latest            back to the latest state (and to polling)
.txid              the view's TXID
.lag               seconds since the replica was last polled
.quit, .exit       leave (so do Ctrl-D and the end of input)`;

interface ShellArgs {
  url: string;
  options: OpenOptions;
}

function parseShellArgs(args: string[]): ShellArgs {
  const positional: string[] = [];
  const options: OpenOptions = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--poll-interval") {
      options.pollInterval = flagValue(args, i++, "a duration, such as 5s");
    } else if (arg === "--write") options.write = true;
    else if (arg.startsWith("-") && arg !== "-") {
      throw new UsageError(`Unknown option "${arg}"`);
    } else positional.push(arg);
  }
  if (positional.length !== 1) {
    throw new UsageError("shell takes one replica URL");
  }
  return { url: positional[0], options };
}

/** Where the shell writes: results and errors. */
export interface ShellOutput {
  /** Prints results. */
  out(text: string): void;
  /** Prints an error line. */
  err(text: string): void;
}

/**
 * A shell session on one database: runs lines of input, keeps the
 * statement being typed and whether the view travels in time.
 */
export class Shell {
  #db: Database;
  #io: ShellOutput;
  #pending = "";
  #travelling = false;
  /** Whether an error was printed since the start. */
  failed = false;
  /** Set by `.quit` and `.exit`. */
  quit = false;

  /**
   * @param db The open database.
   * @param io Where to print.
   */
  constructor(db: Database, io: ShellOutput) {
    this.#db = db;
    this.#io = io;
  }

  /** Whether a statement is being continued over lines. */
  get continuing(): boolean {
    return this.#pending.trim() !== "";
  }

  /**
   * The prompt: `lsvfs@<txid>> `, or `lsvfs@<time>> ` in time travel, or
   * the continuation prompt as wide.
   *
   * @returns The prompt text.
   */
  prompt(): string {
    let where = "?";
    try {
      const state = this.#db.replicaState();
      where = this.#travelling ? state.time : state.txid;
    } catch {
      // An unreadable replica: the next statement says why.
    }
    const main = `lsvfs@${where}> `;
    return this.continuing ? "...> ".padStart(main.length) : main;
  }

  /** Drops the statement being typed (Ctrl-C). */
  cancel(): void {
    this.#pending = "";
  }

  /**
   * Takes one line of input: a dot command (at the start of a statement),
   * or SQL, run once a statement is complete.
   *
   * @param line The line, without its newline.
   * @returns The complete entry, for the history, when one ran.
   */
  line(line: string): string | undefined {
    if (!this.continuing && line.trimStart().startsWith(".")) {
      this.#pending = "";
      this.#dot(line.trim());
      return line.trim();
    }
    this.#pending += (this.#pending === "" ? "" : "\n") + line;
    if (!sqlComplete(this.#pending)) {
      if (this.#pending.trim() === "") this.#pending = "";
      return undefined;
    }
    const entry = this.#pending.trim();
    const { statements } = splitStatements(this.#pending);
    this.#pending = "";
    for (const sql of statements) {
      if (!this.#run(sql)) break;
    }
    return entry;
  }

  /** Runs what is left at the end of input, complete or not. */
  finish(): void {
    const rest = this.#pending;
    this.#pending = "";
    if (rest.trim() !== "") this.#run(rest);
  }

  #run(sql: string): boolean {
    try {
      using statement = this.#db.prepare(sql);
      const columns = statement.columnNames();
      const rows = statement.values();
      if (columns.length > 0) {
        this.#io.out(formatResult({ columns, rows }, "table"));
      }
      return true;
    } catch (error) {
      this.#error(error);
      return false;
    }
  }

  #error(error: unknown) {
    this.failed = true;
    const message = error instanceof Error ? error.message : String(error);
    this.#io.err(`Error: ${message.replace(/\s*\n\s*/g, " ")}`);
  }

  #dot(line: string) {
    const match = /^(\.\S*)\s*(.*)$/.exec(line)!;
    const [, name, rest] = match;
    const arg = rest.replace(/^(['"])(.*)\1$/, "$2");
    try {
      switch (name) {
        case ".help":
          return this.#io.out(`${DOT_HELP}\n`);
        case ".quit":
        case ".exit":
          this.quit = true;
          return;
        case ".tables": {
          const names = this.#db.values(
            `SELECT name FROM sqlite_schema WHERE type IN ('table', 'view')
               AND name NOT LIKE 'sqlite_%' ORDER BY name`,
          ).map((r) => String(r[0]));
          if (names.length > 0) this.#io.out(columns(names));
          return;
        }
        case ".schema": {
          const sql = this.#db.values(
            `SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL
               AND name NOT LIKE 'sqlite_%' AND (?1 = '' OR tbl_name LIKE ?1)
               ORDER BY type = 'table' DESC, tbl_name, name`,
            arg,
          ).map((r) => `${r[0]};\n`);
          this.#io.out(sql.join(""));
          return;
        }
        case ".time":
          if (arg === "") {
            return this.#io.out(`${this.#db.replicaState().time}\n`);
          }
          return this.#travel(arg);
        case ".latest":
          return this.#travel("LATEST");
        case ".txid":
          return this.#io.out(`${this.#db.replicaState().txid}\n`);
        case ".lag":
          return this.#io.out(`${this.#db.replicaState().lag}\n`);
        default:
          throw new Error(`Unknown command "${name}": .help lists them`);
      }
    } catch (error) {
      this.#error(error);
    }
  }

  #travel(time: string) {
    this.#db.setTime(time);
    this.#travelling = time.toUpperCase() !== "LATEST";
    const state = this.#db.replicaState();
    this.#io.out(`TXID ${state.txid} at ${state.time}\n`);
  }
}

/** Names in columns across 80 characters, as sqlite3's `.tables`. */
function columns(names: string[]): string {
  const width = Math.max(...names.map((n) => n.length)) + 2;
  const perLine = Math.max(1, Math.floor(80 / width));
  const lines: string[] = [];
  for (let i = 0; i < names.length; i += perLine) {
    lines.push(
      names.slice(i, i + perLine).map((n) => n.padEnd(width)).join("")
        .trimEnd(),
    );
  }
  return `${lines.join("\n")}\n`;
}

function historyPath(): string | undefined {
  try {
    const path = Deno.env.get("LSVFS_HISTORY");
    if (path !== undefined) return path === "" ? undefined : path;
    const home = Deno.env.get("HOME");
    return home === undefined ? undefined : `${home}/.lsvfs_history`;
  } catch {
    return undefined; // no --allow-env
  }
}

function loadHistory(path: string | undefined): string[] {
  if (path === undefined) return [];
  try {
    return Deno.readTextFileSync(path).split("\n").filter((l) => l !== "")
      .slice(-HISTORY_LIMIT);
  } catch {
    return [];
  }
}

function saveHistory(path: string | undefined, history: string[]) {
  if (path === undefined) return;
  try {
    const text = history.slice(-HISTORY_LIMIT).map((l) => `${l}\n`).join("");
    Deno.writeTextFileSync(path, text);
  } catch {
    // An unwritable history file is no reason to fail.
  }
}

const encoder = new TextEncoder();

function writeAll(file: { writeSync(p: Uint8Array): number }, text: string) {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) {
    written += file.writeSync(bytes.subarray(written));
  }
}

const STDIO: ShellOutput = {
  out: (text) => writeAll(Deno.stdout, text),
  err: (text) => writeAll(Deno.stderr, `${text}\n`),
};

async function interactive(shell: Shell): Promise<void> {
  const path = historyPath();
  const reader = new TerminalLineReader(loadHistory(path));
  try {
    while (!shell.quit) {
      const got = await reader.readLine(shell.prompt());
      if (got === "eof") break;
      if (got === "cancel") {
        shell.cancel();
        continue;
      }
      const entry = shell.line(got.line);
      // A statement over several lines comes back as one line.
      if (entry !== undefined) {
        reader.editor.addHistory(entry.replace(/\s*\n\s*/g, " "));
      }
    }
  } finally {
    saveHistory(path, reader.editor.history);
  }
}

async function piped(shell: Shell): Promise<void> {
  const decoder = new TextDecoder();
  let text = "";
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await Deno.stdin.read(buffer);
    if (n === null) break;
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
    let nl: number;
    while ((nl = text.indexOf("\n")) >= 0) {
      shell.line(text.slice(0, nl).replace(/\r$/, ""));
      text = text.slice(nl + 1);
      if (shell.quit) return;
    }
  }
  text += decoder.decode();
  if (text !== "") shell.line(text);
  if (!shell.quit) shell.finish();
}

/** `lsvfs shell`. */
export const shellCommand: Command = {
  name: "shell",
  synopsis:
    "  lsvfs shell <replica-url> [--poll-interval <duration>] [--write]",
  help: `lsvfs shell <replica-url> [--poll-interval <duration>] [--write]

  An interactive SQL prompt on the replica, like the sqlite3 shell. The
  prompt shows the view's TXID (lsvfs@0000000000000004> ), or its time when
  travelling; a statement ends at a ";" and may span lines (the
  continuation prompt is ...> ). Rows print as a table, errors in one line.
  With --write, the replica opens in write mode.

  On a terminal: left/right, Home/End (Ctrl-A/Ctrl-E), Backspace, Up/Down
  through the history (kept in ~/.lsvfs_history, or the file LSVFS_HISTORY
  names), Ctrl-C drops the line, Ctrl-D on an empty line leaves. Otherwise
  lines are read from standard input, without prompts; the exit code is 1
  if a statement failed.

Dot commands:
${DOT_HELP.replace(/^/gm, "  ")}

Examples:
  lsvfs shell file:///var/backups/app
  lsvfs@0000000000000004> .time 10 minutes ago
  lsvfs@2026-01-02T15:04:05Z> SELECT count(*) FROM users;
  echo "SELECT count(*) FROM users;" | lsvfs shell /var/backups/app
`,
  async run(args) {
    const { url, options } = parseShellArgs(args);
    using db = open(url, options);
    const shell = new Shell(db, STDIO);
    if (Deno.stdin.isTerminal()) await interactive(shell);
    else {
      await piped(shell);
      return shell.failed ? 1 : 0;
    }
    return 0;
  },
};
