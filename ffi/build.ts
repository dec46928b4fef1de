/**
 * Builds the C shim, `ffi/litestream_vfs.c`, into the loadable extension
 * `dist/litestream-vfs.so` (`.dylib` on macOS).
 *
 * Only the vendored headers in `ffi/vendor` are on the include path, never
 * the system's sqlite3.h: the shim reaches SQLite through the
 * `sqlite3_api_routines` table alone, so one build loads into any SQLite.
 * Builds are idempotent: the library is rebuilt only when a source is newer
 * than it. Each build writes a temporary file and renames it into place, so
 * a process that has the old library loaded keeps a whole file, and two
 * processes building at once do not corrupt each other's output.
 *
 * The only target so far is the host, with the system C compiler; cross
 * targets (Zig) slot into `TARGETS` below.
 *
 * @example Build for the host
 * ```ts ignore
 * import { ensureShim } from "./build.ts";
 *
 * const path = ensureShim();
 * console.log(path); // .../dist/litestream-vfs.so
 * ```
 *
 * @module
 */

/** The build targets {@linkcode ensureShim} knows. */
export type ShimTarget = "host";

/** Options for {@linkcode ensureShim}. */
export interface BuildShimOptions {
  /** What to build for. Default "host". */
  target?: ShimTarget;
  /** Where to write the library. Default {@linkcode defaultShimPath}. */
  outFile?: string;
  /** The C compiler. Default the environment variable `CC`, else "cc". */
  cc?: string;
  /** Rebuild even when the library is newer than its sources. */
  force?: boolean;
}

/** Compiler flags every target shares. */
const COMMON_FLAGS: readonly string[] = [
  "-std=c11",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-O2",
  "-shared",
  "-fPIC",
  "-fvisibility=hidden",
];

/** How one target is built. */
interface TargetSpec {
  /** The compiler command when no `cc` option is given. */
  defaultCc(): string;
  /** File name suffix of the library. */
  suffix: string;
  /** Flags beyond {@linkcode COMMON_FLAGS}. */
  flags: readonly string[];
}

const TARGETS: Record<ShimTarget, TargetSpec> = {
  host: {
    defaultCc: () => envCc() ?? "cc",
    suffix: Deno.build.os === "darwin" ? ".dylib" : ".so",
    flags: [],
  },
};

/** The command and files of one build. */
interface BuildPlan {
  cc: string;
  args: string[];
  outFile: string;
  sources: string[];
}

const ROOT = new URL("../", import.meta.url);

function rootPath(relative: string): string {
  if (ROOT.protocol !== "file:") {
    throw new Error(
      `Cannot build the shim from "${ROOT.href}": the sources must be local files; run "deno task build-ext" in a checkout`,
    );
  }
  return decodeURIComponent(new URL(relative, ROOT).pathname);
}

function envCc(): string | undefined {
  // Read only when already allowed, so a missing --allow-env never prompts.
  const state = Deno.permissions.querySync({ name: "env", variable: "CC" })
    .state;
  if (state !== "granted") return undefined;
  const value = Deno.env.get("CC");
  return value === undefined || value === "" ? undefined : value;
}

/**
 * The path the host library is built to: `dist/litestream-vfs.so` (or
 * `.dylib`) at the top of the project.
 *
 * @param target The build target. Default "host".
 * @returns An absolute path.
 *
 * @example The default path
 * ```ts
 * import { defaultShimPath } from "./build.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(defaultShimPath(), /dist\/litestream-vfs\.(so|dylib)$/);
 * ```
 */
export function defaultShimPath(target: ShimTarget = "host"): string {
  return rootPath(`dist/litestream-vfs${TARGETS[target].suffix}`);
}

function plan(options: BuildShimOptions): BuildPlan {
  const target = options.target ?? "host";
  const spec = TARGETS[target];
  if (spec === undefined) {
    throw new RangeError(`Cannot build the shim: unknown target "${target}"`);
  }
  const source = rootPath("ffi/litestream_vfs.c");
  const vendor = rootPath("ffi/vendor");
  let outFile = options.outFile ?? defaultShimPath(target);
  if (!outFile.startsWith("/")) outFile = `${Deno.cwd()}/${outFile}`;
  return {
    cc: options.cc ?? spec.defaultCc(),
    args: [...COMMON_FLAGS, ...spec.flags, "-I", vendor, source],
    outFile,
    sources: [source, `${vendor}/sqlite3.h`, `${vendor}/sqlite3ext.h`],
  };
}

function mtime(path: string): number | undefined {
  try {
    return Deno.statSync(path).mtime?.getTime() ?? 0;
  } catch (error) {
    if (
      error instanceof Deno.errors.NotFound ||
      error instanceof Deno.errors.PermissionDenied
    ) return undefined;
    throw error;
  }
}

/** "fresh": the library is newer than every source present. */
function state(p: BuildPlan): "fresh" | "stale" | "missing" {
  const built = mtime(p.outFile);
  if (built === undefined) return "missing";
  for (const source of p.sources) {
    const changed = mtime(source);
    if (changed !== undefined && changed > built) return "stale";
  }
  return "fresh";
}

function tempFile(outFile: string): string {
  return `${outFile}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
}

function outDir(outFile: string): string {
  const slash = outFile.lastIndexOf("/");
  return slash <= 0 ? "." : outFile.slice(0, slash);
}

function failure(p: BuildPlan, output: Deno.CommandOutput): Error {
  const stderr = new TextDecoder().decode(output.stderr).trim();
  return new Error(
    `Cannot build the shim "${p.outFile}": "${p.cc}" exited with code ${output.code}${
      stderr === "" ? "" : `:\n${stderr}`
    }`,
  );
}

function spawnError(p: BuildPlan, error: unknown): Error {
  if (error instanceof Deno.errors.PermissionDenied) return error;
  return new Error(
    `Cannot build the shim "${p.outFile}": cannot run the C compiler "${p.cc}" (set CC or pass the "cc" option)`,
    { cause: error },
  );
}

/**
 * Returns the library, building it first (synchronously: it runs once) when
 * it is missing, older than sources that are present, or `force` is set.
 * Without the sources (a published copy of the module) an existing library
 * is used as it is.
 *
 * @param options Target, output path, compiler, force.
 * @returns The absolute path of the library.
 * @throws {Error} When the library is missing and cannot be built: the
 * compiler is missing or fails (the message carries its output).
 *
 * @example Build, then build again (a no-op)
 * ```ts ignore
 * import { ensureShim } from "./build.ts";
 * import assert from "node:assert/strict";
 *
 * const first = ensureShim();
 * const { mtime } = Deno.statSync(first);
 * assert.equal(ensureShim(), first);
 * assert.deepEqual(Deno.statSync(first).mtime, mtime);
 * ```
 */
export function ensureShim(options: BuildShimOptions = {}): string {
  const p = plan(options);
  const before = state(p);
  if (!options.force && before === "fresh") return p.outFile;
  Deno.mkdirSync(outDir(p.outFile), { recursive: true });
  const tmp = tempFile(p.outFile);
  let output: Deno.CommandOutput;
  try {
    output = new Deno.Command(p.cc, {
      args: [...p.args, "-o", tmp],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
  } catch (error) {
    throw spawnError(p, error);
  }
  if (!output.success) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // Nothing was written.
    }
    throw failure(p, output);
  }
  if (before === "missing") {
    // Several processes may build a missing library at once (parallel
    // tests). The first to link wins and the file is never replaced under a
    // process that has already loaded it: a second copy at the same path
    // would be a different library with its own globals.
    try {
      Deno.linkSync(tmp, p.outFile);
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    Deno.removeSync(tmp);
  } else {
    Deno.renameSync(tmp, p.outFile);
  }
  return p.outFile;
}
