/**
 * The `lsvfs` command as a user runs it: a subprocess of
 * `src/cli/main.ts`, with its exit code and what it printed.
 *
 * @module
 */

/** The command's entry point. */
export const LSVFS_MAIN =
  new URL("../src/cli/main.ts", import.meta.url).pathname;

/** What a run printed, and how it ended. */
export interface LsvfsRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `lsvfs <args>` with `stdin` as its standard input.
 *
 * @param args The command line after `lsvfs`.
 * @param options Standard input, and environment variables to add.
 * @returns Its exit code and output.
 */
export async function runLsvfs(
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<LsvfsRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", LSVFS_MAIN, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(options.stdin ?? ""));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}
