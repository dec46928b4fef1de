/**
 * The local map: what the engine tells the shim about pages it can read
 * from local disk itself, without a call into the engine (ARCHITECTURE.md,
 * "The fast path"). Two kinds:
 *
 * - a whole FILE that holds the database as a plain SQLite file (the
 *   hydration file): every page but page 1 is read in place with `pread`;
 * - a FRAME MAP: for each page, the local LTX file, offset and size of its
 *   frame (a `file://` replica's own files), which the shim reads and
 *   decodes in C. Pages not in the map (page 1, which the engine patches,
 *   the lock page, pages whose frames are not local) go to the engine.
 *
 * Encoded the same way for both ports, little-endian:
 *
 * ```
 * u8 kind                                  1 = file, 2 = frame map
 * kind 1: u32 n, n bytes                   the file's path (UTF-8)
 * kind 2: u32 nFiles, nFiles x (u32 n, n bytes)     the LTX files' paths
 *         u32 nPages, nPages x 16 bytes:            page 1 first
 *           u32 file (1-based; 0: not local), u32 frame size, u64 offset
 * ```
 *
 * 16 bytes a page: the map of a 1 GiB database of 4 KiB pages takes 4 MiB.
 *
 * @module
 */

/** The kinds of local map. */
export const LOCAL_FILE = 1;
export const LOCAL_FRAMES = 2;

/** Bytes of one frame-map entry. */
export const FRAME_ENTRY_SIZE = 16;

/** A database held whole in one local file, page-aligned. */
export interface LocalFile {
  readonly kind: typeof LOCAL_FILE;
  /** The file's path. */
  readonly path: string;
}

/** Where pages' frames lie in local LTX files. */
export interface LocalFrames {
  readonly kind: typeof LOCAL_FRAMES;
  /** The LTX files' paths; entry `file` n names `paths[n - 1]`. */
  readonly paths: readonly string[];
  /** Page count of the map; pages past it are not local. */
  readonly pages: number;
  /** For page `pgno`: its file (0: not local), frame offset and size. */
  entry(pgno: number): { file: number; offset: number; size: number };
}

/** What is local for one read transaction. */
export type LocalMap = LocalFile | LocalFrames;

/**
 * Encodes a local map for the shim.
 *
 * @param map The map.
 * @returns Its bytes, in the layout of this module's documentation.
 *
 * @example A frame map of two pages, page 2 local
 * ```ts
 * import { encodeLocalMap, LOCAL_FRAMES } from "./local_map.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeLocalMap({
 *   kind: LOCAL_FRAMES,
 *   paths: ["/r/a.ltx"],
 *   pages: 2,
 *   entry: (pgno) =>
 *     pgno === 2 ? { file: 1, offset: 100, size: 60 } : { file: 0, offset: 0, size: 0 },
 * });
 * assert.equal(bytes.length, 1 + 4 + 4 + 8 + 4 + 2 * 16);
 * ```
 */
export function encodeLocalMap(map: LocalMap): Uint8Array {
  const encoder = new TextEncoder();
  if (map.kind === LOCAL_FILE) {
    const path = encoder.encode(map.path);
    const out = new Uint8Array(1 + 4 + path.length);
    const view = new DataView(out.buffer);
    out[0] = LOCAL_FILE;
    view.setUint32(1, path.length, true);
    out.set(path, 5);
    return out;
  }
  const paths = map.paths.map((p) => encoder.encode(p));
  const size = 1 + 4 + paths.reduce((n, p) => n + 4 + p.length, 0) + 4 +
    map.pages * FRAME_ENTRY_SIZE;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = LOCAL_FRAMES;
  view.setUint32(1, paths.length, true);
  let at = 5;
  for (const path of paths) {
    view.setUint32(at, path.length, true);
    out.set(path, at + 4);
    at += 4 + path.length;
  }
  view.setUint32(at, map.pages, true);
  at += 4;
  for (let pgno = 1; pgno <= map.pages; pgno++, at += FRAME_ENTRY_SIZE) {
    const { file, offset, size } = map.entry(pgno);
    if (file === 0) continue;
    view.setUint32(at, file, true);
    view.setUint32(at + 4, size, true);
    view.setBigUint64(at + 8, BigInt(offset), true);
  }
  return out;
}
