/**
 * Where SQL statements end, as SQLite's `sqlite3_complete()` decides: at a
 * `;` outside string literals, quoted identifiers and comments, and for
 * `CREATE TRIGGER` only at the `;` after its `END`. `lsvfs shell` uses it to
 * know when a statement typed over several lines is whole, and to split a
 * line holding several statements.
 *
 * @module
 */

/** Token classes of `sqlite3_complete()`. */
const enum Tk {
  Semi = 0,
  Ws = 1,
  Other = 2,
  Explain = 3,
  Create = 4,
  Temp = 5,
  Trigger = 6,
  End = 7,
}

/** SQLite's transition table (complete.c): state by token. */
const TRANS: readonly (readonly number[])[] = [
  /*               SEMI WS OTHER EXPLAIN CREATE TEMP TRIGGER END */
  /* 0 INVALID */ [1, 0, 2, 3, 4, 2, 2, 2],
  /* 1 START   */ [1, 1, 2, 3, 4, 2, 2, 2],
  /* 2 NORMAL  */ [1, 2, 2, 2, 2, 2, 2, 2],
  /* 3 EXPLAIN */ [1, 3, 3, 2, 4, 2, 2, 2],
  /* 4 CREATE  */ [1, 4, 2, 2, 2, 4, 5, 2],
  /* 5 TRIGGER */ [6, 5, 5, 5, 5, 5, 5, 5],
  /* 6 SEMI    */ [6, 6, 5, 5, 5, 5, 5, 7],
  /* 7 END     */ [1, 7, 5, 5, 5, 5, 5, 5],
];

const KEYWORDS: Record<string, Tk> = {
  create: Tk.Create,
  trigger: Tk.Trigger,
  temp: Tk.Temp,
  temporary: Tk.Temp,
  end: Tk.End,
  explain: Tk.Explain,
};

interface Token {
  tk: Tk;
  end: number;
}

/**
 * The tokens of `sql`, in SQLite's classes; stops with `undefined` at an
 * unterminated string, quoted name or block comment.
 */
function* tokens(sql: string): Generator<Token | undefined> {
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === ";") {
      yield { tk: Tk.Semi, end: ++i };
    } else if (
      c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f"
    ) {
      yield { tk: Tk.Ws, end: ++i };
    } else if (c === "/" && sql[i + 1] === "*") {
      const close = sql.indexOf("*/", i + 2);
      if (close < 0) return yield undefined;
      yield { tk: Tk.Ws, end: i = close + 2 };
    } else if (c === "-" && sql[i + 1] === "-") {
      const nl = sql.indexOf("\n", i + 2);
      yield { tk: Tk.Ws, end: i = nl < 0 ? sql.length : nl + 1 };
    } else if (c === "[" || c === "`" || c === '"' || c === "'") {
      const close = sql.indexOf(c === "[" ? "]" : c, i + 1);
      if (close < 0) return yield undefined;
      // A doubled quote ('it''s') reads as two strings in a row: the same class.
      yield { tk: Tk.Other, end: i = close + 1 };
    } else if (/[\p{L}\p{N}_$]/u.test(c) || c.charCodeAt(0) >= 0x80) {
      let j = i + 1;
      while (j < sql.length && /[\p{L}\p{N}_$]/u.test(sql[j])) j++;
      const word = sql.slice(i, j).toLowerCase();
      yield { tk: KEYWORDS[word] ?? Tk.Other, end: i = j };
    } else {
      yield { tk: Tk.Other, end: ++i };
    }
  }
}

/**
 * Whether `sql` ends a statement, as `sqlite3_complete()` says: its last
 * token outside comments is a `;` that ends a statement.
 *
 * @param sql The text typed so far.
 * @returns True when the text can run; false for blank text.
 *
 * @example
 * ```ts
 * import { sqlComplete } from "./_sql_complete.ts";
 * import assert from "node:assert/strict";
 * assert.equal(sqlComplete("SELECT 1;"), true);
 * assert.equal(sqlComplete("SELECT ';'"), false);
 * ```
 */
export function sqlComplete(sql: string): boolean {
  let state = 0;
  for (const token of tokens(sql)) {
    if (token === undefined) return false;
    state = TRANS[state][token.tk];
  }
  return state === 1;
}

/**
 * Splits text into statements at the `;` that end them, leaving out those
 * that hold nothing but blanks and comments. Whatever follows the last `;`
 * that ends a statement is returned as `rest`.
 *
 * @param sql The text.
 * @returns The statements (each with its `;`), and the rest.
 */
export function splitStatements(
  sql: string,
): { statements: string[]; rest: string } {
  const statements: string[] = [];
  let state = 0;
  let start = 0;
  let empty = true;
  for (const token of tokens(sql)) {
    if (token === undefined) break;
    const next = TRANS[state][token.tk];
    if (token.tk !== Tk.Ws && token.tk !== Tk.Semi) empty = false;
    if (token.tk === Tk.Semi && next === 1) {
      const text = sql.slice(start, token.end).trim();
      if (!empty) statements.push(text);
      start = token.end;
      empty = true;
    }
    state = next;
  }
  return { statements, rest: sql.slice(start) };
}
