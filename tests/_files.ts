/**
 * Local files for tests: temp folders that remove themselves, the walk
 * over a replica's files that every harness's `upload` makes, and the
 * timestamp metadata cloud uploads carry.
 *
 * @module
 */

import { join, relative } from "node:path";
import { decodeHeader } from "../src/ltx/mod.ts";

/**
 * A new temp folder, removed with everything in it when disposed of.
 *
 * @param prefix The folder name's start (`lsvfs-s3-test-`...).
 * @returns The folder's path, disposable (`await using dir = ...`).
 */
export async function tempDir(
  prefix: string,
): Promise<string & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix });
  return Object.assign(path, {
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  });
}

/** One file {@linkcode forEachFile} visits. */
export interface LocalFile {
  /** Its path on local disk. */
  readonly path: string;
  /** Its path relative to the folder walked (`ltx/0/…ltx`). */
  readonly relative: string;
  /** Its name (`…ltx`). */
  readonly name: string;
}

/**
 * Visits every file under a folder, depth first, one at a time (how the
 * harnesses upload a replica to their servers).
 *
 * @param dir The folder to walk.
 * @param visit Called for each file, awaited before the next.
 * @param onDirectory Called for each folder (`""` for `dir` itself) before
 * the files in it, for servers that want collections made first.
 * @returns How many files were visited.
 */
export async function forEachFile(
  dir: string,
  visit: (file: LocalFile) => Promise<void>,
  onDirectory?: (relativePath: string) => Promise<void>,
): Promise<number> {
  let n = 0;
  const walk = async (d: string) => {
    await onDirectory?.(relative(dir, d));
    for await (const entry of Deno.readDir(d)) {
      const path = join(d, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile) {
        await visit({ path, relative: relative(dir, path), name: entry.name });
        n++;
      }
    }
  };
  await walk(dir);
  return n;
}

/**
 * The metadata Litestream's cloud clients store with an uploaded file: for
 * an LTX file, its header's time (ISO 8601) under `key`; none for others.
 *
 * @param key The metadata key (`litestream-timestamp`...).
 * @param file The file.
 * @param bytes Its contents.
 * @returns The metadata, `{}` for a file that is not an LTX file.
 */
export function ltxTimestampMetadata(
  key: string,
  file: LocalFile,
  bytes: Uint8Array,
): Record<string, string> {
  if (!file.name.endsWith(".ltx")) return {};
  const time = decodeHeader(bytes, file.path).timestamp;
  return { [key]: new Date(time).toISOString() };
}
