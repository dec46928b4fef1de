/**
 * `deno task build-ext`: builds the C shim for the host
 * (`dist/litestream-vfs.so`, `.dylib` on macOS, with the system C compiler)
 * and for the four release targets, cross-compiled with Zig:
 * `dist/litestream-vfs-linux-amd64.so`, `dist/litestream-vfs-linux-arm64.so`,
 * `dist/litestream-vfs-darwin-amd64.dylib` and
 * `dist/litestream-vfs-darwin-arm64.dylib`. A library newer than its
 * sources is left as it is. Prints the path of each library, one a line.
 *
 * ```sh
 * deno task build-ext [--force] [--target NAME|all] [--out FILE] [--cc COMPILER] [--zig ZIG]
 * ```
 *
 * - `--target NAME`: one of host, linux-amd64, linux-arm64, darwin-amd64,
 *   darwin-arm64; "all" (the default) builds every one, the host first.
 * - `--out FILE`: where to write the library; only with a single target.
 * - `--cc COMPILER`: the host's C compiler (default `CC`, else cc).
 * - `--zig ZIG`: the Zig binary for the other targets (default `ZIG`, else
 *   the one `deno run --allow-all tasks/setup_test_env.ts` installs).
 *
 * @module
 */

import { ensureShim, SHIM_TARGETS, type ShimTarget } from "../ffi/build.ts";

const USAGE = `Usage: deno task build-ext [--force] [--target ${
  SHIM_TARGETS.join("|")
}|all] [--out FILE] [--cc COMPILER] [--zig ZIG]`;

function parseTarget(name: string): readonly ShimTarget[] {
  if (name === "all") return SHIM_TARGETS;
  const target = SHIM_TARGETS.find((t) => t === name);
  if (target === undefined) {
    throw new RangeError(`Unknown target: "${name}"\n${USAGE}`);
  }
  return [target];
}

/**
 * Parses the command line and builds.
 *
 * @param args The command-line arguments.
 * @returns The process exit code.
 * @throws {RangeError} On an unknown argument or target.
 * @throws {Error} When a library cannot be built (the libraries of the
 * targets before it are built and printed).
 */
export function main(args: string[]): number {
  let force = false;
  let outFile: string | undefined;
  let cc: string | undefined;
  let zig: string | undefined;
  let targets: readonly ShimTarget[] = SHIM_TARGETS;
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
    else if (arg === "--zig") zig = value();
    else if (arg === "--target") targets = parseTarget(value());
    else if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      return 0;
    } else throw new RangeError(`Unknown argument: "${arg}"\n${USAGE}`);
  }
  if (outFile !== undefined && targets.length !== 1) {
    throw new RangeError(
      `Cannot write ${targets.length} libraries to one file: "--out" needs "--target NAME"\n${USAGE}`,
    );
  }
  for (const target of targets) {
    console.log(ensureShim({ target, outFile, cc, zig, force }));
  }
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
