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
