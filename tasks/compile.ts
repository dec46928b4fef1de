/**
 * `deno task compile`: single `lsvfs` binaries for the four release
 * targets, `dist/bin/lsvfs-<target>`, each with its target's shim
 * (`deno task build-ext` builds them with Zig) embedded beside the code.
 *
 * `deno compile` downloads the Deno runtime of each target the first time;
 * on a machine without that network (these build machines), every target
 * fails with that reason, said once per target, and the task exits 1.
 *
 * @module
 */

import { defaultShimPath, ensureShim, type ShimTarget } from "../ffi/build.ts";

/** Deno's target triple for each shim target. */
const TARGETS: readonly { shim: ShimTarget; triple: string }[] = [
  { shim: "linux-amd64", triple: "x86_64-unknown-linux-gnu" },
  { shim: "linux-arm64", triple: "aarch64-unknown-linux-gnu" },
  { shim: "darwin-amd64", triple: "x86_64-apple-darwin" },
  { shim: "darwin-arm64", triple: "aarch64-apple-darwin" },
];

const root = new URL("..", import.meta.url).pathname;
let failed = 0;
for (const { shim, triple } of TARGETS) {
  ensureShim({ target: shim });
  const output = `${root}dist/bin/lsvfs-${shim}`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      "--allow-all",
      "--target",
      triple,
      "--include",
      defaultShimPath(shim),
      "--output",
      output,
      `${root}src/cli/main.ts`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) {
    console.log(`compile: ${output}`);
  } else {
    failed++;
    // The first line that says "error", without Deno's colour codes.
    const lines = new TextDecoder().decode(out.stderr)
      // deno-lint-ignore no-control-regex
      .replace(/\x1b\[[0-9;]*m/g, "").split("\n");
    const error = lines.find((line) => /error/i.test(line))?.trim() ??
      lines.find((line) => line.trim() !== "");
    const download = lines.find((line) => line.startsWith("Download "));
    const reason = download === undefined
      ? error
      : `the runtime could not be fetched (${download.trim()}): ${error}`;
    console.error(`compile: ${triple} failed: ${reason}`);
  }
}
Deno.exit(failed === 0 ? 0 : 1);
