/**
 * Reading the environment under narrow permissions: a backend names the
 * variables it reads, and one the process may not read counts as unset, so
 * `--allow-env=LITESTREAM_*,AWS_*` is enough (`Deno.env.toObject()` would
 * need every variable).
 *
 * @module
 */

/**
 * The values of the named environment variables.
 *
 * @param names The variables to read.
 * @returns Each name with its value, or undefined when unset or not allowed.
 *
 * @example Read two variables
 * ```ts
 * import { readVariables } from "./_env.ts";
 * import assert from "node:assert/strict";
 *
 * const env = readVariables(["LSVFS_NO_SUCH_VARIABLE"]);
 * assert.deepEqual(env, { LSVFS_NO_SUCH_VARIABLE: undefined });
 * ```
 */
export function readVariables(
  names: readonly string[],
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of names) {
    try {
      env[name] = Deno.env.get(name);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotCapable)) throw error;
      env[name] = undefined;
    }
  }
  return env;
}
