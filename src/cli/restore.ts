/**
 * `lsvfs restore <replica-url> <out.db>`: writes the database at the latest
 * TXID, or at `--at <time>`, to a plain SQLite file (rollback-journal mode),
 * fetching page frames in batches of range reads. It writes a temporary file
 * beside `out.db` and renames it at the end, so `out.db` is either absent or
 * whole; an existing `out.db` is kept unless `--force`.
 *
 * @module
 */

import { fetchPages } from "../engine/fetch_pages.ts";
import { PageIndex } from "../engine/page_index.ts";
import type { Replica } from "../engine/replica.ts";
import { formatTime } from "../engine/time_travel.ts";
import {
  CHECKSUM_FLAG,
  formatChecksum,
  formatTxid,
  lockPgno,
  pageChecksum,
} from "../ltx/mod.ts";
import type { LtxFileInfo } from "../storage/mod.ts";
import { type Command, UsageError } from "./command.ts";
import {
  openReplica,
  out,
  parseInspectArgs,
  planFor,
  Progress,
} from "./_inspect.ts";

/** What {@linkcode restoreTo} wrote. */
export interface Restored {
  /** The TXID of the state written. */
  txid: bigint;
  /** Its commit time, in ms. */
  time: number;
  /** Pages in the file. */
  pages: number;
  /** Page size. */
  pageSize: number;
  /** Bytes fetched. */
  fetched: number;
}

/**
 * Writes the state at the end of `plan` to an open file.
 *
 * @param replica The replica.
 * @param plan The restore plan.
 * @param file The file to write, empty.
 * @param onProgress Called after each run of pages.
 * @returns What was written.
 * @throws {Error} When a page is missing, a frame is corrupt, or the pages
 * do not sum to the last file's post-apply checksum.
 */
export function restoreTo(
  replica: Replica,
  plan: readonly LtxFileInfo[],
  file: Deno.FsFile,
  onProgress: (pages: number, of: number, fetched: number) => void,
): Restored {
  replica.prefetchMeta(plan);
  const index = new PageIndex();
  let pageCount = 0;
  for (const f of plan) {
    const meta = replica.meta(f);
    index.apply(f, meta.index);
    pageCount = meta.header.commit;
  }
  index.truncate(pageCount);
  const last = plan[plan.length - 1];
  const lastMeta = replica.meta(last);
  const pageSize = lastMeta.header.pageSize;
  const txid = last.maxTxid;
  const lock = lockPgno(pageSize);
  const pgnos: number[] = [];
  for (let pgno = 1; pgno <= pageCount; pgno++) {
    if (index.slotOf(pgno) !== 0) pgnos.push(pgno);
    else if (pgno !== lock) {
      throw new Error(
        `Page ${pgno} of "${replica.url}" at TXID ${
          formatTxid(txid)
        } is in none of its LTX files: the replica is incomplete (run lsvfs verify)`,
      );
    }
  }
  let sum = 0n;
  let done = 0;
  let fetched = 0;
  onProgress(0, pgnos.length, 0);
  for (
    const { first, count, pages, fetched: bytes } of fetchPages(
      replica,
      index,
      pgnos,
      pageSize,
    )
  ) {
    for (let i = 0; i < count; i++) {
      sum ^= pageChecksum(
        first + i,
        pages.subarray(i * pageSize, (i + 1) * pageSize),
      );
    }
    if (first === 1) {
      // A plain file in rollback-journal mode, not WAL.
      pages[18] = 1;
      pages[19] = 1;
    }
    file.seekSync((first - 1) * pageSize, Deno.SeekMode.Start);
    let written = 0;
    while (written < pages.length) {
      written += file.writeSync(pages.subarray(written));
    }
    done += count;
    fetched += bytes;
    onProgress(done, pgnos.length, fetched);
  }
  const expected = lastMeta.postApplyChecksum;
  const actual = pgnos.length === 0 ? 0n : sum | CHECKSUM_FLAG;
  if (expected !== 0n && actual !== expected) {
    throw new Error(
      `The restored pages of "${replica.url}" at TXID ${
        formatTxid(txid)
      } sum to ${formatChecksum(actual)}, but ${replica.describe(last)} says ${
        formatChecksum(expected)
      }: the replica is unsound (run lsvfs verify)`,
    );
  }
  // The lock page, if the database reaches it, stays a hole: zeros.
  file.truncateSync(pageCount * pageSize);
  file.syncSync();
  return {
    txid,
    time: replica.timestamp(last),
    pages: pageCount,
    pageSize,
    fetched,
  };
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** `lsvfs restore`. */
export const restoreCommand: Command = {
  name: "restore",
  synopsis:
    "  lsvfs restore <replica-url> <out.db> [--at <time>] [--force] [--json]",
  help: `lsvfs restore <replica-url> <out.db> [--at <time>] [--force] [--json]

  Writes the replica's latest state, or the newest state at or before --at,
  to <out.db>: a plain SQLite file (rollback-journal mode) that any SQLite
  opens. --at takes what litestream_set_time takes: RFC 3339, a relative
  time ("5 minutes ago") or LATEST. The file is written under a temporary
  name beside <out.db> and renamed when complete; an existing <out.db> is
  kept unless --force. Progress (pages done of total, MiB fetched) goes to
  standard error; --json: one JSON object a line, the last on stdout.

Examples:
  lsvfs restore s3://bucket/app app.db
  lsvfs restore file:///var/backups/app before.db --at "1 hour ago" --force
`,
  run(args) {
    const { positional, json, at, force } = parseInspectArgs(args, {
      name: "restore",
      expects: "a replica URL and an output file",
      count: 2,
      at: true,
      force: true,
    });
    const [url, path] = positional;
    if (!force && exists(path)) {
      throw new UsageError(
        `"${path}" exists: pass --force to overwrite it, or choose another path`,
      );
    }
    const replica = openReplica(url);
    const progress = new Progress(json);
    const temp = `${path}.lsvfs-restore-${Deno.pid}.tmp`;
    let file: Deno.FsFile | undefined;
    try {
      const plan = planFor(replica, replica.listAll(), at);
      file = Deno.openSync(temp, { write: true, createNew: true });
      const restored = restoreTo(replica, plan, file, (pages, of, fetched) => {
        const mib = Number((fetched / 1048576).toFixed(1));
        const percent = of === 0 ? 100 : Math.floor(pages / of * 100);
        progress.report(
          { pages, of, percent, mib_fetched: mib },
          `restore ${String(percent).padStart(3)}%  ${pages}/${of} pages  ${
            mib.toFixed(1)
          } MiB`,
          pages === of,
        );
      });
      file.close();
      file = undefined;
      Deno.renameSync(temp, path);
      progress.clear();
      const result = {
        path,
        txid: formatTxid(restored.txid),
        time: formatTime(restored.time),
        pages: restored.pages,
        page_size: restored.pageSize,
        bytes_fetched: restored.fetched,
      };
      out(
        json
          ? `${JSON.stringify(result)}\n`
          : `restored ${path} at TXID ${result.txid} (${result.time}): ${result.pages} pages of ${result.page_size} bytes\n`,
      );
      return Promise.resolve(0);
    } catch (error) {
      file?.close();
      try {
        Deno.removeSync(temp);
      } catch {
        // Not created, or already renamed.
      }
      throw error;
    } finally {
      progress.clear();
      replica.close();
    }
  },
};
