/**
 * The `file://` backend: a replica in a local directory, laid out as
 * Litestream writes it (`<root>/ltx/<level>/<min>-<max>.ltx`).
 *
 * Local reads are cheap, so this client is used synchronously by the engine
 * and never goes through the storage worker.
 *
 * @module
 */

import { ltxDir, ltxPath, parseFileName, SNAPSHOT_LEVEL } from "../ltx/mod.ts";
import { byMinTxid } from "./_layouts.ts";
import { FileExistsError, StorageError } from "./errors.ts";
import type {
  Listing,
  LtxFileInfo,
  LtxFileName,
  RangeRequest,
  ReplicaClient,
  SyncReplicaClient,
} from "./replica_client.ts";

/** How many LTX files stay open at once; older handles are closed first. */
const MAX_OPEN_FILES = 64;

/** A replica in a local directory. */
export class FileReplicaClient implements ReplicaClient, SyncReplicaClient {
  /** The replica URL (`file:///abs/path`). */
  readonly url: string;
  /** Absolute path of the replica's root directory. */
  readonly root: string;
  #handles = new Map<string, Deno.FsFile>();
  /** Size and time of every file seen, by path: LTX files never change. */
  #stats = new Map<string, { size: number; createdAt: number }>();

  /**
   * @param root Absolute path of the replica's root directory.
   */
  constructor(root: string) {
    this.root = root.replace(/\/+$/, "") || "/";
    this.url = `file://${this.root}`;
  }

  /** The path of an LTX file. */
  pathOf(file: Pick<LtxFileInfo, "level" | "minTxid" | "maxTxid">): string {
    return `${this.root}/${ltxPath(file.level, file.minTxid, file.maxTxid)}`;
  }

  /** {@inheritDoc SyncReplicaClient.localPath} */
  localPath(file: LtxFileInfo): string {
    return this.pathOf(file);
  }

  /** {@inheritDoc SyncReplicaClient.listFilesSync} */
  listFilesSync(level: number): LtxFileInfo[] {
    const dir = `${this.root}/${ltxDir(level)}`;
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw this.#storageError(`Cannot list "${dir}"`, error);
    }
    const files: LtxFileInfo[] = [];
    for (const entry of entries) {
      if (!entry.isFile) continue;
      const txids = parseFileName(entry.name);
      if (txids === undefined) continue;
      const path = `${dir}/${entry.name}`;
      let stat = this.#stats.get(path);
      if (stat === undefined) {
        try {
          const info = Deno.statSync(path);
          stat = {
            size: info.size,
            createdAt: info.mtime?.getTime() ?? 0,
          };
        } catch (error) {
          // Deleted between the listing and the stat: compaction at work.
          if (error instanceof Deno.errors.NotFound) continue;
          throw this.#storageError(`Cannot stat "${path}"`, error);
        }
        this.#stats.set(path, stat);
      }
      files.push({ level, ...txids, ...stat });
    }
    return files.sort(byMinTxid);
  }

  /** {@inheritDoc SyncReplicaClient.readRangeSync} */
  readRangeSync(
    file: LtxFileInfo,
    offset: number,
    length: number,
    out: Uint8Array = new Uint8Array(length),
  ): Uint8Array {
    const path = this.pathOf(file);
    const target = out.subarray(0, length);
    try {
      const handle = this.#open(path);
      handle.seekSync(offset, Deno.SeekMode.Start);
      let filled = 0;
      while (filled < length) {
        const n = handle.readSync(target.subarray(filled));
        if (n === null || n === 0) {
          throw new StorageError(
            `Short read of "${path}": wanted ${length} bytes at offset ${offset}, file ends after ${
              offset + filled
            }`,
          );
        }
        filled += n;
      }
      return target;
    } catch (error) {
      if (error instanceof StorageError) throw error;
      this.#forget(path);
      throw this.#storageError(`Cannot read "${path}"`, error);
    }
  }

  /** {@inheritDoc SyncReplicaClient.listAllSync} */
  listAllSync(): LtxFileInfo[] {
    const files: LtxFileInfo[] = [];
    for (let level = 0; level <= SNAPSHOT_LEVEL; level++) {
      files.push(...this.listFilesSync(level));
    }
    return files;
  }

  /** {@inheritDoc SyncReplicaClient.pollSync} */
  pollSync(_intervalMs: number): Listing {
    return { files: this.listAllSync(), ageMs: 0 };
  }

  /** {@inheritDoc SyncReplicaClient.readRangesSync} */
  readRangesSync(requests: readonly RangeRequest[]): Uint8Array[] {
    // Local reads are cheap: one after another.
    return requests.map((r) => this.readRangeSync(r.file, r.offset, r.length));
  }

  /** {@inheritDoc ReplicaClient.listFiles} */
  listFiles(level: number): Promise<LtxFileInfo[]> {
    return Promise.resolve().then(() => this.listFilesSync(level));
  }

  /** {@inheritDoc ReplicaClient.readRange} */
  readRange(
    file: LtxFileInfo,
    offset: number,
    length: number,
  ): Promise<Uint8Array> {
    return Promise.resolve().then(() =>
      this.readRangeSync(file, offset, length)
    );
  }

  /**
   * {@inheritDoc SyncReplicaClient.createFileSync}
   *
   * The bytes go to a temporary file, fsync'd, then hard-linked to the
   * file's name, which fails if the name exists: no writer ever replaces
   * another's file, and none is seen half-written. Temporary files a killed
   * writer left, over a minute old, are removed on the way.
   */
  createFileSync(file: LtxFileName, bytes: Uint8Array): void {
    const path = this.pathOf(file);
    const dir = path.slice(0, path.lastIndexOf("/"));
    const temp = `${dir}/.${crypto.randomUUID()}.tmp`;
    try {
      Deno.mkdirSync(dir, { recursive: true });
      removeStaleTemps(dir);
      const out = Deno.openSync(temp, { write: true, createNew: true });
      try {
        let done = 0;
        while (done < bytes.length) done += out.writeSync(bytes.subarray(done));
        out.syncSync();
      } finally {
        out.close();
      }
      Deno.linkSync(temp, path);
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) {
        throw new FileExistsError(
          `"${path}" exists: another writer made it first`,
          { cause: error },
        );
      }
      throw this.#storageError(`Cannot write "${path}"`, error);
    } finally {
      try {
        Deno.removeSync(temp);
      } catch {
        // Not made, or already gone.
      }
    }
  }

  /** {@inheritDoc ReplicaClient.createFile} */
  createFile(file: LtxFileName, bytes: Uint8Array): Promise<void> {
    return Promise.resolve().then(() => this.createFileSync(file, bytes));
  }

  /** Closes every open file handle; the client stays usable. */
  close(): void {
    for (const handle of this.#handles.values()) handle.close();
    this.#handles.clear();
  }

  #open(path: string): Deno.FsFile {
    let handle = this.#handles.get(path);
    if (handle !== undefined) {
      // Re-insert: the Map's order is the eviction order.
      this.#handles.delete(path);
      this.#handles.set(path, handle);
      return handle;
    }
    handle = Deno.openSync(path, { read: true });
    this.#handles.set(path, handle);
    if (this.#handles.size > MAX_OPEN_FILES) {
      const [oldest] = this.#handles.keys();
      this.#forget(oldest);
    }
    return handle;
  }

  #forget(path: string): void {
    this.#handles.get(path)?.close();
    this.#handles.delete(path);
  }

  #storageError(message: string, cause: unknown): StorageError {
    const reason = cause instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : cause instanceof Deno.errors.NotFound
      ? "not found (deleted by compaction or retention?)"
      : cause instanceof Error
      ? cause.message
      : String(cause);
    return new StorageError(`${message}: ${reason}`, {
      cause,
      // A vanished file is what a concurrent compaction looks like: listing
      // again finds its replacement.
      retryable: cause instanceof Deno.errors.NotFound,
    });
  }
}

/** Age after which a temporary file of createFileSync() is a killed writer's. */
const STALE_TEMP_MS = 60_000;

/** Removes the temporary files killed writers left in a level's folder. */
function removeStaleTemps(dir: string): void {
  const now = Date.now();
  for (const entry of Deno.readDirSync(dir)) {
    if (!/^\.[0-9a-f-]{36}\.tmp$/.test(entry.name)) continue;
    const path = `${dir}/${entry.name}`;
    try {
      const modified = Deno.statSync(path).mtime?.getTime() ?? now;
      if (now - modified > STALE_TEMP_MS) Deno.removeSync(path);
    } catch {
      // Another writer took it first.
    }
  }
}
