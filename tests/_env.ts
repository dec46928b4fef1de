/**
 * Process environment for tests: the storage worker and the engine read
 * credentials from `Deno.env`, so a test sets what its server needs and puts
 * back what was there before, whatever happens.
 *
 * @module
 */

/**
 * Sets variables of this process, or unsets those given as `undefined`,
 * until the returned function puts every one of them back as it was.
 *
 * @param env The variables to set (`undefined`: to unset).
 * @returns A function that restores the variables; call it once, in a
 * `finally`.
 *
 * @example Credentials for one test
 * ```ts
 * import { withEnv } from "./_env.ts";
 * import assert from "node:assert/strict";
 *
 * const restore = withEnv({ LSVFS_EXAMPLE: "1", LSVFS_UNSET: undefined });
 * try {
 *   assert.equal(Deno.env.get("LSVFS_EXAMPLE"), "1");
 * } finally {
 *   restore();
 * }
 * assert.equal(Deno.env.get("LSVFS_EXAMPLE"), undefined);
 * ```
 */
export function withEnv(
  env: Readonly<Record<string, string | undefined>>,
): () => void {
  const apply = (pairs: Iterable<readonly [string, string | undefined]>) => {
    for (const [name, value] of pairs) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  };
  const before = Object.keys(env).map((name) =>
    [name, Deno.env.get(name)] as const
  );
  apply(Object.entries(env));
  return () => apply(before);
}
