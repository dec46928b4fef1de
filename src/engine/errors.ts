/**
 * Errors the engine raises. The VFS bridge maps each class to a SQLite
 * result code; the message travels with it and says what to fix.
 *
 * @module
 */

/** The replica has no LTX files at the configured URL. */
export class ReplicaNotFoundError extends Error {
  /** The replica URL, credentials removed. */
  readonly url: string;

  /**
   * @param url The replica URL, credentials removed.
   * @param options Standard error options.
   */
  constructor(url: string, options?: ErrorOptions) {
    super(
      `No LTX files at "${url}": check the replica URL, or that Litestream has replicated to it`,
      options,
    );
    this.name = "ReplicaNotFoundError";
    this.url = url;
  }
}

/** The LTX files of a replica do not form a contiguous TXID chain. */
export class TxidGapError extends Error {
  /**
   * @param message What is missing, naming the TXIDs on both sides.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TxidGapError";
  }
}

/** The engine was configured wrongly (bad URL, bad option value). */
export class ConfigError extends Error {
  /**
   * @param message What is wrong and how to fix it.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigError";
  }
}

/** A page inside the database is in none of the view's LTX files. */
export class PageNotFoundError extends Error {
  /**
   * @param message Which page, which TXID, which replica.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PageNotFoundError";
  }
}

/** Options of {@linkcode TimeTravelError}. */
export interface TimeTravelErrorOptions extends ErrorOptions {
  /** The time asked for, in ms since the epoch. */
  target: number;
  /** The oldest time the replica can show, in ms; undefined when none. */
  oldest: number | undefined;
}

/** A time travel target the replica cannot show: before its oldest state. */
export class TimeTravelError extends Error {
  /** The time asked for, in ms since the epoch. */
  readonly target: number;
  /** The oldest time the replica can show, in ms; undefined when none. */
  readonly oldest: number | undefined;

  /**
   * @param message What was asked and what is available.
   * @param options The target and oldest times, and standard error options.
   */
  constructor(message: string, options: TimeTravelErrorOptions) {
    super(message, options);
    this.name = "TimeTravelError";
    this.target = options.target;
    this.oldest = options.oldest;
  }
}

/**
 * A write that cannot go ahead now, but may later: another connection of
 * the process holds the writer's lock, or readers hold the database while
 * the writer needs it alone (SQLite's `SQLITE_BUSY`; its busy handler
 * retries).
 */
export class BusyError extends Error {
  /**
   * @param message Who holds what.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BusyError";
  }
}

/**
 * A write to a file that is not writable now: write mode is off, or the
 * connection travels in time (SQLite's `SQLITE_READONLY`).
 */
export class ReadOnlyError extends Error {
  /**
   * @param message Why, and how to make it writable.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ReadOnlyError";
  }
}

/**
 * Another writer moved the replica on first: this writer's transactions
 * were built on a state that is no longer the latest, so they are not
 * uploaded; they stay in its write buffer, at {@linkcode ConflictError.bufferPath},
 * for inspection. In SQLite, `SQLITE_BUSY` with this message.
 */
export class ConflictError extends Error {
  /** The buffer that keeps this writer's transactions. */
  readonly bufferPath: string;

  /**
   * @param message What happened and where the transactions are.
   * @param bufferPath The buffer file.
   * @param options Standard error options.
   */
  constructor(message: string, bufferPath: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConflictError";
    this.bufferPath = bufferPath;
  }
}

/**
 * An LTX file failed verification (`verify=background` or `strict`): its
 * pages are not served from then on.
 */
export class CorruptFileError extends Error {
  /** The file, as its replica URL and path. */
  readonly file: string;

  /**
   * @param file The file, as its replica URL and path.
   * @param reason What verification found, naming the file.
   * @param options Standard error options.
   */
  constructor(file: string, reason: string, options?: ErrorOptions) {
    super(
      `Not serving pages of a corrupt LTX file: ${reason} (lsvfs verify checks the whole replica)`,
      options,
    );
    this.name = "CorruptFileError";
    this.file = file;
  }
}
