/**
 * Writes a replica with our LTX encoder from successive states of a plain
 * SQLite file: each {@linkcode ReplicaWriter.commit} stores the pages that
 * changed as the next level-0 file, as Litestream would after a transaction.
 * Used by the demo and by tests that need replicas Litestream's extension
 * cannot make (snapshots, compacted levels, chosen timestamps).
 *
 * @module
 */

import {
  databaseChecksum,
  encodeFile,
  type Header,
  HEADER_FLAG_NO_CHECKSUM,
  lockPgno,
  ltxDir,
  ltxPath,
  SNAPSHOT_LEVEL,
} from "../src/ltx/mod.ts";

/** Options of {@linkcode ReplicaWriter.commit} and {@linkcode ReplicaWriter.compact}. */
export interface CommitOptions {
  /** Header timestamp, ms since the epoch; now by default. */
  timestamp?: number;
}

/** A page list keyed by page number. */
type Pages = Map<number, Uint8Array>;

/** Builds a replica directory from database states. */
export class ReplicaWriter {
  /** The replica's root directory. */
  readonly root: string;
  /** The database page size. */
  readonly pageSize: number;
  #pages: Pages = new Map();
  #txid = 0n;
  /** Every state committed, by TXID, for compaction. */
  #history: { txid: bigint; changed: Pages; commit: number }[] = [];

  /**
   * @param root The replica directory (created as needed).
   * @param pageSize The database page size.
   */
  constructor(root: string, pageSize: number) {
    this.root = root;
    this.pageSize = pageSize;
  }

  /** The TXID of the last commit. */
  get txid(): bigint {
    return this.#txid;
  }

  /**
   * Stores the difference between the last state and `database` as the next
   * level-0 file.
   *
   * @param database The whole database file after the transaction.
   * @param options Header timestamp.
   * @returns The new TXID.
   */
  commit(database: Uint8Array, options: CommitOptions = {}): bigint {
    const next = splitPages(database, this.pageSize);
    const changed: Pages = new Map();
    for (const [pgno, page] of next) {
      const old = this.#pages.get(pgno);
      if (old === undefined || !equalBytes(old, page)) changed.set(pgno, page);
    }
    const pre = this.#txid === 0n ? 0n : this.#checksum();
    this.#pages = next;
    this.#txid++;
    this.#history.push({ txid: this.#txid, changed, commit: next.size });
    this.#write(0, this.#txid, this.#txid, changed, pre, options);
    return this.#txid;
  }

  /**
   * Writes one file at `level` covering TXIDs `min..max` of the history: the
   * newest version of every page changed in that range, as Litestream's
   * compaction does (level 9 makes a snapshot of the whole database at `max`).
   *
   * @param level The level, 1..9.
   * @param min The first TXID covered (1 for a snapshot).
   * @param max The last TXID covered.
   * @param options Header timestamp.
   */
  compact(
    level: number,
    min: bigint,
    max: bigint,
    options: CommitOptions = {},
  ): void {
    const pages: Pages = new Map();
    let commit = 0;
    for (const state of this.#history) {
      if (state.txid > max) break;
      if (state.txid < min && level !== SNAPSHOT_LEVEL) continue;
      for (const [pgno, page] of state.changed) pages.set(pgno, page);
      commit = state.commit;
    }
    for (const pgno of [...pages.keys()]) {
      if (pgno > commit) pages.delete(pgno);
    }
    this.#write(
      level,
      level === SNAPSHOT_LEVEL ? 1n : min,
      max,
      pages,
      0n,
      options,
      commit,
    );
  }

  #checksum(): bigint {
    return databaseChecksum(this.#pages.entries(), this.pageSize);
  }

  #write(
    level: number,
    minTxid: bigint,
    maxTxid: bigint,
    pages: Pages,
    preApplyChecksum: bigint,
    options: CommitOptions,
    commit = this.#pages.size,
  ): void {
    // Compacted files carry no database checksums: the writer does not
    // rebuild the states they span (the header flag says so).
    const flags = level === 0 ? 0 : HEADER_FLAG_NO_CHECKSUM;
    const header: Header = {
      flags,
      pageSize: this.pageSize,
      commit,
      minTxid,
      maxTxid,
      timestamp: options.timestamp ?? Date.now(),
      preApplyChecksum: flags === 0 && minTxid !== 1n ? preApplyChecksum : 0n,
      walOffset: 0n,
      walSize: 0n,
      walSalt1: 0,
      walSalt2: 0,
      nodeId: 0n,
    };
    const lock = lockPgno(this.pageSize);
    const sorted = [...pages.keys()].filter((p) => p !== lock).sort((a, b) =>
      a - b
    );
    const bytes = encodeFile({
      header,
      pages: sorted.map((pgno) => ({ pgno, data: pages.get(pgno)! })),
      postApplyChecksum: flags === 0 ? this.#checksum() : 0n,
    });
    Deno.mkdirSync(`${this.root}/${ltxDir(level)}`, { recursive: true });
    Deno.writeFileSync(
      `${this.root}/${ltxPath(level, minTxid, maxTxid)}`,
      bytes,
    );
  }
}

function splitPages(database: Uint8Array, pageSize: number): Pages {
  const pages: Pages = new Map();
  for (let offset = 0; offset < database.length; offset += pageSize) {
    pages.set(offset / pageSize + 1, database.slice(offset, offset + pageSize));
  }
  return pages;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
