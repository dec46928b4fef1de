/**
 * Runs the whole test suite: the unit tests and doc examples of `src/` and
 * `mod.ts` in one `deno test`, then every module of `tests/` in a process of
 * its own.
 *
 * Why separate processes: an integration module loads libsqlite3 and the C
 * shim, starts servers and child processes; a bug in the shim is a crash,
 * and in a process of its own it costs that module's results only, with its
 * output kept whole.
 *
 * Extra arguments are passed to every `deno test` (e.g. `--filter x`).
 *
 * @module
 */

const root = new URL("..", import.meta.url).pathname;
const extra = Deno.args;
/** Two cores here: two test processes at a time keeps both busy. */
const CONCURRENCY = 2;

interface Run {
  name: string;
  args: string[];
}

const integration = [...Deno.readDirSync(`${root}tests`)]
  .filter((e) => e.isFile && e.name.endsWith("_test.ts"))
  .map((e) => e.name)
  .sort();

const runs: Run[] = [
  {
    name: "src/ and mod.ts (unit tests, doc examples)",
    args: ["--doc", "--parallel", "src/", "mod.ts"],
  },
  ...integration.map((name) => ({
    name: `tests/${name}`,
    args: [`tests/${name}`],
  })),
];

async function run({ name, args }: Run): Promise<boolean> {
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", ...extra, ...args],
    cwd: root,
    // Plain text: the summary line is matched below, and logs stay readable.
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const decoder = new TextDecoder();
  // Whole outputs, one module after another, so parallel runs do not interleave.
  await Deno.stdout.write(output.stdout);
  await Deno.stderr.write(output.stderr);
  const summary = decoder.decode(output.stdout).match(/(ok|FAILED) \| .*/)
    ?.[0] ?? "no summary";
  console.log(
    `== ${name}: ${
      output.success ? "ok" : "FAILED"
    } in ${seconds} s (${summary})\n`,
  );
  return output.success;
}

const queue = [...runs];
const results: { name: string; ok: boolean }[] = [];
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      results.push({ name: next.name, ok: await run(next) });
    }
  }),
);
const failed = results.filter((r) => !r.ok);
console.log(
  failed.length === 0
    ? `All ${results.length} test runs passed`
    : `${failed.length} of ${results.length} test runs FAILED: ${
      failed.map((r) => r.name).join(", ")
    }`,
);
Deno.exit(failed.length === 0 ? 0 : 1);
