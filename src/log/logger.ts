/**
 * A small structured logger: one line per record in the `key=value` form of
 * Go's `slog.TextHandler`, which Litestream writes, so the logs of both read
 * alike (`time=... level=INFO msg="..." replica=file:///r txid=...`).
 *
 * Off the hot path by construction: a record below the level costs one
 * comparison, and {@linkcode Logger.debugEnabled} lets a caller skip even
 * building the fields of a DEBUG record. Writing never throws: a log that
 * cannot be written must not fail a read.
 *
 * @module
 */

/** Log levels, as Litestream names them (`LITESTREAM_LOG_LEVEL`). */
export type LogLevel = "DEBUG" | "INFO" | "WARN" | "ERROR";

/** Every level, most verbose first. */
export const LOG_LEVELS: readonly LogLevel[] = [
  "DEBUG",
  "INFO",
  "WARN",
  "ERROR",
];

/** The level loggers have when none is configured, as in Litestream. */
export const DEFAULT_LOG_LEVEL: LogLevel = "INFO";

const RANK: Record<LogLevel, number> = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 };

/** A value a record may carry. `undefined` fields are left out. */
export type LogValue = string | number | bigint | boolean | null | undefined;

/** The fields of a record, in the order they are written. */
export type LogFields = Readonly<Record<string, LogValue>>;

/** Where formatted lines go. */
export interface LogSink {
  /** Writes one line (it ends with a newline). May throw; the logger swallows it. */
  write(line: string): void;
}

/** Options of {@linkcode Logger}. */
export interface LoggerOptions {
  /** Records below this level are dropped. Default {@linkcode DEFAULT_LOG_LEVEL}. */
  level?: LogLevel;
  /** Where lines go. Default {@linkcode STDERR_SINK}. */
  sink?: LogSink;
  /** Fields every record carries, after `msg` (e.g. the replica URL). */
  fields?: LogFields;
  /** Clock in ms for the `time` field; `Date.now` by default. */
  now?: () => number;
}

const encoder = new TextEncoder();

function writeAll(
  out: { writeSync(p: Uint8Array): number },
  bytes: Uint8Array,
): void {
  let offset = 0;
  while (offset < bytes.length) {
    offset += out.writeSync(bytes.subarray(offset));
  }
}

/**
 * Standard error. Not standard output, where Litestream's extension logs by
 * default: that is the program's own output.
 */
export const STDERR_SINK: LogSink = {
  write(line: string): void {
    writeAll(Deno.stderr, encoder.encode(line));
  },
};

/** A sink that drops every line. */
export const DISCARD_SINK: LogSink = { write(): void {} };

/** Quotes a value when `key=value` parsing would need it, as slog does. */
function formatValue(value: LogValue): string {
  const text = typeof value === "string" ? value : String(value);
  // deno-lint-ignore no-control-regex
  if (text === "" || /[\s"=\\\x00-\x1f\x7f]/.test(text)) {
    return JSON.stringify(text);
  }
  return text;
}

function formatFields(fields: LogFields | undefined): string {
  let out = "";
  if (fields === undefined) return out;
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    out += ` ${key}=${formatValue(value)}`;
  }
  return out;
}

/**
 * Formats one record as a line.
 *
 * @param time When, in ms since the epoch.
 * @param level The record's level.
 * @param msg What happened.
 * @param fields Its fields, written in order after `msg`.
 * @returns The line, newline included.
 *
 * @example Format a record
 * ```ts
 * import { formatLogLine } from "./logger.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   formatLogLine(0, "INFO", "time travel", { to: "5 minutes ago", pages: 3 }),
 *   'time=1970-01-01T00:00:00.000Z level=INFO msg="time travel" to="5 minutes ago" pages=3\n',
 * );
 * ```
 */
export function formatLogLine(
  time: number,
  level: LogLevel,
  msg: string,
  fields?: LogFields,
): string {
  return `time=${new Date(time).toISOString()} level=${level} msg=${
    formatValue(msg)
  }${formatFields(fields)}\n`;
}

/**
 * A structured logger with a level, a sink and context fields.
 *
 * @example Log at DEBUG only when enabled
 * ```ts
 * import { Logger } from "./logger.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const log = new Logger({
 *   level: "INFO",
 *   sink: { write: (line) => lines.push(line) },
 *   fields: { replica: "file:///r" },
 *   now: () => 0,
 * });
 * if (log.debugEnabled) log.debug("fetch page", { pgno: 1 });
 * log.warn("poll failed", { error: "gone" });
 * assert.deepEqual(lines, [
 *   "time=1970-01-01T00:00:00.000Z level=WARN msg=\"poll failed\" error=gone replica=file:///r\n",
 * ]);
 * ```
 */
export class Logger {
  /** Records below this level are dropped. */
  readonly level: LogLevel;
  /** Whether DEBUG records are written: test it before building their fields. */
  readonly debugEnabled: boolean;
  /** The sink lines go to. */
  readonly sink: LogSink;
  #rank: number;
  #context: string;
  #contextFields: LogFields;
  #now: () => number;

  /** @param options Level, sink, context fields and clock. */
  constructor(options: LoggerOptions = {}) {
    this.level = options.level ?? DEFAULT_LOG_LEVEL;
    this.sink = options.sink ?? STDERR_SINK;
    this.#rank = RANK[this.level];
    this.debugEnabled = this.#rank === 0;
    this.#contextFields = options.fields ?? {};
    this.#context = formatFields(this.#contextFields);
    this.#now = options.now ?? Date.now;
  }

  /**
   * A logger that writes nothing, for code given no logger.
   *
   * @returns A logger at ERROR over {@linkcode DISCARD_SINK}.
   */
  static discard(): Logger {
    return new Logger({ level: "ERROR", sink: DISCARD_SINK });
  }

  /**
   * @param level A level.
   * @returns Whether records of that level are written.
   */
  enabled(level: LogLevel): boolean {
    return RANK[level] >= this.#rank;
  }

  /**
   * A logger with the same level and sink and more context fields.
   *
   * @param fields Fields every record of the new logger carries.
   * @returns The new logger.
   */
  with(fields: LogFields): Logger {
    return new Logger({
      level: this.level,
      sink: this.sink,
      fields: { ...this.#contextFields, ...fields },
      now: this.#now,
    });
  }

  /** Writes a DEBUG record (guard field building with {@linkcode Logger.debugEnabled}). */
  debug(msg: string, fields?: LogFields): void {
    if (this.#rank <= 0) this.#write("DEBUG", msg, fields);
  }

  /** Writes an INFO record. */
  info(msg: string, fields?: LogFields): void {
    if (this.#rank <= 1) this.#write("INFO", msg, fields);
  }

  /** Writes a WARN record. */
  warn(msg: string, fields?: LogFields): void {
    if (this.#rank <= 2) this.#write("WARN", msg, fields);
  }

  /** Writes an ERROR record. */
  error(msg: string, fields?: LogFields): void {
    this.#write("ERROR", msg, fields);
  }

  #write(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    try {
      const line = formatLogLine(this.#now(), level, msg, fields);
      this.sink.write(
        this.#context === "" ? line : `${line.slice(0, -1)}${this.#context}\n`,
      );
    } catch {
      // A log that cannot be written must not fail what is being logged.
    }
  }
}

/** A log file shared by every logger that names it. */
export interface LogFile extends LogSink {
  /** The file's path, as given. */
  readonly path: string;
  /** Gives back one {@linkcode acquireLogFile}; the last one closes the file. */
  release(): void;
}

const openFiles = new Map<string, { file: Deno.FsFile; users: number }>();

/**
 * Opens a log file for appending (created if missing), shared by path and
 * counted: each call needs one {@linkcode LogFile.release}.
 *
 * @param path The file (`LITESTREAM_LOG_FILE`).
 * @returns A sink that appends lines to it.
 * @throws {Deno.errors.NotCapable} Without `--allow-write` for the path.
 * @throws {Error} When the file cannot be opened.
 */
export function acquireLogFile(path: string): LogFile {
  let entry = openFiles.get(path);
  if (entry === undefined) {
    const file = Deno.openSync(path, { append: true, create: true });
    entry = { file, users: 0 };
    openFiles.set(path, entry);
  }
  entry.users++;
  const shared = entry;
  let released = false;
  return {
    path,
    write(line: string): void {
      writeAll(shared.file, encoder.encode(line));
    },
    release(): void {
      if (released) return;
      released = true;
      if (--shared.users > 0) return;
      openFiles.delete(path);
      shared.file.close();
    },
  };
}
