/**
 * `lsvfs engine`: the engine child the loadable extension starts
 * (src/host); not for people, so left out of `lsvfs --help`.
 *
 * @module
 */

import { runEngineChild } from "../host/mod.ts";
import { type Command, UsageError } from "./command.ts";

/** `lsvfs engine`. */
export const engineCommand: Command = {
  name: "engine",
  synopsis: "  lsvfs engine",
  help: `lsvfs engine

  Serves the loadable extension (dist/litestream-vfs.so) on standard input
  and output; the extension starts it, people do not.
`,
  hidden: true,
  run(args) {
    if (args.length > 0) throw new UsageError("engine takes no arguments");
    runEngineChild();
    return Promise.resolve(0);
  },
};
