import assert from "node:assert/strict";
import { KeyDecoder, LineEditor } from "./_line_editor.ts";
import { splitStatements, sqlComplete } from "./_sql_complete.ts";

Deno.test("sqlComplete ends statements at a semicolon outside strings, names and comments", () => {
  assert.equal(sqlComplete(""), false);
  assert.equal(sqlComplete("   \n"), false);
  assert.equal(sqlComplete("SELECT 1"), false);
  assert.equal(sqlComplete("SELECT 1;"), true);
  assert.equal(sqlComplete("SELECT 1;  \n"), true);
  assert.equal(sqlComplete("SELECT 1; -- done"), true);
  assert.equal(sqlComplete("SELECT 1; /* done */"), true);
  assert.equal(sqlComplete("SELECT 1 /* ; */"), false);
  assert.equal(sqlComplete("SELECT 1 /* ;"), false);
  assert.equal(sqlComplete("SELECT 1 -- ;"), false);
  assert.equal(sqlComplete("SELECT 1 -- ;\n;"), true);
  assert.equal(sqlComplete("SELECT ';'"), false);
  assert.equal(sqlComplete("SELECT 'it''s;';"), true);
  assert.equal(sqlComplete("SELECT 'open;"), false);
  assert.equal(sqlComplete('SELECT "a;b" FROM t;'), true);
  assert.equal(sqlComplete("SELECT [a;b], `c;d` FROM t;"), true);
  assert.equal(sqlComplete("SELECT [a;b"), false);
  assert.equal(sqlComplete("-- only a comment"), false);
  assert.equal(sqlComplete(";"), true);
});

Deno.test("sqlComplete waits for END in CREATE TRIGGER, as sqlite3_complete does", () => {
  const head =
    "CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (1);";
  assert.equal(sqlComplete(head), false);
  assert.equal(sqlComplete(`${head} END`), false);
  assert.equal(sqlComplete(`${head} END;`), true);
  assert.equal(
    sqlComplete("create trigger x before delete on t begin select 1; end;"),
    true,
  );
  assert.equal(sqlComplete("EXPLAIN CREATE TRIGGER x BEGIN SELECT 1;"), false);
  // "trigger" elsewhere is just a word.
  assert.equal(sqlComplete("SELECT trigger FROM t;"), true);
  assert.equal(sqlComplete("CREATE TABLE trigger_log (x);"), true);
});

Deno.test("splitStatements splits at statement ends, skipping empty ones", () => {
  assert.deepEqual(splitStatements("SELECT 1; SELECT ';';;\n -- c\n; SELECT"), {
    statements: ["SELECT 1;", "SELECT ';';"],
    rest: " SELECT",
  });
  const trigger =
    "CREATE TRIGGER x AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END;";
  assert.deepEqual(splitStatements(`${trigger}SELECT 3;`), {
    statements: [trigger, "SELECT 3;"],
    rest: "",
  });
});

const ESC = "\x1b";

/** Feeds bytes to a fresh editor; the result of the first line ended, and the editor. */
function type(
  input: string | string[],
  history: string[] = [],
): { done: unknown; editor: LineEditor; output: string } {
  const decoder = new KeyDecoder();
  const editor = new LineEditor(history);
  let output = editor.begin("> ");
  const encoder = new TextEncoder();
  for (const chunk of typeof input === "string" ? [input] : input) {
    for (const key of decoder.decode(encoder.encode(chunk))) {
      const result = editor.press(key);
      output += result.output;
      if (result.done !== undefined) {
        return { done: result.done, editor, output };
      }
    }
  }
  return { done: undefined, editor, output };
}

Deno.test("KeyDecoder reads text, control keys and escape sequences, split across reads", () => {
  const decoder = new KeyDecoder();
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.deepEqual(decoder.decode(enc(`ab${ESC}[A\x7f\r`)), [
    { kind: "text", text: "ab" },
    { kind: "up" },
    { kind: "backspace" },
    { kind: "enter" },
  ]);
  assert.deepEqual(decoder.decode(enc(`x${ESC}`)), [{
    kind: "text",
    text: "x",
  }]);
  assert.deepEqual(decoder.decode(enc("[")), []);
  assert.deepEqual(decoder.decode(enc("3~")), [{ kind: "delete" }]);
  assert.deepEqual(
    decoder.decode(enc(`${ESC}[H${ESC}[F${ESC}OH${ESC}[4~\x01\x05\x03\x04`)),
    [
      { kind: "home" },
      { kind: "end" },
      { kind: "home" },
      { kind: "end" },
      { kind: "home" },
      { kind: "end" },
      { kind: "cancel" },
      { kind: "eof" },
    ],
  );
  // A UTF-8 character split between reads.
  const bytes = enc("é");
  assert.deepEqual(decoder.decode(bytes.subarray(0, 1)), []);
  assert.deepEqual(decoder.decode(bytes.subarray(1)), [
    { kind: "text", text: "é" },
  ]);
  // "\r\n" is one Enter.
  assert.deepEqual(decoder.decode(enc("\r\n")), [{ kind: "enter" }]);
});

Deno.test("LineEditor edits: insert, backspace, left/right, home/end, kill", () => {
  assert.deepEqual(type("hello\r").done, { line: "hello" });
  assert.deepEqual(type("helo\x7f\x7flp\r").done, { line: "help" });
  assert.deepEqual(type(`ac${ESC}[Db\r`).done, { line: "abc" });
  assert.deepEqual(type(`bc\x01a\x05d\r`).done, { line: "abcd" });
  assert.deepEqual(type(`bc${ESC}[Ha${ESC}[Fd\r`).done, { line: "abcd" });
  assert.deepEqual(type(`abc${ESC}[D${ESC}[D${ESC}[C\x0b\r`).done, {
    line: "ab",
  });
  assert.deepEqual(type(`abc${ESC}[D\x15\r`).done, { line: "c" });
  assert.deepEqual(type(`abc\x01${ESC}[3~\r`).done, { line: "bc" });
  // Ctrl-D deletes under the cursor on a line with text.
  assert.deepEqual(type(`abc\x01\x04\r`).done, { line: "bc" });
  // Left at the start and backspace on nothing do nothing.
  assert.deepEqual(type(`${ESC}[D\x7fok\r`).done, { line: "ok" });
  const { editor, output } = type(`abc${ESC}[D${ESC}[D`);
  assert.equal(editor.text, "abc");
  assert.equal(editor.cursor, 1);
  assert.match(output, /^> abc/);
});

Deno.test("LineEditor: Ctrl-C cancels, Ctrl-D on an empty line ends input", () => {
  assert.equal(type("abc\x03").done, "cancel");
  assert.equal(type("\x04").done, "eof");
});

Deno.test("LineEditor goes through the history with up and down, keeping the draft", () => {
  const history = ["SELECT 1;", "SELECT 2;"];
  assert.deepEqual(type(`${ESC}[A\r`, history).done, { line: "SELECT 2;" });
  assert.deepEqual(type(`${ESC}[A${ESC}[A${ESC}[A\r`, history).done, {
    line: "SELECT 1;",
  });
  assert.deepEqual(
    type(`dra${ESC}[A${ESC}[A${ESC}[B${ESC}[Bft\r`, history).done,
    { line: "draft" },
  );
  assert.deepEqual(type(`${ESC}[A x\r`, history).done, {
    line: "SELECT 2; x",
  });
  const editor = new LineEditor();
  editor.addHistory("a");
  editor.addHistory("a");
  editor.addHistory("  ");
  editor.addHistory("b");
  assert.deepEqual(editor.history, ["a", "b"]);
});
