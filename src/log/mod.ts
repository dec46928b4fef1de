/**
 * Structured logging for every layer: {@linkcode Logger} writes `key=value`
 * lines as Go's `slog` does (and so Litestream), to standard error or to a
 * shared log file ({@linkcode acquireLogFile}).
 *
 * @example Log to a sink
 * ```ts
 * import { Logger } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const log = new Logger({ level: "DEBUG", sink: { write: (l) => lines.push(l) } });
 * log.debug("fetch page", { pgno: 7 });
 * assert.match(lines[0], /level=DEBUG msg="fetch page" pgno=7\n$/);
 * ```
 *
 * @module
 */

export {
  acquireLogFile,
  DEFAULT_LOG_LEVEL,
  DISCARD_SINK,
  formatLogLine,
  LOG_LEVELS,
  type LogFields,
  type LogFile,
  Logger,
  type LoggerOptions,
  type LogLevel,
  type LogSink,
  type LogValue,
  STDERR_SINK,
} from "./logger.ts";
