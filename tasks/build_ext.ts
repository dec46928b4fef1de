/**
 * `deno task build-ext`: builds the C shim for the host
 * (`dist/litestream-vfs.so`, `.dylib` on macOS, with the system C compiler)
 * and for the four release targets, cross-compiled with Zig:
 * `dist/litestream-vfs-linux-amd64.so`, `dist/litestream-vfs-linux-arm64.so`,
 * `dist/litestream-vfs-darwin-amd64.dylib` and
 * `dist/litestream-vfs-darwin-arm64.dylib`. A library newer than its
 * sources is left as it is. Then it writes the launcher `dist/lsvfs` (see
 * {@linkcode writeLauncher}), the engine command the host library's pipe
 * port runs. Prints the path of each library and of the launcher, one a
 * line.
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

import { dirname, join } from "node:path";
import {
  defaultShimPath,
  ensureShim,
  SHIM_TARGETS,
  type ShimTarget,
} from "../ffi/build.ts";

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

/** The project's top folder (where deno.json is). */
const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname)
  .replace(/\/$/, "");

/** Quotes a string for sh: between single quotes, each ' as '\''. */
function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * The launcher's text: an sh script that runs `src/cli/main.ts` with its
 * arguments (the pipe port passes `engine`) under the Deno that ran the
 * build, or the `deno` on PATH when that one is gone, with the project's
 * deno.json (so `npm:` imports resolve) and these permissions:
 *
 * - `--allow-read`: `file://` replicas, wherever a URI or
 *   `LITESTREAM_REPLICA_URL` puts them, and the AWS SDK's shared config
 *   files; what a replica URL names is only known at open.
 * - `--allow-net`: the remote backends (S3, GCS, Azure, ...), whose hosts
 *   are also only known at open.
 * - `--allow-env`: `LITESTREAM_*` settings and the backends' credentials
 *   (`AWS_*` and the like), which the SDKs read by many names.
 * - `--allow-sys=osRelease,networkInterfaces`: the AWS and Azure SDKs put
 *   the OS release in their user agents, and ali-oss (OSS) reads the
 *   network interfaces when it loads (see the README's permissions per
 *   backend).
 * - `--allow-write` on `LITESTREAM_LOG_FILE`, when it is set: the engine
 *   appends its log there; on `LITESTREAM_HYDRATION_PATH`, its metadata
 *   file and its list of verified LTX files, when it is set; on `LSVFS_DISK_CACHE`, when it is
 *   set; for write mode, on `LITESTREAM_BUFFER_PATH` and on the directory
 *   of a `file://` `LITESTREAM_REPLICA_URL`, when they are set; on the
 *   paths `LSVFS_WRITABLE` lists (comma-separated), for replicas and
 *   buffers that URI parameters name; and on the temporary directory
 *   (`TMPDIR`, else /tmp), where hydration files and write buffers that no
 *   path names go. Nothing else is written: a `log_file`,
 *   `hydration_path`, `buffer_path` or `file://` replica elsewhere is
 *   refused with a permission error (the open fails for a log file or a
 *   write buffer, and so does a sync to such a replica; hydration stops,
 *   and reads go to the replica).
 *
 * No `--allow-ffi` (the engine child loads no libsqlite3 and no shim) and
 * no `--allow-run`. `--no-prompt`: a missing permission fails the open with
 * its message instead of asking on a terminal.
 *
 * @param denoPath The Deno binary, absolute.
 * @returns The script.
 */
function launcherScript(denoPath: string): string {
  return `#!/bin/sh
# lsvfs launcher, written by "deno task build-ext" (tasks/build_ext.ts): the
# engine command of the loadable extension beside it, which runs it as
# "lsvfs engine" with the socket to the client on stdin and stdout.
deno=${shQuote(denoPath)}
[ -x "$deno" ] || deno=deno
main=${shQuote(join(ROOT, "src/cli/main.ts"))}
config=${shQuote(join(ROOT, "deno.json"))}
writable=\${TMPDIR:-/tmp}
if [ -n "\${LITESTREAM_LOG_FILE-}" ]; then
  writable="$writable,$LITESTREAM_LOG_FILE"
fi
if [ -n "\${LITESTREAM_HYDRATION_PATH-}" ]; then
  h=$LITESTREAM_HYDRATION_PATH
  writable="$writable,$h,$h.meta.json,$h.meta.json.tmp,$h.verified-ltx.txt"
fi
if [ -n "\${LSVFS_DISK_CACHE-}" ]; then
  writable="$writable,$LSVFS_DISK_CACHE"
fi
if [ -n "\${LITESTREAM_BUFFER_PATH-}" ]; then
  writable="$writable,$LITESTREAM_BUFFER_PATH"
fi
case "\${LITESTREAM_REPLICA_URL-}" in
  file://*) writable="$writable,\${LITESTREAM_REPLICA_URL#file://}" ;;
esac
if [ -n "\${LSVFS_WRITABLE-}" ]; then
  writable="$writable,$LSVFS_WRITABLE"
fi
exec "$deno" run --quiet --no-prompt --config "$config" --allow-read --allow-net --allow-env --allow-sys=osRelease,networkInterfaces "--allow-write=$writable" "$main" "$@"
`;
}

/**
 * Writes the launcher `lsvfs` beside the host library (`dist/lsvfs`),
 * executable, replacing the file whole (a temporary file renamed into
 * place), so a pipe port starting it meanwhile never runs half a script.
 *
 * @param denoPath The Deno binary the launcher runs. Default the one
 * running this task.
 * @returns The launcher's absolute path.
 */
export function writeLauncher(denoPath: string = Deno.execPath()): string {
  const path = join(dirname(defaultShimPath()), "lsvfs");
  const tmp = `${path}.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(tmp, launcherScript(denoPath), { mode: 0o755 });
  Deno.chmodSync(tmp, 0o755);
  Deno.renameSync(tmp, path);
  return path;
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
  console.log(writeLauncher());
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
