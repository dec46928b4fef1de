/**
 * The cross targets of `ffi/build.ts`, built with Zig as `deno task
 * build-ext` builds them, each into a temporary folder, and checked with
 * Debian's `file` and binutils' `nm` (LLVM's `llvm-nm` for Mach-O, where
 * installed): the right format and architecture, the entry point exported,
 * and no SQLite symbol left for the linker (the shim reaches SQLite only
 * through the `sqlite3_api_routines` table).
 */

import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { defaultShimPath, ensureShim, type ShimTarget } from "../ffi/build.ts";

/** What one cross target's library must be. */
interface Case {
  target: Exclude<ShimTarget, "host">;
  /** How the test name describes the format. */
  format: string;
  /** What `file -b` prints of it, in part. */
  file: RegExp;
  /** The tool that lists its symbols. */
  nm: "nm" | "llvm-nm";
}

const CASES: readonly Case[] = [
  {
    target: "linux-amd64",
    format: "an ELF x86-64 shared object",
    file: /^ELF 64-bit LSB shared object, x86-64,/,
    nm: "nm",
  },
  {
    target: "linux-arm64",
    format: "an ELF aarch64 shared object",
    file: /^ELF 64-bit LSB shared object, ARM aarch64,/,
    nm: "nm",
  },
  {
    target: "darwin-amd64",
    format: "a Mach-O x86_64 shared library",
    file: /^Mach-O 64-bit x86_64 dynamically linked shared library/,
    nm: "llvm-nm",
  },
  {
    target: "darwin-arm64",
    format: "a Mach-O arm64 shared library",
    file: /^Mach-O 64-bit arm64 dynamically linked shared library/,
    nm: "llvm-nm",
  },
];

const ENTRY_POINT = "sqlite3_litestreamvfs_init";

/** Runs a command; undefined if it is not installed. */
function run(command: string, args: string[]): string | undefined {
  let output: Deno.CommandOutput;
  try {
    output = new Deno.Command(command, {
      args,
      stdout: "piped",
      stderr: "piped",
    })
      .outputSync();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const decoder = new TextDecoder();
  assert.ok(
    output.success,
    `"${command} ${args.join(" ")}" failed: ${decoder.decode(output.stderr)}`,
  );
  return decoder.decode(output.stdout);
}

/**
 * The dynamic symbols of a library, without Mach-O's leading underscore;
 * undefined if the tool is not installed.
 */
function symbols(
  nm: Case["nm"],
  path: string,
  which: "defined" | "undefined",
): string[] | undefined {
  const args = nm === "nm"
    ? ["-D", `--${which}-only`, path]
    : ["--extern-only", `--${which}-only`, path];
  const out = run(nm, args);
  if (out === undefined) return undefined;
  return out.split("\n")
    .map((line) => line.trim().split(/\s+/).at(-1) ?? "")
    .filter((name) => name !== "")
    .map((name) => nm === "llvm-nm" ? name.replace(/^_/, "") : name);
}

for (const c of CASES) {
  Deno.test(`ensureShim() builds ${c.target} as ${c.format}`, () => {
    const dir = Deno.makeTempDirSync({ prefix: "lsvfs-build-ext-" });
    try {
      const outFile = join(dir, basename(defaultShimPath(c.target)));
      assert.equal(ensureShim({ target: c.target, outFile }), outFile);

      const description = run("file", ["-b", outFile]);
      assert.ok(
        description !== undefined,
        'Debian\'s "file" is missing: run "deno run --allow-all tasks/setup_test_env.ts"',
      );
      assert.match(description, c.file);

      // The nm of binutils reads ELF of any architecture but not Mach-O,
      // and LLVM (llvm-nm) is not one of the test set-up's packages: where
      // it is missing, the Mach-O symbol checks are skipped, the format
      // check above still runs.
      const defined = symbols(c.nm, outFile, "defined");
      const undefinedNames = symbols(c.nm, outFile, "undefined");
      if (c.nm === "nm") {
        assert.ok(defined !== undefined && undefinedNames !== undefined);
      }
      if (defined !== undefined) assert.ok(defined.includes(ENTRY_POINT));
      if (undefinedNames !== undefined) {
        assert.deepEqual(
          undefinedNames.filter((name) => /^sqlite3_/.test(name)),
          [],
        );
      }

      // Fresh now: a second call builds nothing.
      const { mtime } = Deno.statSync(outFile);
      assert.equal(ensureShim({ target: c.target, outFile }), outFile);
      assert.deepEqual(Deno.statSync(outFile).mtime, mtime);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });
}

Deno.test("ensureShim() says how to install Zig when it cannot run it", () => {
  const dir = Deno.makeTempDirSync({ prefix: "lsvfs-build-ext-" });
  try {
    assert.throws(
      () =>
        ensureShim({
          target: "linux-arm64",
          outFile: join(dir, "litestream-vfs-linux-arm64.so"),
          zig: join(dir, "no-zig"),
        }),
      (error: Error) =>
        error.message.includes(
          'install it with "deno run --allow-all tasks/setup_test_env.ts"',
        ),
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
