/**
 * Listing a replica whose files may lie in more than one place, and
 * reading a level's LTX files out of a listing.
 *
 * Litestream has laid levels out two ways on object storage: under
 * `ltx/<level>/` (its `LTXLevelDir`, as on every other backend) and, in
 * its OSS client and in S3 releases such as v0.5.17, under
 * `<level as 4 hex digits>/`; an SFTP path may be absolute or relative to
 * the home directory. A {@linkcode LayoutListing} lists every candidate
 * place until files turn up in one, and again once a minute; in between,
 * only the places files were found in. It remembers where each file lies.
 *
 * @module
 */

import { ltxPath, parseFileName } from "../ltx/mod.ts";
import type { LtxFileInfo, LtxFileName } from "./replica_client.ts";

/** A level's folder in a layout, with its trailing slash. */
export type Layout = (level: number) => string;

/** Litestream's `LTXLevelDir` layout: `ltx/<level>/`. */
export const LTX_LAYOUT: Layout = (level) => `ltx/${level}/`;

/** The layout of Litestream's OSS client (and some S3 releases): `<level as 4 hex digits>/`. */
export const HEX_LAYOUT: Layout = (level) =>
  `${level.toString(16).padStart(4, "0")}/`;

/** How often every candidate is listed again, once one has files, in ms. */
export const LAYOUT_PROBE_MS = 60_000;

/**
 * Orders LTX files by their first transaction ID, as listings return them.
 *
 * @param a A file.
 * @param b Another.
 * @returns Negative, zero or positive, as for `Array.prototype.sort`.
 *
 * @example
 * ```ts
 * import { byMinTxid } from "./_layouts.ts";
 * import assert from "node:assert/strict";
 * const files = [{ minTxid: 3n }, { minTxid: 1n }].sort(byMinTxid);
 * assert.deepEqual(files.map((f) => f.minTxid), [1n, 3n]);
 * ```
 */
export function byMinTxid(
  a: { minTxid: bigint },
  b: { minTxid: bigint },
): number {
  return a.minTxid < b.minTxid ? -1 : a.minTxid > b.minTxid ? 1 : 0;
}

/**
 * The transaction IDs of an LTX file a listing names, when it lies right
 * under the prefix.
 *
 * @param prefix The level's prefix, with its trailing slash.
 * @param key A listed key.
 * @returns The IDs, or undefined for another prefix, a deeper key or a
 * name that is not an LTX file's.
 *
 * @example
 * ```ts
 * import { ltxNameUnder } from "./_layouts.ts";
 * import assert from "node:assert/strict";
 * const key = "db/ltx/0/0000000000000001-0000000000000002.ltx";
 * assert.deepEqual(ltxNameUnder("db/ltx/0/", key), { minTxid: 1n, maxTxid: 2n });
 * assert.equal(ltxNameUnder("db/ltx/1/", key), undefined);
 * ```
 */
export function ltxNameUnder(
  prefix: string,
  key: string,
): { minTxid: bigint; maxTxid: bigint } | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const name = key.slice(prefix.length);
  if (name.includes("/")) return undefined;
  return parseFileName(name);
}

/** A listed file and where it lies (its key or path). */
export interface Placed {
  /** The file. */
  file: LtxFileInfo;
  /** Its key or path. */
  where: string;
}

/**
 * The listing of a replica over candidate places (layouts, directories),
 * with where each file lies.
 *
 * @example List two layouts; the second has the files
 * ```ts
 * import { LayoutListing } from "./_layouts.ts";
 * import assert from "node:assert/strict";
 * const listing = new LayoutListing(2);
 * const file = { level: 0, minTxid: 1n, maxTxid: 1n, size: 9, createdAt: 0 };
 * const files = await listing.list(async (i) =>
 *   i === 1 ? [{ file, where: "0000/x.ltx" }] : []
 * );
 * assert.equal(files.length, 1);
 * assert.equal(listing.where(file), "0000/x.ltx");
 * assert.equal(listing.writeCandidate, 1);
 * ```
 */
export class LayoutListing {
  /** How many candidates there are. */
  readonly candidates: number;
  #probeMs: number;
  /** Indexes of the candidates files were found in. */
  #seen = new Set<number>();
  /** When to list every candidate again. */
  #probeAt = 0;
  /** Where each file lies, by its `ltx/` path. */
  #where = new Map<string, string>();

  /**
   * @param candidates How many places there are, in order of preference.
   * @param probeMs How often to list them all again, in ms.
   */
  constructor(candidates: number, probeMs: number = LAYOUT_PROBE_MS) {
    this.candidates = candidates;
    this.#probeMs = probeMs;
  }

  /**
   * Lists a level: every candidate while none has files or when a probe
   * is due, else only those that had files; all at once. A file found in
   * two places is taken from the first.
   *
   * @param listOne Lists one candidate (by index).
   * @returns The files, by first transaction ID.
   */
  async list(
    listOne: (candidate: number) => Promise<Placed[]>,
  ): Promise<LtxFileInfo[]> {
    const now = Date.now();
    const probe = this.#seen.size === 0 || now >= this.#probeAt;
    const chosen = Array.from({ length: this.candidates }, (_, i) => i)
      .filter((i) => probe || this.#seen.has(i));
    const listed = await Promise.all(chosen.map(listOne));
    const files = new Map<string, LtxFileInfo>();
    for (const [i, found] of listed.entries()) {
      if (found.length > 0) {
        this.#seen.add(chosen[i]);
        if (probe) this.#probeAt = now + this.#probeMs;
      }
      for (const { file, where } of found) {
        const name = ltxPath(file.level, file.minTxid, file.maxTxid);
        if (files.has(name)) continue;
        files.set(name, file);
        this.#where.set(name, where);
      }
    }
    return [...files.values()].sort(byMinTxid);
  }

  /**
   * Where new files go: the first candidate, unless files were found
   * elsewhere only.
   */
  get writeCandidate(): number {
    if (this.#seen.size === 0 || this.#seen.has(0)) return 0;
    return Math.min(...this.#seen);
  }

  /**
   * Where a listed (or placed) file lies.
   *
   * @param file The file.
   * @returns Its key or path, or undefined when not listed.
   */
  where(file: LtxFileName): string | undefined {
    return this.#where.get(ltxPath(file.level, file.minTxid, file.maxTxid));
  }

  /**
   * Records where a file lies (one just written).
   *
   * @param file The file.
   * @param where Its key or path.
   * @param candidate The candidate it lies in, to count as having files.
   */
  place(file: LtxFileName, where: string, candidate?: number): void {
    this.#where.set(ltxPath(file.level, file.minTxid, file.maxTxid), where);
    if (candidate !== undefined) this.#seen.add(candidate);
  }
}
