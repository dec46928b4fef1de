import assert from "node:assert/strict";
import { SQLITE_LIB_ENV, sqliteLibrary } from "./_ffi.ts";
import { Database } from "./database.ts";

const SYSTEM_LIB = Deno.build.os === "darwin"
  ? "libsqlite3.dylib"
  : "libsqlite3.so.0";

function withEnv(value: string, fn: () => void): void {
  const previous = Deno.env.get(SQLITE_LIB_ENV);
  Deno.env.set(SQLITE_LIB_ENV, value);
  try {
    fn();
  } finally {
    if (previous === undefined) Deno.env.delete(SQLITE_LIB_ENV);
    else Deno.env.set(SQLITE_LIB_ENV, previous);
  }
}

Deno.test("sqliteLibrary() loads the system library once", () => {
  const library = sqliteLibrary();
  assert.match(library.version, /^3\.\d+\.\d+$/);
  assert.ok(library.versionNumber >= 3_037_000);
  assert.equal(sqliteLibrary(), library);
  assert.equal(typeof library.symbols.sqlite3_vfs_find, "function");
  assert.notEqual(library.symbols.sqlite3_vfs_find(null), null);
});

Deno.test("sqliteLibrary() with a path loads that library", () => {
  const library = sqliteLibrary(SYSTEM_LIB);
  assert.equal(library.path, SYSTEM_LIB);
  assert.equal(sqliteLibrary(SYSTEM_LIB), library);
});

Deno.test("sqliteLibrary() with an invalid path throws a clear error", () => {
  assert.throws(() => sqliteLibrary("/nonexistent/libsqlite3.so"), (e) => {
    assert.ok(e instanceof Error);
    assert.equal(
      e.message,
      `Cannot load SQLite library "/nonexistent/libsqlite3.so" (from the library option): pass the "library" option or set ${SQLITE_LIB_ENV} to the path of a libsqlite3 shared library`,
    );
    assert.ok(e.cause instanceof Error);
    return true;
  });
});

Deno.test("sqliteLibrary() rejects a library that is not SQLite", () => {
  // libc loads fine but lacks the sqlite3_* symbols.
  const libc = Deno.build.os === "darwin" ? "libSystem.dylib" : "libc.so.6";
  assert.throws(() => sqliteLibrary(libc), /Cannot load SQLite library/);
});

Deno.test("new Database() with the library option uses that library", () => {
  using db = new Database(":memory:", { library: SYSTEM_LIB });
  assert.equal(db.library.path, SYSTEM_LIB);
  assert.throws(
    () => new Database(":memory:", { library: "/nonexistent/lib.so" }),
    /Cannot load SQLite library "\/nonexistent\/lib\.so"/,
  );
});

Deno.test("new Database() honours the LSVFS_SQLITE_LIB environment variable", () => {
  withEnv("/nonexistent/from-env.so", () => {
    assert.throws(() => new Database(":memory:"), (e) => {
      assert.ok(e instanceof Error);
      assert.match(
        e.message,
        /^Cannot load SQLite library "\/nonexistent\/from-env\.so" \(from LSVFS_SQLITE_LIB\)/,
      );
      return true;
    });
    // An explicit option wins over the environment.
    using db = new Database(":memory:", { library: SYSTEM_LIB });
    assert.equal(db.isOpen, true);
  });
  withEnv(SYSTEM_LIB, () => {
    using db = new Database(":memory:");
    assert.equal(db.library.path, SYSTEM_LIB);
  });
});

Deno.test("sqliteLibrary() rethrows a missing --allow-ffi as is", async () => {
  const code = `
    import { sqliteLibrary } from ${
    JSON.stringify(import.meta.resolve("./_ffi.ts"))
  };
    try { sqliteLibrary(); } catch (e) { console.log(e.name); }
  `;
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/no_ffi.ts`;
    await Deno.writeTextFile(script, code);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", `--allow-read=${dir}`, script],
      stderr: "inherit",
    }).output();
    assert.equal(new TextDecoder().decode(out.stdout).trim(), "NotCapable");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
