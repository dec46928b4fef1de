/**
 * The `lsvfs` command: each command is a {@linkcode Command} in a module of
 * its own (`query.ts`, `hydrate.ts`, ...), dispatched here by name. Exit
 * codes are in `command.ts`.
 *
 * @module
 */

import { type Command, UsageError } from "./command.ts";
import { engineCommand } from "./engine.ts";
import { hydrateCommand } from "./hydrate.ts";
import { queryCommand } from "./query.ts";
// Command imports: one line each.
import { lsCommand } from "./ls.ts";
import { infoCommand } from "./info.ts";
import { verifyCommand } from "./verify.ts";
import { restoreCommand } from "./restore.ts";
import { shellCommand } from "./shell.ts";

/** Every command, in the order `lsvfs --help` lists them. */
const COMMANDS: readonly Command[] = [
  queryCommand,
  hydrateCommand,
  // Commands: one line each.
  lsCommand,
  infoCommand,
  verifyCommand,
  restoreCommand,
  shellCommand,
  engineCommand,
];

/** `lsvfs --help`: every command's synopsis. */
function usage(): string {
  const synopses = COMMANDS.filter((c) => !c.hidden).map((c) => c.synopsis)
    .join("\n");
  return `lsvfs: query, inspect and verify a Litestream replica in place

Usage:
${synopses}

  lsvfs <command> --help shows a command's options and examples.

Exit codes: 0 success, 1 the command failed (a failed query, an unreadable
replica, an unsound one), 2 usage error.
`;
}

/**
 * Runs the command line.
 *
 * @param args The arguments after the program name.
 * @returns The exit code.
 */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (
    name === undefined || name === "--help" || name === "-h" ||
    name === "help"
  ) {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  try {
    if (command === undefined) {
      throw new UsageError(`Unknown command "${name}"`);
    }
    if (rest.includes("--help") || rest.includes("-h")) {
      console.log(command.help);
      return 0;
    }
    return await command.run(rest);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError) {
      const help = command === undefined
        ? "lsvfs --help"
        : `lsvfs ${command.name} --help`;
      console.error(`lsvfs: ${message} (see ${help})`);
      return 2;
    }
    console.error(`lsvfs: ${message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
