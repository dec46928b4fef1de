import assert from "node:assert/strict";

/**
 * A child process that reads its standard input with a StdinReader (3 bytes
 * at a time, a timeout of 100 ms) and prints what each read gave: "data
 * TEXT", "timeout" or "end". With `once`, it returns after its first data.
 */
function reader(once = false): Deno.ChildProcess {
  const module = new URL("./_stdin_reader.ts", import.meta.url).href;
  const code = `
    import { StdinReader } from ${JSON.stringify(module)};
    const stdin = new StdinReader(100);
    const buffer = new Uint8Array(3);
    for (;;) {
      try {
        const n = stdin.read(buffer);
        if (n === null) {
          console.log("end");
          break;
        }
        console.log("data " + new TextDecoder().decode(buffer.subarray(0, n)));
        if (${once}) break;
      } catch (error) {
        if (!(error instanceof Deno.errors.TimedOut)) throw error;
        console.log("timeout");
      }
    }`;
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
}

/** The lines printed, runs of "timeout" as one, the leading ones dropped. */
function events(stdout: Uint8Array): string[] {
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  return lines.slice(lines.findIndex((line) => line !== "timeout"))
    .filter((line, i, all) => line !== "timeout" || all[i - 1] !== "timeout");
}

Deno.test("StdinReader reads, times out while the pipe is idle, and ends", async () => {
  const child = reader();
  const writer = child.stdin.getWriter();
  const output = child.stdout.getReader();
  let text = "";
  // Waits for the child's output to show `pattern`: no sleep to guess how
  // long a loaded machine takes to start it.
  const waitFor = async (pattern: RegExp) => {
    while (!pattern.test(text)) {
      const { value, done } = await output.read();
      if (done) throw new Error(`The child ended without ${pattern}: ${text}`);
      text += new TextDecoder().decode(value);
    }
  };
  await writer.write(new TextEncoder().encode("hello"));
  await waitFor(/data lo\n(timeout\n){2}/);
  await writer.write(new TextEncoder().encode("ab"));
  await writer.close();
  await waitFor(/end\n/);
  output.releaseLock();
  assert.ok((await child.status).success);
  assert.deepEqual(events(new TextEncoder().encode(text)), [
    "data hel",
    "data lo",
    "timeout",
    "data ab",
    "end",
  ]);
});

Deno.test("StdinReader does not keep the process alive", async () => {
  const child = reader(true);
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("x"));
  // The pipe stays open: the worker is blocked in a read when the child
  // returns, and the child exits all the same.
  const { success, stdout } = await child.output();
  await writer.close();
  assert.ok(success);
  assert.deepEqual(events(stdout), ["data x"]);
});
