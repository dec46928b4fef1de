/**
 * Errors raised by replica clients.
 *
 * @module
 */

/** A storage operation failed. `retryable` says whether trying again may help. */
export class StorageError extends Error {
  /** True for transient failures (timeouts, throttling, connection resets). */
  readonly retryable: boolean;

  /**
   * @param message What failed, naming the object or path (never a signed URL).
   * @param options Standard error options plus whether the failure is transient.
   */
  constructor(
    message: string,
    options?: ErrorOptions & { retryable?: boolean },
  ) {
    super(message, options);
    this.name = "StorageError";
    this.retryable = options?.retryable ?? false;
  }
}

/**
 * A create-only write found the file already there: another writer made
 * it first (write mode's conflict, detected by the storage itself).
 */
export class FileExistsError extends StorageError {
  /**
   * @param message Which file, and where.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, retryable: false });
    this.name = "FileExistsError";
  }
}

/** A replica URL that cannot be used: unknown scheme, missing path, bad option. */
export class ReplicaUrlError extends Error {
  /**
   * @param message What is wrong with the URL and how to write it.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ReplicaUrlError";
  }
}
