/**
 * The engine: opens database files for the VFS, one view per file, over
 * replicas shared by every file that names the same URL.
 *
 * @module
 */

import {
  acquireLogFile,
  type LogFile,
  Logger,
  type LogSink,
  STDERR_SINK,
} from "../log/mod.ts";
import { openSyncReplicaClient, redactUrl } from "../storage/mod.ts";
import { type EnvLookup, readEnv, resolveConfig } from "./config.ts";
import type { DatabaseFile } from "./database_file.ts";
import { ConfigError } from "./errors.ts";
import { Hydrator } from "./hydrator.ts";
import { Replica } from "./replica.ts";
import { Verifier } from "./verifier.ts";
import { ReplicaView } from "./view.ts";
import { defaultBufferPath, Writer } from "./writer.ts";

/** Options of {@linkcode Engine}. */
export interface EngineOptions {
  /** Where settings missing from URI parameters come from; the process environment by default. */
  env?: EnvLookup;
  /** Clock in ms, replaceable in tests: polling, lag, relative times, log times. */
  now?: () => number;
  /** Where logs go when no log file is configured; standard error by default. */
  logSink?: LogSink;
}

/**
 * Serves database files from replicas. Several replicas may be open at once,
 * each file naming its own in its URI parameters.
 */
export class Engine {
  #env: EnvLookup;
  #now: () => number;
  #logSink: LogSink;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #replicas = new Map<
    string,
    {
      replica: Replica;
      files: number;
      hydrator?: Hydrator;
      verifier?: Verifier;
      writer: Writer;
    }
  >();

  /** @param options Environment lookup, clock, log sink. */
  constructor(options: EngineOptions = {}) {
    this.#env = options.env ?? readEnv;
    this.#now = options.now ?? Date.now;
    this.#logSink = options.logSink ?? STDERR_SINK;
  }

  /**
   * Does the engine's timed work that no request triggers: syncs the write
   * buffers whose sync interval has passed, and starts background
   * verification that waits. A host calls it between requests (the engine
   * child when its pipe is idle, the Deno module from a timer); it never
   * throws, and logs what fails.
   *
   * @param options `quiet: false` when a client waits for the host's next
   * answer: work that would hold it up (starting a thread) waits for a
   * quiet tick, unless it has waited long. Quiet by default.
   */
  tick(options: { quiet?: boolean } = {}): void {
    for (const { writer, verifier } of this.#replicas.values()) {
      writer.tick();
      verifier?.startIfDue(options.quiet ?? true);
    }
  }

  /**
   * Where the event loop runs (the Deno module), ticks once it turns: after
   * the code that asked (an open, a poll that found files to verify) yields,
   * never inside it. The engine child has no event loop; its idle ticks
   * come anyway.
   */
  #tickSoon(): void {
    Deno.unrefTimer(setTimeout(() => this.tick(), 0));
  }

  /**
   * Where the event loop runs (the Deno module), syncs come from a timer
   * too; it never keeps the process alive. The engine child has no event
   * loop: its server calls {@linkcode Engine.tick} when the pipe is idle.
   */
  #startTicking(syncIntervalMs: number): void {
    if (this.#ticker !== undefined) return;
    const ticker = setInterval(
      () => this.tick(),
      Math.max(20, Math.min(syncIntervalMs / 2, 250)),
    );
    Deno.unrefTimer(ticker);
    this.#ticker = ticker;
  }

  #stopTicking(): void {
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  /**
   * Opens a database file: the latest state of the replica its parameters
   * (or the environment) name, logging as they say.
   *
   * @param name The database name SQLite passed to `xOpen`.
   * @param params Its URI parameters.
   * @returns The file, to be closed by the caller.
   * @throws {ConfigError} When a setting is malformed, write mode is asked
   * for, or the log file cannot be opened.
   */
  openFile(name: string, params: ReadonlyMap<string, string>): DatabaseFile {
    const config = resolveConfig(params, this.#env);
    let logFile: LogFile | undefined;
    if (config.logFile !== undefined) {
      try {
        logFile = acquireLogFile(config.logFile);
      } catch (cause) {
        throw new ConfigError(
          `Cannot open the log file "${config.logFile}" (log_file, LITESTREAM_LOG_FILE): ${
            (cause as Error).message
          }`,
          { cause },
        );
      }
    }
    const logger = new Logger({
      level: config.logLevel,
      sink: logFile ?? this.#logSink,
      fields: { db: name, replica: redactUrl(config.replicaUrl) },
      now: this.#now,
    });
    const key = config.replicaUrl;
    let entry = this.#replicas.get(key);
    const release = () => {
      logFile?.release();
      if (entry === undefined || --entry.files > 0) return;
      entry.hydrator?.close();
      entry.verifier?.close();
      entry.replica.close();
      if (this.#replicas.size === 1) this.#stopTicking();
      this.#replicas.delete(key);
    };
    try {
      if (entry === undefined) {
        const replica = new Replica(
          openSyncReplicaClient(key, {
            maxInFlight: config.maxInFlight,
            diskCache: config.diskCache === undefined ? undefined : {
              dir: config.diskCache,
              maxBytes: config.diskCacheSize,
            },
          }),
        );
        entry = { replica, files: 0, writer: new Writer(replica, this.#now) };
      }
      entry.files++;
      this.#replicas.set(key, entry);
      if (config.hydrationEnabled) {
        entry.hydrator ??= new Hydrator(
          config,
          (error) =>
            logger.error("hydration stopped: reads go to the replica", {
              error: error.message,
            }),
        );
      }
      if (config.verification !== "off") {
        entry.verifier ??= new Verifier(entry.replica, config, logger, {
          onWaiting: () => this.#tickSoon(),
        });
      }
      const view = new ReplicaView(entry.replica, config, {
        now: this.#now,
        onClose: release,
        logger,
        hydrator: config.hydrationEnabled ? entry.hydrator : undefined,
        writer: entry.writer,
        verifier: entry.verifier,
        write: config.writeEnabled
          ? {
            bufferPath: config.bufferPath ??
              defaultBufferPath(key, this.#env("TMPDIR") ?? "/tmp"),
            syncIntervalMs: config.syncIntervalMs,
            logger,
          }
          : undefined,
      });
      if (config.writeEnabled) this.#startTicking(config.syncIntervalMs);
      return view;
    } catch (error) {
      release();
      throw error;
    }
  }
}
