import assert from "node:assert/strict";
import { acquireLogFile, formatLogLine, Logger } from "./logger.ts";

function capture(level: "DEBUG" | "INFO" | "WARN" | "ERROR") {
  const lines: string[] = [];
  const log = new Logger({
    level,
    sink: { write: (line) => lines.push(line) },
    now: () => Date.UTC(2024, 0, 2, 3, 4, 5, 6),
  });
  return { log, lines };
}

Deno.test("Logger drops records below its level", () => {
  const { log, lines } = capture("WARN");
  assert.equal(log.debugEnabled, false);
  assert.equal(log.enabled("INFO"), false);
  assert.equal(log.enabled("ERROR"), true);
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  assert.deepEqual(lines.map((l) => l.split(" ")[1]), [
    "level=WARN",
    "level=ERROR",
  ]);
});

Deno.test("Logger at ERROR writes errors only", () => {
  const { log, lines } = capture("ERROR");
  log.warn("w");
  log.error("e");
  assert.equal(lines.length, 1);
  assert.match(lines[0], /level=ERROR msg=e\n$/);
});

Deno.test("Logger.with() appends context fields after the record's", () => {
  const { log, lines } = capture("DEBUG");
  const child = log.with({ replica: "file:///r", db: "a b" });
  assert.equal(child.debugEnabled, true);
  child.debug("fetch page", { pgno: 3, txid: 5n, skip: undefined });
  assert.equal(
    lines[0],
    'time=2024-01-02T03:04:05.006Z level=DEBUG msg="fetch page" pgno=3 txid=5 replica=file:///r db="a b"\n',
  );
});

Deno.test("formatLogLine() quotes values that need it", () => {
  const line = formatLogLine(0, "INFO", "m", {
    empty: "",
    eq: "a=b",
    quote: 'say "hi"',
    nl: "a\nb",
    plain: "x/y:z",
    no: null,
    yes: true,
  });
  assert.equal(
    line,
    'time=1970-01-01T00:00:00.000Z level=INFO msg=m empty="" eq="a=b" quote="say \\"hi\\"" nl="a\\nb" plain=x/y:z no=null yes=true\n',
  );
});

Deno.test("Logger swallows sink failures", () => {
  const log = new Logger({
    sink: {
      write() {
        throw new Error("disk full");
      },
    },
  });
  log.error("still fine");
});

Deno.test("acquireLogFile() shares one file by path and closes it on the last release", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/lsvfs.log`;
    const a = acquireLogFile(path);
    const b = acquireLogFile(path);
    new Logger({ sink: a, now: () => 0 }).info("one");
    a.release();
    a.release(); // idempotent: b still holds the file
    new Logger({ sink: b, now: () => 0 }).info("two");
    b.release();
    const text = Deno.readTextFileSync(path);
    assert.deepEqual(text.split("\n").filter(Boolean).map((l) => l.slice(-3)), [
      "one",
      "two",
    ]);
    // Appends, never truncates.
    const c = acquireLogFile(path);
    new Logger({ sink: c, now: () => 0 }).info("three");
    c.release();
    assert.equal(Deno.readTextFileSync(path).split("\n").length, 4);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
