/**
 * The C LZ4 block decoder (ffi/lz4_block.h) on blocks made the way LTX files
 * hold pages: ffi/lz4_block_test.c is built with AddressSanitizer and UBSan,
 * and again without them to run under valgrind, and run on test vectors
 * written here (NAME.lz4, a block; NAME.raw, what it decodes to).
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import lz4js from "lz4js";
import { compressBlock, decompressBlock } from "../src/ltx/lz4.ts";
import { makePage, random } from "../src/ltx/_test_util.ts";

const FFI = new URL("../ffi/", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "lsvfs-lz4-block-" });
globalThis.addEventListener("unload", () => {
  Deno.removeSync(dir, { recursive: true });
});

/** Bytes from a generator seeded with `seed`, one per `random()` draw. */
function randomBytes(n: number, seed: number): Uint8Array {
  const next = random(seed);
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = Math.floor(next() * 256);
  return bytes;
}

/** Text-like bytes: SQL lines built from a few words, seeded with `seed`. */
function textBytes(n: number, seed: number): Uint8Array {
  const next = random(seed);
  const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
  let text = "";
  for (let i = 0; text.length < n; i++) {
    const word = words[Math.floor(next() * words.length)];
    text += `INSERT INTO t VALUES(${i}, '${word}', ${
      Math.floor(next() * 1000)
    });\n`;
  }
  return new TextEncoder().encode(text.slice(0, n));
}

/**
 * Pages of a real SQLite database of 4096-byte pages: page 1 (the file
 * header, one schema row, mostly zeros) and a full table leaf page.
 */
function sqlitePages(): { header: Uint8Array; leaf: Uint8Array } {
  const path = `${dir}/pages.db`;
  const db = new DatabaseSync(path);
  db.exec("PRAGMA page_size = 4096");
  db.exec("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, age INT)");
  const insert = db.prepare("INSERT INTO users(name, age) VALUES (?, ?)");
  db.exec("BEGIN");
  for (let i = 0; i < 1000; i++) insert.run(`user ${i}`, 18 + (i * 7) % 60);
  db.exec("COMMIT");
  db.close();
  const file = Deno.readFileSync(path);
  Deno.removeSync(path);
  // The first table leaf page (b-tree page type 13) after page 1.
  let leaf = 4096;
  while (file[leaf] !== 13) leaf += 4096;
  return { header: file.slice(0, 4096), leaf: file.slice(leaf, leaf + 4096) };
}

/**
 * The pages the vectors are made of: 4096-byte pages of zeros, random bytes,
 * text, a real SQLite header page and table leaf page, an LTX test page
 * (text, random bytes, zeros), a 65536-byte and a 512-byte page.
 */
function pages(): Record<string, Uint8Array> {
  const { header, leaf } = sqlitePages();
  return {
    "zeros-4096": new Uint8Array(4096),
    "random-4096": randomBytes(4096, 1),
    "text-4096": textBytes(4096, 2),
    "sqlite-header-4096": header,
    "sqlite-leaf-4096": leaf,
    "ltx-page-4096": makePage(3, 4096),
    "ltx-page-65536": makePage(5, 65536),
    "text-512": textBytes(512, 3),
  };
}

/**
 * Compresses a page with npm lz4js's block compressor, whose blocks break
 * the format's rule that the last match starts 12 bytes before the end.
 *
 * @returns The block, or undefined if lz4js stores the page uncompressed.
 */
function lz4jsBlock(page: Uint8Array): Uint8Array | undefined {
  const out = new Uint8Array(lz4js.compressBound(page.length));
  const n = lz4js.compressBlock(
    page,
    out,
    0,
    page.length,
    new Uint32Array(1 << 16),
  );
  return n === 0 ? undefined : out.slice(0, n);
}

/**
 * Writes the vectors into `dir`: each page compressed by compressBlock (as
 * the LTX encoder does for every page frame) and, where it compresses, by
 * lz4js. Each block is checked with the TypeScript decoder first.
 *
 * @returns The number of vectors written.
 */
async function writeVectors(): Promise<number> {
  let count = 0;
  for (const [name, page] of Object.entries(pages())) {
    const blocks: [string, Uint8Array | undefined][] = [
      [name, compressBlock(page)],
      [`lz4js-${name}`, lz4jsBlock(page)],
    ];
    for (const [vector, block] of blocks) {
      if (block === undefined) continue;
      const out = new Uint8Array(page.length);
      assert.equal(decompressBlock(block, out), page.length, vector);
      assert.deepEqual(out, page, vector);
      await Deno.writeFile(`${dir}/${vector}.lz4`, block);
      await Deno.writeFile(`${dir}/${vector}.raw`, page);
      count++;
    }
  }
  return count;
}

const vectorCount = await writeVectors();

/**
 * Builds ffi/lz4_block_test.c with gcc and the given flags.
 *
 * @returns The path of the program.
 */
async function buildTest(name: string, flags: string[]): Promise<string> {
  const exe = `${dir}/${name}`;
  const build = await new Deno.Command("gcc", {
    args: [
      "-std=c11",
      "-Wall",
      "-Wextra",
      "-Werror",
      ...flags,
      `${FFI}lz4_block_test.c`,
      "-o",
      exe,
    ],
  }).output();
  assert.ok(build.success, new TextDecoder().decode(build.stderr));
  return exe;
}

/**
 * Runs a program and returns its exit code and output as text.
 */
async function run(
  program: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(program, { args }).output();
  const text = new TextDecoder();
  return {
    code: out.code,
    stdout: text.decode(out.stdout),
    stderr: text.decode(out.stderr),
  };
}

/** The line the test program prints when every check passed. */
const OK_LINE = /^lz4_block_test\.c: ok \((\d+) vectors, (\d+) mutations\)$/m;

Deno.test("lsvfsLz4Decode() passes lz4_block_test.c under AddressSanitizer and UBSan", async () => {
  const exe = await buildTest("lz4_block_test_asan", [
    "-O1",
    "-g",
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=undefined",
    "-fno-omit-frame-pointer",
  ]);
  const result = await run(exe, [dir]);
  assert.equal(result.code, 0, result.stderr);
  const ok = result.stdout.match(OK_LINE);
  assert.ok(ok, result.stdout + result.stderr);
  assert.ok(Number(ok[1]) > vectorCount, ok[0]);
  assert.ok(Number(ok[2]) >= 200_000, ok[0]);
});

Deno.test("lsvfsLz4Decode() passes lz4_block_test.c under valgrind", async () => {
  const exe = await buildTest("lz4_block_test", ["-O2", "-g"]);
  const result = await run("/usr/bin/valgrind", [
    "--error-exitcode=99",
    "--leak-check=full",
    exe,
    dir,
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, OK_LINE);
  assert.match(result.stderr, /ERROR SUMMARY: 0 errors/);
});
