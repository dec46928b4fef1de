/**
 * Runs SQLite clients that are not Deno (Debian's sqlite3 CLI and python3)
 * with a loadable extension: ours (dist/litestream-vfs.so, whose pipe port
 * starts the engine child through dist/lsvfs) or Litestream's. Each run has
 * a time limit, so a hang fails the test instead of stalling it.
 *
 * @module
 */

import { defaultShimPath, ensureShim } from "../ffi/build.ts";
import { writeLauncher } from "../tasks/build_ext.ts";
import { sqlite3CliPath } from "../tasks/setup_test_env.ts";

/** Debian's python3, which can load extensions (pyenv's, first on PATH, cannot). */
export const PYTHON3 = "/usr/bin/python3";

/** The project's top folder. */
export const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname)
  .replace(/\/$/, "");

/** What a client printed and how it ended. */
export interface ClientRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode runClient}. */
export interface ClientOptions {
  /** The whole environment (none of the test process's). */
  env?: Record<string, string>;
  /** Working directory; default the project's top folder. */
  cwd?: string;
  /** Kill the client after this many milliseconds; default 60 s. */
  timeoutMs?: number;
}

/**
 * Builds our extension and its launcher, as `deno task build-ext` does for
 * the host.
 *
 * @returns The library's absolute path.
 */
export function ourExtension(): string {
  ensureShim();
  writeLauncher();
  return defaultShimPath();
}

/** The environment every client gets: PATH and HOME only, then `extra`. */
export function clientEnv(extra: Record<string, string> = {}): Record<
  string,
  string
> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    ...extra,
  };
}

/**
 * Runs a program with `stdin` as its standard input.
 *
 * @param command The program.
 * @param args Its arguments.
 * @param stdin What to feed it.
 * @param options Environment, working directory, time limit.
 * @returns Its exit code and output.
 * @throws {Error} When it does not finish in time (it is killed).
 */
export async function runClient(
  command: string,
  args: string[],
  stdin: string,
  options: ClientOptions = {},
): Promise<ClientRun> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd ?? ROOT,
    env: options.env ?? clientEnv(),
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const output = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  const run = {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
  if (timedOut) {
    throw new Error(
      `${command} did not finish within ${timeoutMs} ms (killed): ${run.stderr}`,
    );
  }
  return run;
}

/**
 * Runs a script in Debian's sqlite3 CLI (`-bail -batch`, script on stdin).
 *
 * @param script Dot-commands and SQL.
 * @param options Environment, working directory, time limit.
 * @returns Its exit code and output.
 */
export function sqlite3Script(
  script: string,
  options: ClientOptions = {},
): Promise<ClientRun> {
  return runClient(sqlite3CliPath(), ["-bail", "-batch"], script, options);
}

/**
 * Runs a program in Debian's python3 (program on stdin).
 *
 * @param program Python source.
 * @param options Environment, working directory, time limit.
 * @returns Its exit code and output.
 */
export function python3(
  program: string,
  options: ClientOptions = {},
): Promise<ClientRun> {
  return runClient(PYTHON3, ["-"], program, options);
}
