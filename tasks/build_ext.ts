/**
 * `deno task build-ext`: builds the C shim into `dist/litestream-vfs.so`
 * (`.dylib` on macOS) and prints its path.
 *
 * ```sh
 * deno task build-ext [--force] [--out FILE] [--cc COMPILER] [--target host]
 * ```
 *
 * Cross targets (linux/darwin, amd64/arm64, with Zig) come with a later
 * issue; `--target` takes only "host" for now.
 *
 * @module
 */

import { ensureShim, type ShimTarget } from "../ffi/build.ts";

const USAGE =
  "Usage: deno task build-ext [--force] [--out FILE] [--cc COMPILER] [--target host]";

/**
 * Parses the command line and builds.
 *
 * @param args The command-line arguments.
 * @returns The process exit code.
 */
export function main(args: string[]): number {
  let force = false;
  let outFile: string | undefined;
  let cc: string | undefined;
  let target: ShimTarget = "host";
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const next = args[++i];
      if (next === undefined) throw new RangeError(`Missing value: ${arg}`);
      return next;
    };
    if (arg === "--force") force = true;
    else if (arg === "--out") outFile = value();
    else if (arg === "--cc") cc = value();
    else if (arg === "--target") {
      const t = value();
      if (t !== "host") throw new RangeError(`Unknown target: "${t}"`);
      target = t;
    } else if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      return 0;
    } else throw new RangeError(`Unknown argument: "${arg}"\n${USAGE}`);
  }
  console.log(ensureShim({ target, outFile, cc, force }));
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(main(Deno.args));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    Deno.exit(1);
  }
}
