/**
 * How an engine worker thread (hydration, verification) logs: where the
 * engine's log goes, at its level, with its fields.
 *
 * @module
 */

import {
  acquireLogFile,
  type LogFields,
  type LogFile,
  Logger,
  type LogLevel,
} from "../log/mod.ts";

/** The log settings the engine hands a worker. */
export interface WorkerLogSettings {
  /** The log level. */
  logLevel: LogLevel;
  /** The log file, if one is configured; standard error otherwise. */
  logFile?: string;
  /** Fields of every log line (the replica). */
  fields: Record<string, string>;
}

/**
 * The worker's logger.
 *
 * @param settings What the engine handed over.
 * @param fields More fields of every line.
 * @returns A logger writing where the engine's does, and the log file it
 * holds (to release when the worker ends), if any.
 */
export function workerLogger(
  settings: WorkerLogSettings,
  fields: LogFields = {},
): { logger: Logger; logFile: LogFile | undefined } {
  const logFile = settings.logFile === undefined
    ? undefined
    : acquireLogFile(settings.logFile);
  const logger = new Logger({
    level: settings.logLevel,
    sink: logFile,
    fields: { ...settings.fields, ...fields },
  });
  return { logger, logFile };
}
