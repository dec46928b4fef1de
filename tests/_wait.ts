/**
 * Waiting in tests for something that happens in the background (a poller's
 * next listing, a new transaction showing up).
 *
 * @module
 */

import assert from "node:assert/strict";

/**
 * Waits until `check` holds, checking every 50 ms; fails the test (an
 * assertion error) when it does not within `ms`.
 *
 * @param what What is awaited, for the failure's message.
 * @param check The condition; may be async.
 * @param ms How long to wait at the most.
 */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
