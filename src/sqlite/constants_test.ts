import assert from "node:assert/strict";
import * as constants from "./constants.ts";

const HEADER = "/usr/include/sqlite3.h";

function readHeader(): string | undefined {
  try {
    return Deno.readTextFileSync(HEADER);
  } catch {
    return undefined;
  }
}

const header = readHeader();

Deno.test("constants match sqlite3.h", { ignore: header === undefined }, () => {
  const defines = new Map<string, string>();
  for (
    const m of header!.matchAll(
      /^#\s*define (SQLITE_\w+)\s+(.+?)\s*(\/\*.*)?$/gm,
    )
  ) {
    defines.set(m[1], m[2]);
  }
  const value = (name: string): number => {
    const text = defines.get(name);
    assert.ok(text !== undefined, `${name} is not in ${HEADER}`);
    const literal = /^\(?(0x[0-9a-fA-F]+|\d+)\)?$/.exec(text);
    if (literal) return Number(literal[1]);
    const extended = /^\((SQLITE_\w+)\s*\|\s*\((\d+)\s*<<\s*8\)\)$/.exec(text);
    assert.ok(extended, `${name}: cannot evaluate "${text}"`);
    return value(extended[1]) | (Number(extended[2]) << 8);
  };
  let checked = 0;
  for (const [name, actual] of Object.entries(constants)) {
    assert.equal(actual, value(name), name);
    checked++;
  }
  assert.ok(checked > 150);
});

Deno.test("constants include the codes the VFS layers use", () => {
  assert.equal(constants.SQLITE_IOERR_SHORT_READ, 522);
  assert.equal(constants.SQLITE_IOERR_READ, 266);
  assert.equal(constants.SQLITE_OK_LOAD_PERMANENTLY, 256);
  assert.equal(constants.SQLITE_FCNTL_PRAGMA, 14);
  assert.equal(constants.SQLITE_DIRECTONLY, 0x80000);
  assert.equal(constants.SQLITE_LOCK_EXCLUSIVE, 4);
  assert.equal(constants.SQLITE_OPEN_MAIN_DB, 0x100);
});
