// Decoding and encoding one 4 KiB SQLite page: our LZ4 against npm lz4js and
// the system liblz4 (through FFI). Pages: a table leaf page of a real SQLite
// database (text, integers, reals), a mostly empty page, random bytes.
// Run with `deno bench --allow-all src/ltx/lz4_bench.ts`.

import { DatabaseSync } from "node:sqlite";
import lz4js from "lz4js";
import {
  compressBlock,
  compressFrame,
  decompressBlock,
  decompressFrame,
} from "./lz4.ts";

const PAGE_SIZE = 4096;

const liblz4 = Deno.dlopen("liblz4.so.1", {
  // int LZ4_decompress_safe(const char* src, char* dst, int compressedSize, int dstCapacity)
  LZ4_decompress_safe: {
    parameters: ["buffer", "buffer", "i32", "i32"],
    result: "i32",
  },
  // int LZ4_compress_default(const char* src, char* dst, int srcSize, int dstCapacity)
  LZ4_compress_default: {
    parameters: ["buffer", "buffer", "i32", "i32"],
    result: "i32",
  },
});

/** Pages of a real database: a full table leaf page and a mostly empty one. */
function sqlitePages(): { leaf: Uint8Array; sparse: Uint8Array } {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/bench.db`;
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA page_size = ${PAGE_SIZE}`);
    db.exec(
      "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, email TEXT, age INTEGER, balance REAL, created TEXT)",
    );
    const insert = db.prepare(
      "INSERT INTO users(name, email, age, balance, created) VALUES (?, ?, ?, ?, ?)",
    );
    db.exec("BEGIN");
    for (let i = 0; i < 2000; i++) {
      insert.run(
        `User ${i}`,
        `user${i}@example.com`,
        18 + (i * 7) % 60,
        (i * 37) % 10000 / 4,
        new Date(1.7e12 + i * 3.6e6).toISOString(),
      );
    }
    db.exec("COMMIT");
    db.close();
    const file = Deno.readFileSync(path);
    const page = (pgno: number) =>
      file.slice((pgno - 1) * PAGE_SIZE, pgno * PAGE_SIZE);
    // Page 1 holds the header and one schema row; the rest is zeros.
    return { leaf: page(10), sparse: page(1) };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const { leaf, sparse } = sqlitePages();
const random = crypto.getRandomValues(new Uint8Array(PAGE_SIZE));

function libCompress(page: Uint8Array): Uint8Array {
  const out = new Uint8Array(PAGE_SIZE + PAGE_SIZE / 255 + 16);
  const n = liblz4.symbols.LZ4_compress_default(
    page,
    out,
    page.length,
    out.length,
  );
  return out.slice(0, n);
}

const out = new Uint8Array(PAGE_SIZE);
for (
  const [kind, page] of [["leaf", leaf], ["sparse", sparse], [
    "random",
    random,
  ]] as const
) {
  // The blocks liblz4 makes, as Litestream's Go encoder would.
  const block = libCompress(page);
  const group = `decode ${kind} page (${block.length} bytes compressed)`;

  Deno.bench(
    `decompressBlock() ${kind} page`,
    { group, baseline: true },
    () => {
      decompressBlock(block, out);
    },
  );
  Deno.bench(`lz4js decompressBlock ${kind} page`, { group }, () => {
    lz4js.decompressBlock(block, out, 0, block.length, 0);
  });
  Deno.bench(`liblz4 LZ4_decompress_safe ${kind} page`, { group }, () => {
    liblz4.symbols.LZ4_decompress_safe(block, out, block.length, PAGE_SIZE);
  });

  const frame = compressFrame(page);
  Deno.bench(`decompressFrame() ${kind} page`, { group }, () => {
    decompressFrame(frame, PAGE_SIZE);
  });

  const encodeGroup = `encode ${kind} page`;
  Deno.bench(`compressBlock() ${kind} page`, {
    group: encodeGroup,
    baseline: true,
  }, () => {
    compressBlock(page);
  });
  Deno.bench(`liblz4 LZ4_compress_default ${kind} page`, {
    group: encodeGroup,
  }, () => {
    libCompress(page);
  });
}
