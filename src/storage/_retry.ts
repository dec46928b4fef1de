/**
 * The retry loop every remote backend runs its requests in: attempts
 * bounded by a time budget rather than a count, each with its own timeout,
 * exponential backoff with jitter in between, and only failures the
 * backend classifies as transient tried again.
 *
 * @module
 */

import { StorageError } from "./errors.ts";

/** Default bound on the time one operation may spend retrying, in ms. */
export const DEFAULT_RETRY_BUDGET_MS = 10_000;

/** Default timeout of one request, in ms. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

/** A client's bounds on retries, with the defaults filled in. */
export interface RetryLimits {
  /** Bound on the total time one operation spends retrying, in ms. */
  retryBudgetMs: number;
  /** Timeout of one request, in ms. */
  requestTimeoutMs: number;
}

/**
 * A client's retry bounds: those of its options, else the defaults
 * ({@linkcode DEFAULT_RETRY_BUDGET_MS}, {@linkcode DEFAULT_REQUEST_TIMEOUT_MS}).
 *
 * @param options The client's options.
 * @returns The bounds.
 *
 * @example
 * ```ts
 * import { retryLimits } from "./_retry.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(retryLimits({ requestTimeoutMs: 200 }), {
 *   retryBudgetMs: 10_000,
 *   requestTimeoutMs: 200,
 * });
 * ```
 */
export function retryLimits(
  options: { retryBudgetMs?: number; requestTimeoutMs?: number },
): RetryLimits {
  return {
    retryBudgetMs: options.retryBudgetMs ?? DEFAULT_RETRY_BUDGET_MS,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
  };
}

/** Longest wait between two attempts, in ms (before jitter). */
const MAX_DELAY_MS = 1000;

/** Wait after the first attempt, in ms (before jitter); doubled each time. */
const FIRST_DELAY_MS = 25;

/**
 * Thrown by an attempt to end the retries at once: its error is thrown as
 * it is, neither classified nor retried, whatever its `retryable` says.
 */
export class Final extends Error {
  /** @param error The error the operation fails with. */
  constructor(readonly error: StorageError) {
    super(error.message);
    this.name = "Final";
  }
}

/** Options of {@linkcode retryWithin}. */
export interface RetryWithinOptions {
  /** Bound on the time spent retrying, in ms: no attempt starts after it. */
  budgetMs: number;
  /**
   * Timeout of one attempt, in ms: its signal aborts then. Without it the
   * signal never aborts (the backend bounds its requests itself).
   */
  requestTimeoutMs?: number;
  /**
   * Turns what an attempt threw into the error to throw or retry (a
   * {@linkcode StorageError} thrown as it is, as a rule).
   */
  classify: (error: unknown) => StorageError;
}

/**
 * Runs `op` until it succeeds, fails for good, or the budget is spent.
 * A failure the classifier calls transient is tried again after
 * 25 ms, 50 ms, ... up to 1 s (each times 0.5 to 1, at random), unless
 * that wait would end past the budget; a transient failure given up on
 * after more than one attempt says so: `(gave up after N attempts in M ms)`.
 *
 * @param op One attempt; its signal aborts after the request timeout.
 * @param options Budget, request timeout, classifier.
 * @returns What the first successful attempt returned.
 * @throws {StorageError} The classified failure.
 *
 * @example Retry a transient failure
 * ```ts
 * import { retryWithin } from "./_retry.ts";
 * import { StorageError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * let attempts = 0;
 * const value = await retryWithin(async () => {
 *   if (++attempts < 3) throw new Error("reset");
 *   return "done";
 * }, {
 *   budgetMs: 1000,
 *   classify: (e) => new StorageError(String(e), { retryable: true }),
 * });
 * assert.equal(value, "done");
 * assert.equal(attempts, 3);
 * ```
 */
export async function retryWithin<T>(
  op: (signal: AbortSignal) => Promise<T>,
  options: RetryWithinOptions,
): Promise<T> {
  const { budgetMs, requestTimeoutMs, classify } = options;
  const start = Date.now();
  let attempt = 0;
  for (;;) {
    attempt++;
    const controller = new AbortController();
    const timer = requestTimeoutMs === undefined
      ? undefined
      : setTimeout(() => controller.abort(), requestTimeoutMs);
    try {
      return await op(controller.signal);
    } catch (error) {
      if (error instanceof Final) throw error.error;
      const classified = classify(error);
      const elapsed = Date.now() - start;
      const delay =
        Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (attempt - 1)) *
        (0.5 + Math.random() / 2);
      if (!classified.retryable || elapsed + delay >= budgetMs) {
        if (classified.retryable && attempt > 1) {
          throw new StorageError(
            `${classified.message} (gave up after ${attempt} attempts in ${elapsed} ms)`,
            { cause: classified.cause, retryable: true },
          );
        }
        throw classified;
      }
      await new Promise((r) => setTimeout(r, delay));
    } finally {
      clearTimeout(timer);
    }
  }
}
