/**
 * What every `lsvfs` command is: a name, its help, and a function from its
 * arguments to an exit code. `main.ts` dispatches on the name.
 *
 * Exit codes, the same for every command: 0 success; 1 the command ran and
 * failed (a failed query, an unreadable replica, a replica `verify` found
 * unsound); 2 a usage error.
 *
 * @module
 */

/** An `lsvfs` command. */
export interface Command {
  /** The name typed after `lsvfs`. */
  readonly name: string;
  /** Its synopsis lines for `lsvfs --help` (usage, no examples). */
  readonly synopsis: string;
  /** Its whole help for `lsvfs <name> --help`: usage, what it does, examples. */
  readonly help: string;
  /** Left out of `lsvfs --help` (the engine child: not for people). */
  readonly hidden?: boolean;
  /**
   * Runs the command.
   *
   * @param args The arguments after the command's name.
   * @returns The exit code.
   * @throws {UsageError} When the arguments are wrong (exit code 2).
   */
  run(args: string[]): Promise<number>;
}

/** A usage mistake: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Takes the value after a flag.
 *
 * @param args The arguments.
 * @param i The flag's index.
 * @param what What the value is, for the message ("a duration, such as 5s").
 * @returns The value.
 * @throws {UsageError} When there is none.
 */
export function flagValue(args: string[], i: number, what: string): string {
  const value = args[i + 1];
  if (value === undefined || (value.startsWith("--") && value.length > 2)) {
    throw new UsageError(`${args[i]} needs ${what}`);
  }
  return value;
}
