/**
 * `lsvfs shell`, run as a user runs it: on a real pseudo-terminal (tmux,
 * Debian's `tmux` package), and with standard input piped.
 */

import assert from "node:assert/strict";
import { makeLitestreamReplica } from "./_litestream.ts";
import { LSVFS_MAIN, runLsvfs } from "./_lsvfs.ts";

async function tmux(...args: string[]): Promise<{ code: number; out: string }> {
  const { code, stdout } = await new Deno.Command("tmux", {
    args,
    stdout: "piped",
    stderr: "null",
  }).output();
  return { code, out: new TextDecoder().decode(stdout) };
}

/** A shell in a tmux session of its own. */
class Pane {
  constructor(readonly session: string) {}

  /** Types text (literally: tmux reads a trailing ";" as a separator). */
  async type(text: string) {
    await tmux(
      "send-keys",
      "-t",
      this.session,
      "-l",
      text.replace(/;$/, "\\;"),
    );
  }

  /** Types a line and Enter. */
  async line(text: string) {
    await this.type(text);
    await this.keys("Enter");
  }

  async keys(...names: string[]) {
    await tmux("send-keys", "-t", this.session, ...names);
  }

  async screen(): Promise<string> {
    return (await tmux("capture-pane", "-p", "-t", this.session)).out;
  }

  /** Waits (at most 15 s) for the screen to match; returns it. */
  async waitFor(pattern: RegExp): Promise<string> {
    const deadline = Date.now() + 15_000;
    let screen = "";
    while (Date.now() < deadline) {
      screen = await this.screen();
      if (pattern.test(screen)) return screen;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`Timed out waiting for ${pattern} on:\n${screen}`);
  }

  async alive(): Promise<boolean> {
    return (await tmux("has-session", "-t", this.session)).code === 0;
  }
}

Deno.test("lsvfs shell on a terminal: queries, continuation, dot commands, time travel, history, errors, .quit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-shell-" });
  const session = `lsvfs-shell-${Deno.pid}-${Date.now()}`;
  const pane = new Pane(session);
  try {
    const replica = `${dir}/replica`;
    await makeLitestreamReplica(replica, [
      "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t (name) VALUES ('ada')",
    ]);
    await new Promise((r) => setTimeout(r, 1100));
    const between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 1100));
    await makeLitestreamReplica(replica, [
      "INSERT INTO t (name) VALUES ('grace'), ('edsger')",
    ]);
    const history = `${dir}/history`;
    await Deno.writeTextFile(history, "SELECT 'from an earlier session';\n");

    // --quiet, as `deno task lsvfs` runs it: without it, Deno's module
    // loading progress clears the terminal's line on standard error when a
    // worker thread (verification) starts, taking the prompt with it.
    const command = [
      `LSVFS_HISTORY='${history}'`,
      `'${Deno.execPath()}' run --quiet --allow-all '${LSVFS_MAIN}' shell 'file://${replica}'`,
    ].join(" ");
    const start = await tmux(
      "new-session",
      "-d",
      "-s",
      session,
      "-x",
      "120",
      "-y",
      "40",
      command,
    );
    assert.equal(start.code, 0, "tmux new-session failed");
    await pane.waitFor(/lsvfs@0000000000000002> ?$/m);

    await pane.line("SELECT name FROM t ORDER BY id;");
    let screen = await pane.waitFor(/edsger\n/);
    assert.match(screen, /name\n------\nada\ngrace\nedsger\n/);

    // A statement over two lines: the continuation prompt, then the rows.
    await pane.line("SELECT count(*) AS n");
    await pane.waitFor(/^ +\.\.\.> ?$/m);
    await pane.line("FROM t;");
    screen = await pane.waitFor(/n\n-\n3\n/);
    assert.match(
      screen,
      /lsvfs@0000000000000002> SELECT count\(\*\) AS n\n +\.\.\.> FROM t;\n/,
    );

    await pane.line(".tables");
    await pane.waitFor(/> \.tables\nt\n/);
    await pane.line(".schema t");
    await pane.waitFor(/CREATE TABLE t \(id INTEGER PRIMARY KEY, name TEXT\);/);
    await pane.line(".txid");
    await pane.waitFor(/> \.txid\n0000000000000002\n/);

    // An SQL error, in one line; the shell goes on.
    await pane.line("SELECT nope FROM t;");
    await pane.waitFor(
      /Error: no such column: nope\nlsvfs@0000000000000002> ?$/m,
    );

    // Time travel: fewer rows, and the prompt shows the time.
    await pane.line(`.time ${between}`);
    screen = await pane.waitFor(/TXID 0000000000000001 at \S+\n/);
    const time = /TXID 0000000000000001 at (\S+)\n/.exec(screen)![1];
    await pane.waitFor(
      new RegExp(`^lsvfs@${time.replaceAll(".", "\\.")}> ?$`, "m"),
    );
    await pane.line("SELECT count(*) AS travelled FROM t;");
    await pane.waitFor(/travelled\n---------\n {8}1\n/);

    // Up recalls the last entries: the count, then the whole two-line statement.
    await pane.keys("Up");
    await pane.waitFor(/> SELECT count\(\*\) AS travelled FROM t;$/m);
    await pane.keys("Up", "Up", "Up", "Up", "Up", "Up");
    await pane.waitFor(/> SELECT count\(\*\) AS n FROM t;$/m);
    await pane.keys("Enter");
    await pane.waitFor(/n\n-\n1\n/);

    await pane.line(".latest");
    await pane.waitFor(
      /TXID 0000000000000002 at \S+\nlsvfs@0000000000000002> ?$/m,
    );

    // Ctrl-C drops the line; the history file's entry is there.
    await pane.type("SELECT garbage");
    await pane.keys("C-c");
    await pane.waitFor(/SELECT garbage\^C\nlsvfs@0000000000000002> ?$/m);
    await pane.keys("Up");
    await pane.waitFor(/> \.latest$/m);
    await pane.keys("C-u");
    await pane.line(".help");
    await pane.waitFor(/\.time <time>/);

    await pane.line(".quit");
    const deadline = Date.now() + 10_000;
    while (await pane.alive() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(
      await pane.alive(),
      false,
      await pane.screen().catch(() => ""),
    );
    const saved = (await Deno.readTextFile(history)).split("\n");
    assert.equal(saved[0], "SELECT 'from an earlier session';");
    assert.ok(saved.includes("SELECT count(*) AS n FROM t;"), saved.join("\n"));
    assert.ok(!saved.some((l) => l.includes("garbage")));
  } finally {
    await tmux("kill-session", "-t", session);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lsvfs shell with stdin piped: no prompts, statements and dot commands run, errors set the exit code", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-shell-" });
  try {
    await makeLitestreamReplica(dir, [
      "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t (name) VALUES ('ada'), ('grace')",
    ]);
    const run = (input: string) =>
      runLsvfs(["shell", `file://${dir}`], {
        stdin: input,
        env: { LSVFS_HISTORY: `${dir}/never-written` },
      });
    const ok = await run(
      "SELECT name FROM t\n ORDER BY id DESC;\n.txid\nSELECT 1 AS a; SELECT 2 AS b;\n.tables\nSELECT 3 AS c",
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(
      ok.stdout,
      "name\n-----\ngrace\nada\n0000000000000001\na\n-\n1\nb\n-\n2\nt\nc\n-\n3\n",
    );
    const bad = await run(
      "SELECT nope;\n.bogus\nSELECT 'after' AS x;\n.quit\nSELECT 'not run';\n",
    );
    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, "x\n-----\nafter\n");
    assert.match(bad.stderr, /^Error: no such column: nope$/m);
    assert.match(bad.stderr, /^Error: Unknown command "\.bogus"/m);
    await assert.rejects(Deno.stat(`${dir}/never-written`));
    const help = await run("");
    assert.equal(help.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lsvfs shell --help has examples; a missing URL is a usage error", async () => {
  const { code, stdout: text } = await runLsvfs(["shell", "--help"]);
  assert.equal(code, 0);
  assert.match(text, /Examples:\n\s+lsvfs shell file:/);
  assert.match(text, /\.schema \[table\]/);
  const usage = await runLsvfs(["shell"]);
  assert.equal(usage.code, 2);
  assert.match(
    usage.stderr,
    /see lsvfs shell --help/,
  );
});
