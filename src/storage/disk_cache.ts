/**
 * The disk cache of a remote replica: whole LTX files copied to a local
 * directory, so that a file is fetched from storage once and its frames can
 * then be read locally, by the engine and by the shim's fast path. LTX files
 * never change once written, so a copy never goes stale.
 *
 * Layout: `<dir>/<replica key>/<level>/<minTXID>-<maxTXID>.ltx`, where the
 * replica key is a hash of the replica URL without credentials. A copy is
 * written to a temporary name and renamed when complete, so a file under
 * its own name is always whole, in this process and the next. The cache is
 * bounded: after each copy, the least recently written files go until the
 * directory holds at most its byte bound (a file still open elsewhere stays
 * readable there until closed).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { formatFileName } from "../ltx/mod.ts";
import type { LtxFileInfo, ReplicaClient } from "./replica_client.ts";

/** Default bound of a disk cache, in bytes: 1 GiB. */
export const DEFAULT_DISK_CACHE_SIZE = 1024 * 1024 * 1024;

/** Where a replica's disk cache lives, and its bound. */
export interface DiskCacheOptions {
  /** The cache directory, shared by every replica (each has its own folder). */
  readonly dir: string;
  /** Most bytes of LTX files kept under `dir` for this replica. */
  readonly maxBytes: number;
}

/**
 * The folder of one replica's copies under a cache directory.
 *
 * @param dir The cache directory.
 * @param url The replica URL without credentials.
 * @returns `<dir>/<16 hex digits of SHA-256(url)>`.
 *
 * @example Two replicas, two folders
 * ```ts
 * import { replicaCacheDir } from "./disk_cache.ts";
 * import assert from "node:assert/strict";
 * assert.notEqual(replicaCacheDir("/c", "s3://a/x"), replicaCacheDir("/c", "s3://a/y"));
 * assert.match(replicaCacheDir("/c", "s3://a/x"), /^\/c\/[0-9a-f]{16}$/);
 * ```
 */
export function replicaCacheDir(dir: string, url: string): string {
  const key = createHash("sha256").update(url).digest("hex").slice(0, 16);
  return `${dir.replace(/\/+$/, "")}/${key}`;
}

/** One replica's copies, as the engine thread sees them. */
export class DiskCache {
  /** This replica's folder. */
  readonly root: string;
  /** Its bound in bytes. */
  readonly maxBytes: number;
  /** Copies known to be complete, by path. */
  #complete = new Set<string>();
  #handles = new Map<string, Deno.FsFile>();

  /**
   * @param url The replica URL without credentials.
   * @param options The cache directory and bound.
   */
  constructor(url: string, options: DiskCacheOptions) {
    this.root = replicaCacheDir(options.dir, url);
    this.maxBytes = options.maxBytes;
  }

  /**
   * Where a file's copy goes.
   *
   * @param file The LTX file.
   * @returns Its path under {@linkcode DiskCache.root}.
   */
  pathOf(file: LtxFileInfo): string {
    return `${this.root}/${file.level}/${
      formatFileName(file.minTxid, file.maxTxid)
    }`;
  }

  /**
   * The path of a file's complete copy, if there is one.
   *
   * @param file The LTX file.
   * @returns The path, or undefined.
   */
  localPath(file: LtxFileInfo): string | undefined {
    const path = this.pathOf(file);
    if (this.#complete.has(path)) return path;
    try {
      if (Deno.statSync(path).size !== file.size) return undefined;
    } catch {
      return undefined;
    }
    this.#complete.add(path);
    return path;
  }

  /**
   * Reads a range from a file's complete copy.
   *
   * @param file The LTX file.
   * @param offset First byte.
   * @param out Where the bytes go; its length is the range's.
   * @returns Whether the copy was there (and `out` is filled).
   */
  read(file: LtxFileInfo, offset: number, out: Uint8Array): boolean {
    const path = this.localPath(file);
    if (path === undefined) return false;
    try {
      let handle = this.#handles.get(path);
      if (handle === undefined) {
        handle = Deno.openSync(path, { read: true });
        this.#handles.set(path, handle);
      }
      handle.seekSync(offset, Deno.SeekMode.Start);
      let done = 0;
      while (done < out.length) {
        const n = handle.readSync(out.subarray(done));
        if (n === null || n === 0) throw new Error("short read");
        done += n;
      }
      return true;
    } catch {
      // Evicted, or damaged: storage has it.
      this.#forget(path);
      return false;
    }
  }

  /** Closes the open copies. */
  close(): void {
    for (const handle of this.#handles.values()) handle.close();
    this.#handles.clear();
  }

  #forget(path: string): void {
    this.#complete.delete(path);
    this.#handles.get(path)?.close();
    this.#handles.delete(path);
  }
}

/**
 * Copies a whole file from storage into the cache, then trims the cache to
 * its bound. Runs in the storage worker; a failure leaves no partial copy
 * under the file's name.
 *
 * @param client The storage client.
 * @param file The LTX file.
 * @param path Where the copy goes ({@linkcode DiskCache.pathOf}).
 * @param maxBytes The bound of the folder that holds it.
 */
export async function storeCopy(
  client: ReplicaClient,
  file: LtxFileInfo,
  path: string,
  maxBytes: number,
): Promise<void> {
  const bytes = await client.readRange(file, 0, file.size);
  const folder = path.slice(0, path.lastIndexOf("/"));
  await Deno.mkdir(folder, { recursive: true });
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeFile(temp, bytes);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  await trim(folder.slice(0, folder.lastIndexOf("/")), maxBytes);
}

/** Deletes the oldest copies under a replica's folder until it holds at most `maxBytes`. */
async function trim(root: string, maxBytes: number): Promise<void> {
  const copies: { path: string; size: number; mtime: number }[] = [];
  for await (const level of Deno.readDir(root)) {
    if (!level.isDirectory) continue;
    for await (const entry of Deno.readDir(`${root}/${level.name}`)) {
      if (!entry.isFile || !entry.name.endsWith(".ltx")) continue;
      const path = `${root}/${level.name}/${entry.name}`;
      const stat = await Deno.stat(path).catch(() => undefined);
      if (stat === undefined) continue;
      copies.push({ path, size: stat.size, mtime: stat.mtime?.getTime() ?? 0 });
    }
  }
  let total = copies.reduce((sum, c) => sum + c.size, 0);
  copies.sort((a, b) => a.mtime - b.mtime);
  for (const copy of copies) {
    if (total <= maxBytes) break;
    await Deno.remove(copy.path).catch(() => {});
    total -= copy.size;
  }
}
