import assert from "node:assert/strict";
import { UsageError } from "./command.ts";
import {
  formatBytes,
  isLatest,
  parseInspectArgs,
  Progress,
} from "./_inspect.ts";

const RESTORE = {
  name: "restore",
  expects: "a replica URL and an output file",
  count: 2,
  at: true,
  force: true,
};

Deno.test("parseInspectArgs() reads positionals, --json, --at and --force", () => {
  assert.deepEqual(
    parseInspectArgs(
      ["u", "--at", "LATEST", "o.db", "--force", "--json"],
      RESTORE,
    ),
    { positional: ["u", "o.db"], json: true, at: "LATEST", force: true },
  );
});

Deno.test("parseInspectArgs() refuses options a command lacks and wrong counts", () => {
  const info = { name: "info", expects: "a replica URL", count: 1 };
  assert.throws(() => parseInspectArgs(["u", "--at", "x"], info), UsageError);
  assert.throws(() => parseInspectArgs(["u", "--force"], info), UsageError);
  assert.throws(() => parseInspectArgs([], info), /info takes a replica URL/);
  assert.throws(() => parseInspectArgs(["u", "--at"], RESTORE), /--at needs/);
});

Deno.test("isLatest() takes no time and LATEST in any case", () => {
  assert.equal(isLatest(undefined), true);
  assert.equal(isLatest(" latest "), true);
  assert.equal(isLatest("5 minutes ago"), false);
});

Deno.test("formatBytes() picks a binary unit", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1024), "1.0 KiB");
  assert.equal(formatBytes(3 * 1024 ** 3), "3.0 GiB");
});

Deno.test("Progress redraws one line on a terminal and writes JSON lines otherwise", () => {
  const terminal: string[] = [];
  const t = new Progress(false, {
    isTerminal: true,
    write: (s) => terminal.push(s),
  });
  t.report({ n: 1 }, "one", false);
  t.report({ n: 2 }, "two", true);
  assert.deepEqual(terminal, ["\r\x1b[2Kone", "\r\x1b[2Ktwo\n"]);

  const pipe: string[] = [];
  const p = new Progress(true, {
    isTerminal: true,
    write: (s) => pipe.push(s),
  });
  p.report({ n: 1 }, "one", false);
  p.report({ n: 2 }, "two", false); // throttled
  p.report({ n: 3 }, "three", true);
  assert.deepEqual(pipe.map((l) => JSON.parse(l)), [
    { progress: { n: 1 } },
    { progress: { n: 3 } },
  ]);
});
