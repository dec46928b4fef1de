/**
 * Test harness around Litestream's own VFS extension (npm
 * `litestream-vfs-linux-amd64`, v0.5.17), driven through Debian's sqlite3
 * CLI. The tests use it as the reference implementation: to write replicas
 * with Litestream's code, to read ours back, and to restore a replica to a
 * plain database file (its hydration, which is the ltx library's compactor
 * and decoder).
 *
 * What was found out about the extension, and what this module works around:
 *
 * - It is configured by environment only: `LITESTREAM_REPLICA_URL`
 *   (`file:///abs/dir`), `LITESTREAM_WRITE_ENABLED=true`,
 *   `LITESTREAM_SYNC_INTERVAL` (a Go duration), `LITESTREAM_HYDRATION_*`.
 *   `LITESTREAM_LOG_LEVEL` knows only DEBUG (anything else means INFO), and
 *   the log goes to stdout unless `LITESTREAM_LOG_FILE` names a file: every
 *   run here logs to a file in its scratch folder, and errors in that log
 *   fail the run (a failed sync on close still exits 0).
 * - The extension must be loaded before the database is opened, so the CLI
 *   gets `.load`, `.open file:db.db?vfs=litestream` and the SQL on stdin (a
 *   positional argument would be taken as the database file name).
 * - Its write mode breaks ("database disk image is malformed") in a process
 *   after the first sync that grows the database, so each transaction runs in
 *   a process of its own, which syncs once, on close (the timed sync is set
 *   to an hour).
 * - A new database always gets 4096-byte LTX pages: `PRAGMA page_size=N` is
 *   accepted by SQLite, but the extension then stores N-byte SQLite pages in
 *   4096-byte LTX pages (512 and 1024: integrity_check reports pages "never
 *   used"; 65536: the sync on close fails, "nonsequential page numbers in
 *   snapshot transaction", and nothing is uploaded). For an existing replica
 *   it takes the page size from the LTX header. So for any other page size,
 *   TXID 1 (an empty database of that page size) is written with our encoder
 *   and every later transaction by the extension.
 * - After a transaction that shrinks the database (VACUUM), its VFS keeps
 *   reporting the old page count, in read mode (integrity_check finds pages
 *   past the end "never used") and in the next write-mode process, whose
 *   file then has a commit past pages no file holds any more: the replica is
 *   malformed even in its own restore. Tests shrink only in the last
 *   transaction.
 * - Reading an empty or missing replica hangs `.open` forever: every run has
 *   a time limit, after which the process is killed and an error thrown.
 * - Each write-mode process leaves a write buffer under `$TMPDIR`: runs get a
 *   scratch folder as `TMPDIR` and as working directory, removed afterwards.
 *
 * @module
 */

import { dirname, join } from "node:path";
import {
  encodeFile,
  HEADER_FLAG_NO_CHECKSUM,
  ltxPath,
} from "../src/ltx/mod.ts";
import { makeHeader } from "../src/ltx/_test_util.ts";
import {
  litestreamExtensionPath,
  sqlite3CliPath,
} from "../tasks/setup_test_env.ts";

/** Default time limit for one sqlite3 process, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** Page size Litestream's extension gives a database it creates. */
export const LITESTREAM_NEW_DATABASE_PAGE_SIZE = 4096;

/** An LTX file found in a replica folder. */
export interface ReplicaFile {
  /** Compaction level, 0 to 9. */
  level: number;
  /** First transaction ID in the file. */
  minTxid: bigint;
  /** Last transaction ID in the file. */
  maxTxid: bigint;
  /** Absolute path of the file. */
  path: string;
}

/** Options shared by the functions that run Litestream's extension. */
export interface RunOptions {
  /** Kill the process after this many milliseconds. */
  timeoutMs?: number;
  /** More environment variables for the extension. */
  env?: Record<string, string>;
}

/** Options for {@linkcode makeLitestreamReplica}. */
export interface MakeReplicaOptions extends RunOptions {
  /**
   * Page size of a new replica. The extension itself only makes 4096-byte
   * pages; any other size gets a TXID 1 snapshot of an empty database written
   * by our encoder (see the module documentation). Ignored if the replica
   * already has files.
   */
  pageSize?: number;
}

const LTX_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.ltx$/;

/**
 * Lists the LTX files of a `file://` replica, ordered by level, then TXID.
 *
 * @param replicaDir The replica's folder (the one holding `ltx/`).
 * @returns The files; empty if there are none.
 */
export async function listLtxFiles(replicaDir: string): Promise<ReplicaFile[]> {
  const files: ReplicaFile[] = [];
  for (let level = 0; level <= 9; level++) {
    const dir = join(replicaDir, "ltx", String(level));
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    for (const entry of entries) {
      const m = LTX_NAME.exec(entry.name);
      if (!entry.isFile || !m) continue;
      files.push({
        level,
        minTxid: BigInt(`0x${m[1]}`),
        maxTxid: BigInt(`0x${m[2]}`),
        path: join(dir, entry.name),
      });
    }
  }
  return files.sort((a, b) =>
    a.level - b.level ||
    (a.minTxid < b.minTxid ? -1 : a.minTxid > b.minTxid ? 1 : 0)
  );
}

/**
 * The highest TXID in a replica.
 *
 * @param replicaDir The replica's folder.
 * @returns The largest `maxTxid` of all its files, 0n if it has none.
 */
export async function replicaTxid(replicaDir: string): Promise<bigint> {
  let max = 0n;
  for (const f of await listLtxFiles(replicaDir)) {
    if (f.maxTxid > max) max = f.maxTxid;
  }
  return max;
}

/**
 * Writes a replica with Litestream's extension in write mode: one sqlite3
 * process per element of `transactions`, each of which must change the
 * database, so that each leaves exactly one new level-0 LTX file. Works on
 * an existing replica too (appends).
 *
 * @param dir The replica's folder; created if missing.
 * @param transactions SQL run by one process each.
 * @param options Page size of a new replica; time limit.
 * @throws {Error} If a process fails, logs an error, times out, or leaves
 * no new LTX file.
 */
export async function makeLitestreamReplica(
  dir: string,
  transactions: readonly string[],
  options: MakeReplicaOptions = {},
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  let txid = await replicaTxid(dir);
  const pageSize = options.pageSize ?? LITESTREAM_NEW_DATABASE_PAGE_SIZE;
  if (txid === 0n && pageSize !== LITESTREAM_NEW_DATABASE_PAGE_SIZE) {
    await seedReplica(dir, pageSize);
    txid = 1n;
  }
  for (const [i, sql] of transactions.entries()) {
    await runExtension(dir, sql, {
      ...options,
      env: {
        LITESTREAM_WRITE_ENABLED: "true",
        LITESTREAM_SYNC_INTERVAL: "1h",
        ...options.env,
      },
    });
    const now = await replicaTxid(dir);
    if (now !== txid + 1n) {
      throw new Error(
        `Litestream's extension left TXID ${now} after transaction ${i}, expected ${
          txid + 1n
        }: "${sql.slice(0, 80)}"`,
      );
    }
    txid = now;
  }
}

/**
 * Writes a replica at any URL with Litestream's extension in write mode,
 * one sqlite3 process per transaction, as {@linkcode makeLitestreamReplica}
 * does for a folder (but without checking TXIDs, which only a folder can be
 * listed for here).
 *
 * @param url The replica URL (`s3://bucket/path?endpoint=...`).
 * @param transactions SQL run by one process each.
 * @param options Time limit; more environment (credentials).
 * @throws {Error} If a process fails, logs an error or times out.
 */
export async function writeWithLitestream(
  url: string,
  transactions: readonly string[],
  options: RunOptions = {},
): Promise<void> {
  const run = (sql: string) =>
    runExtension(url, sql, {
      ...options,
      env: {
        LITESTREAM_WRITE_ENABLED: "true",
        LITESTREAM_SYNC_INTERVAL: "1h",
        // Its AWS SDK fails to start with a CA bundle set, as some machines do.
        AWS_CA_BUNDLE: "",
        ...options.env,
        LITESTREAM_REPLICA_URL: url,
      },
    });
  for (const sql of transactions) {
    try {
      await run(sql);
    } catch (error) {
      // On a loaded machine its open sometimes gives up on its own timeout
      // ("fetch page index: ... context canceled"). The open failed, so the
      // transaction never ran: running it again is safe.
      if (!String(error).includes("unable to open database")) throw error;
      await run(sql);
    }
  }
}

/**
 * Runs SQL against a replica through Litestream's extension, read-only.
 *
 * @param replicaDir The replica's folder.
 * @param sql Statements and sqlite3 dot-commands (`.mode`, …).
 * @param options Time limit; more environment.
 * @returns What the CLI printed, without the final newline.
 * @throws {Error} If the CLI fails, the extension logs an error, or the
 * time limit passes (as it does on an empty replica).
 */
export function queryWithLitestream(
  replicaDir: string,
  sql: string,
  options: RunOptions = {},
): Promise<string> {
  return runExtension(replicaDir, sql, options);
}

/**
 * Restores a replica to a plain database file with Litestream's own code:
 * the extension's hydration, which compacts the restore plan's LTX files
 * with the ltx library and decodes the result into a file. The file keeps
 * every byte as SQLite wrote it (the extension patches page 1 only on
 * reads through its VFS).
 *
 * It fails ("validate trailer: post-apply checksum not allowed") when the
 * replica's last file carries database checksums (header flags without
 * NoChecksum, as `litestream replicate` writes): the compactor marks its
 * output NoChecksum yet copies the last file's post-apply checksum into it
 * (ltx v0.5.2 compactor.go). Files from the extension's write mode have no
 * checksums and restore fine.
 *
 * @param replicaDir The replica's folder.
 * @param outPath Where to write the database; a `.meta` file is left beside
 * it (the extension's record of the hydrated TXID).
 * @param options Time limit; more environment.
 * @throws {Error} If hydration fails or does not finish in time.
 */
export async function hydrateWithLitestream(
  replicaDir: string,
  outPath: string,
  options: RunOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  await withScratch(async (scratch) => {
    const child = new Deno.Command(sqlite3CliPath(), {
      args: ["-bail", "-batch"],
      cwd: scratch,
      env: extensionEnv(replicaDir, scratch, {
        LITESTREAM_HYDRATION_ENABLED: "true",
        LITESTREAM_HYDRATION_PATH: outPath,
        ...options.env,
      }),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const writer = child.stdin.getWriter();
    const lines = readLines(child.stdout);
    const timer = setTimeout(() => kill(child), timeoutMs);
    let done = false;
    let failure: unknown;
    try {
      await writer.write(encode(`${prelude()}SELECT 'opened';\n`));
      await nextLine(lines);
      // Hydration runs in the background; ask until it is complete.
      while (!done) {
        await writer.write(encode("PRAGMA litestream_hydration_progress;\n"));
        const line = await nextLine(lines);
        if (line === undefined) break;
        done = Number(line) >= 100;
        if (!done) await new Promise((r) => setTimeout(r, 20));
      }
      await writer.close();
    } catch (error) {
      // A broken pipe: the process died or was killed; said below.
      failure = error;
    } finally {
      clearTimeout(timer);
    }
    const status = await child.status;
    await lines.return(undefined);
    const errorText = (await stderr).trim();
    if (timedOut(child)) {
      throw new Error(
        `Litestream's hydration timed out after ${timeoutMs} ms (its VFS hangs on an empty or missing replica): "${replicaDir}"`,
      );
    }
    await checkLog(scratch, "Litestream's hydration");
    if (!done || !status.success) {
      throw new Error(
        `Litestream's hydration failed with exit code ${status.code}: ${errorText}`,
        { cause: failure },
      );
    }
  });
}

/**
 * Copies a replica's database with `VACUUM INTO` through Litestream's VFS,
 * to a file written by SQLite's default VFS. The result depends only on the
 * database's content (not on its free pages or page order), and is the same
 * byte for byte as `VACUUM INTO` of an equal database by plain sqlite3.
 *
 * @param replicaDir The replica's folder.
 * @param outPath The new file; must not exist.
 * @param options Time limit; more environment.
 */
export async function vacuumWithLitestream(
  replicaDir: string,
  outPath: string,
  options: RunOptions = {},
): Promise<void> {
  const uri = `file:${encodeURI(outPath)}?vfs=unix`.replaceAll("'", "''");
  await runExtension(replicaDir, `VACUUM INTO '${uri}';`, options);
}

/**
 * Runs SQL with Debian's sqlite3 CLI on a plain database file.
 *
 * @param dbPath The database file.
 * @param sql Statements and dot-commands, fed on stdin.
 * @param options Time limit.
 * @returns What the CLI printed, without the final newline.
 * @throws {Error} If the CLI exits with an error.
 */
export async function sqlite3Cli(
  dbPath: string,
  sql: string,
  options: { timeoutMs?: number } = {},
): Promise<string> {
  const out = await runCli({
    args: ["-bail", "-batch", dbPath],
    stdin: sql.endsWith("\n") ? sql : `${sql}\n`,
    env: {},
    cwd: undefined,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    what: `sqlite3 on "${dbPath}"`,
  });
  return out.trimEnd();
}

/** Writes TXID 1 of a new replica: an empty database with the page size. */
async function seedReplica(dir: string, pageSize: number): Promise<void> {
  await withScratch(async (scratch) => {
    const dbPath = join(scratch, "seed.db");
    await sqlite3Cli(dbPath, `PRAGMA page_size=${pageSize};\nVACUUM;`);
    const bytes = await Deno.readFile(dbPath);
    const pages: [number, Uint8Array][] = [];
    for (let off = 0; off < bytes.length; off += pageSize) {
      pages.push([off / pageSize + 1, bytes.subarray(off, off + pageSize)]);
    }
    const file = encodeFile({
      header: makeHeader({
        // Without database checksums, as the extension's own write mode
        // writes: its hydration cannot restore a replica whose last file
        // has them (see hydrateWithLitestream).
        flags: HEADER_FLAG_NO_CHECKSUM,
        pageSize,
        commit: pages.length,
        minTxid: 1n,
        maxTxid: 1n,
        timestamp: Date.now(),
      }),
      pages: pages.map(([pgno, data]) => ({ pgno, data })),
      postApplyChecksum: 0n,
    });
    const path = join(dir, ltxPath(0, 1n, 1n));
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.writeFile(path, file);
  });
}

function prelude(): string {
  return `.load ${litestreamExtensionPath()}\n.open file:db.db?vfs=litestream\n`;
}

function extensionEnv(
  replicaDir: string,
  scratch: string,
  extra: Record<string, string>,
): Record<string, string> {
  return {
    LITESTREAM_REPLICA_URL: `file://${replicaDir}`,
    LITESTREAM_LOG_FILE: join(scratch, "litestream.log"),
    TMPDIR: scratch,
    ...extra,
  };
}

/** One sqlite3 process with the extension loaded and the database open. */
async function runExtension(
  replicaDir: string,
  sql: string,
  options: RunOptions,
): Promise<string> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return await withScratch(async (scratch) => {
    const out = await runCli({
      args: ["-bail", "-batch"],
      stdin: `${prelude()}${sql}\n`,
      env: extensionEnv(replicaDir, scratch, options.env ?? {}),
      cwd: scratch,
      timeoutMs,
      what: `Litestream's extension on "${replicaDir}"`,
      log: join(scratch, "litestream.log"),
    });
    await checkLog(scratch, `Litestream's extension on "${replicaDir}"`);
    return out.trimEnd();
  });
}

interface CliRun {
  args: string[];
  stdin: string;
  env: Record<string, string>;
  cwd: string | undefined;
  timeoutMs: number;
  what: string;
  log?: string;
}

async function runCli(run: CliRun): Promise<string> {
  const child = new Deno.Command(sqlite3CliPath(), {
    args: run.args,
    cwd: run.cwd,
    env: run.env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => kill(child), run.timeoutMs);
  try {
    const writing = (async () => {
      const writer = child.stdin.getWriter();
      try {
        await writer.write(encode(run.stdin));
        await writer.close();
      } catch {
        // The process died before reading all of it; its status says why.
      }
    })();
    const out = await child.output();
    await writing;
    const stdout = withoutLogLines(new TextDecoder().decode(out.stdout));
    if (timedOut(child)) {
      throw new Error(
        `${run.what} timed out after ${run.timeoutMs} ms (Litestream's VFS hangs on an empty or missing replica)`,
      );
    }
    if (!out.success) {
      const log = run.log ? await readLog(run.log) : "";
      throw new Error(
        `${run.what} failed with exit code ${out.code}: ${
          new TextDecoder().decode(out.stderr).trim()
        }${log ? `\n${log}` : ""}`,
      );
    }
    return stdout;
  } finally {
    clearTimeout(timer);
  }
}

const killed = new WeakSet<Deno.ChildProcess>();

function kill(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
    killed.add(child);
  } catch {
    // Already gone.
  }
}

function timedOut(child: Deno.ChildProcess): boolean {
  return killed.has(child);
}

/** Log lines that reach stdout anyway start with `time=`. */
function withoutLogLines(text: string): string {
  return text.split("\n").filter((l) => !l.startsWith("time=")).join("\n");
}

async function readLog(path: string): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch {
    return "";
  }
}

/** Fails if the extension logged an error (it exits 0 after a failed sync). */
async function checkLog(scratch: string, what: string): Promise<void> {
  const log = await readLog(join(scratch, "litestream.log"));
  const errors = log.split("\n").filter((l) =>
    /\blevel=(ERROR|WARN)\b/.test(l)
  );
  if (errors.length > 0) {
    throw new Error(`${what} logged errors:\n${errors.join("\n")}`);
  }
}

async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-litestream-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

async function* readLines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string, void, undefined> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.startsWith("time=")) yield line;
    }
  }
  if (buffered && !buffered.startsWith("time=")) yield buffered;
}

async function nextLine(
  lines: AsyncGenerator<string, void, undefined>,
): Promise<string | undefined> {
  const next = await lines.next();
  return next.done ? undefined : next.value;
}
