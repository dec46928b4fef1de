/**
 * Running code in a Deno subprocess with the project's config, as a user
 * would: for the tests that check a backend works under the narrow
 * permissions the README lists (a subprocess is the only way to run with
 * fewer permissions than the test itself).
 *
 * @module
 */

import assert from "node:assert/strict";

/** Options for {@linkcode runDeno}. */
export interface RunDenoOptions {
  /** The subprocess's environment (added to this process's). */
  env?: Record<string, string>;
  /** How long it may run; default 60 s. */
  timeoutMs?: number;
}

/**
 * Runs `deno run` or `deno eval` with the project's deno.json and no
 * permission prompts; fails the test unless it exits 0 (with its stderr as
 * the message).
 *
 * @param command `run` or `eval`.
 * @param args The rest: permission flags, then the script (or code).
 * @param options Environment and time bound.
 * @returns What it printed on standard output.
 */
export async function runDeno(
  command: "run" | "eval",
  args: readonly string[],
  options: RunDenoOptions = {},
): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      command,
      "--no-prompt",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      ...args,
    ],
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

/**
 * A script that opens a replica URL with the project's `open()` and prints
 * the first row of a query as JSON.
 *
 * @param url The replica URL.
 * @param sql The query.
 * @returns The script's source.
 */
export function openAndQueryScript(url: string, sql: string): string {
  return `
    import { open } from "${new URL("../mod.ts", import.meta.url)}";
    using db = open(${JSON.stringify(url)});
    console.log(JSON.stringify(db.get(${JSON.stringify(sql)})));
  `;
}

/**
 * Writes a script to `<dir>/app.ts` and runs it under the given
 * permissions ({@linkcode runDeno}).
 *
 * @param dir A temp folder for the script.
 * @param script Its source.
 * @param permissions The permission flags.
 * @param options Environment and time bound.
 * @returns What it printed, parsed as JSON.
 */
export async function runScript(
  dir: string,
  script: string,
  permissions: readonly string[],
  options: RunDenoOptions = {},
): Promise<unknown> {
  await Deno.writeTextFile(`${dir}/app.ts`, script);
  const stdout = await runDeno(
    "run",
    [...permissions, `${dir}/app.ts`],
    options,
  );
  return JSON.parse(stdout);
}
