import assert from "node:assert/strict";
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RETRY_BUDGET_MS,
  Final,
  retryLimits,
  retryWithin,
} from "./_retry.ts";
import { StorageError } from "./errors.ts";

const transient = (error: unknown) =>
  new StorageError(`op: ${(error as Error).message}`, {
    cause: error,
    retryable: true,
  });

Deno.test("retryWithin() returns the first success, retrying transient failures", async () => {
  let attempts = 0;
  const value = await retryWithin(() => {
    attempts++;
    return attempts < 3
      ? Promise.reject(new Error("reset"))
      : Promise.resolve(42);
  }, { budgetMs: 5_000, classify: transient });
  assert.equal(value, 42);
  assert.equal(attempts, 3);
});

Deno.test("retryWithin() throws a final failure at once, as classified", async () => {
  let attempts = 0;
  const refused = new Error("denied");
  await assert.rejects(
    retryWithin(() => {
      attempts++;
      return Promise.reject(refused);
    }, {
      budgetMs: 5_000,
      classify: (e) => new StorageError("op: denied", { cause: e }),
    }),
    (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.message, "op: denied");
      assert.equal(error.retryable, false);
      assert.equal(error.cause, refused);
      return true;
    },
  );
  assert.equal(attempts, 1);
});

Deno.test("retryWithin() gives up within its budget and says after how many attempts", async () => {
  let attempts = 0;
  const started = Date.now();
  await assert.rejects(
    retryWithin(() => {
      attempts++;
      return Promise.reject(new Error("reset"));
    }, { budgetMs: 300, classify: transient }),
    (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.retryable, true);
      assert.match(
        error.message,
        /^op: reset \(gave up after (\d+) attempts in \d+ ms\)$/,
      );
      assert.equal(
        Number(/after (\d+) attempts/.exec(error.message)![1]),
        attempts,
      );
      assert.equal((error.cause as Error).message, "reset");
      return true;
    },
  );
  assert.ok(attempts > 1);
  assert.ok(Date.now() - started < 1_300);
});

Deno.test("retryWithin() with no budget tries once, and says nothing of giving up", async () => {
  let attempts = 0;
  await assert.rejects(
    retryWithin(() => {
      attempts++;
      return Promise.reject(new Error("reset"));
    }, { budgetMs: 0, classify: transient }),
    (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.equal(error.message, "op: reset");
      assert.equal(error.retryable, true);
      return true;
    },
  );
  assert.equal(attempts, 1);
});

Deno.test("retryWithin() throws a Final's error as it is, unretried", async () => {
  let attempts = 0;
  const gone = new StorageError("gone", { retryable: true });
  await assert.rejects(
    retryWithin(() => {
      attempts++;
      return Promise.reject(new Final(gone));
    }, { budgetMs: 5_000, classify: transient }),
    (error: unknown) => error === gone,
  );
  assert.equal(attempts, 1);
});

Deno.test("retryWithin() aborts an attempt's signal after the request timeout", async () => {
  let attempts = 0;
  const value = await retryWithin((signal) => {
    attempts++;
    if (attempts > 1) return Promise.resolve(signal.aborted);
    return new Promise<boolean>((_, reject) =>
      signal.addEventListener("abort", () => reject(new Error("aborted")))
    );
  }, { budgetMs: 5_000, requestTimeoutMs: 50, classify: transient });
  assert.equal(value, false);
  assert.equal(attempts, 2);
});

Deno.test("retryLimits() fills in the defaults", () => {
  assert.deepEqual(retryLimits({}), {
    retryBudgetMs: DEFAULT_RETRY_BUDGET_MS,
    requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
  });
  assert.deepEqual(retryLimits({ retryBudgetMs: 0, requestTimeoutMs: 7 }), {
    retryBudgetMs: 0,
    requestTimeoutMs: 7,
  });
  assert.equal(DEFAULT_RETRY_BUDGET_MS, 10_000);
  assert.equal(DEFAULT_REQUEST_TIMEOUT_MS, 5_000);
});
