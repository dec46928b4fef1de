/**
 * `lsvfs info <replica-url>`: the figures of a replica: page size, database
 * size, latest TXID and its time, the oldest time time travel reaches, the
 * files and bytes of each level; and the health of a database opened on
 * it, as `PRAGMA litestream_status` reports it.
 *
 * @module
 */

import { open, type ReplicaStatus } from "../../mod.ts";
import { restorePlan } from "../engine/restore_plan.ts";
import { formatTime } from "../engine/time_travel.ts";
import { formatTxid, SNAPSHOT_LEVEL } from "../ltx/mod.ts";
import type { LtxFileInfo } from "../storage/mod.ts";
import type { Command } from "./command.ts";
import { formatResult } from "./format.ts";
import { formatBytes, openReplica, out, parseInspectArgs } from "./_inspect.ts";

/** What `info` reports. */
export interface ReplicaInfo {
  /** The replica URL, credentials removed. */
  url: string;
  /** Page size in bytes. */
  page_size: number;
  /** Database size in pages, at the latest TXID. */
  pages: number;
  /** Database size in bytes. */
  bytes: number;
  /** The latest TXID, 16 hex digits. */
  txid: string;
  /** Its commit time (RFC 3339). */
  time: string;
  /** The oldest state time travel reaches (RFC 3339), or null. */
  oldest_time: string | null;
  /** Files and bytes per level. */
  levels: { level: number; files: number; bytes: number }[];
  /** Files in all. */
  files: number;
  /** A database opened on the replica: `PRAGMA litestream_status`. */
  status: ReplicaStatus;
}

/**
 * The oldest state a single file gives (a snapshot or a file from TXID 1),
 * as time travel reaches it.
 */
function oldestStart(
  files: readonly LtxFileInfo[],
  timestampOf: (f: LtxFileInfo) => number,
): number | undefined {
  let oldest: number | undefined;
  for (const f of files) {
    if (f.level !== SNAPSHOT_LEVEL && f.minTxid > 1n) continue;
    const t = timestampOf(f);
    if (oldest === undefined || t < oldest) oldest = t;
  }
  return oldest;
}

function describePoll(status: ReplicaStatus): string {
  return status.poll === "failing"
    ? `failing (${status.pollFailures} in a row): ${status.pollError}`
    : status.poll;
}

function describeVerification(status: ReplicaStatus): string {
  const counts =
    `${status.verified} verified, ${status.bad} bad, ${status.pending} waiting`;
  const bad = status.badError === null ? "" : `: ${status.badError}`;
  return `${status.verification} (${counts})${bad}`;
}

/** `lsvfs info`. */
export const infoCommand: Command = {
  name: "info",
  synopsis: "  lsvfs info <replica-url> [--json]",
  help: `lsvfs info <replica-url> [--json]

  Shows the replica's page size, database size (pages and bytes), latest
  TXID and its commit time, the oldest time that time travel can reach
  (--at, litestream_set_time), and the files and bytes of each level. Then
  the health of a database opened on it (PRAGMA litestream_status): whether
  the replica can be polled, and how many of its files verification has
  checked (LSVFS_VERIFY; background for file:// replicas, off for remote
  ones; "lsvfs verify" checks every file now).

Examples:
  lsvfs info s3://bucket/app
  lsvfs info file:///var/backups/app --json | jq .txid
`,
  run(args) {
    const { positional, json } = parseInspectArgs(args, {
      name: "info",
      expects: "a replica URL",
      count: 1,
    });
    const replica = openReplica(positional[0]);
    try {
      const files = replica.listAll();
      const plan = restorePlan(files, { url: replica.url });
      using db = open(positional[0], { logLevel: "ERROR" });
      const last = plan[plan.length - 1];
      replica.prefetchHeaders(files);
      const header = replica.meta(last).header;
      const oldest = oldestStart(files, (f) => replica.timestamp(f));
      const levels = new Map<number, { files: number; bytes: number }>();
      for (const f of files) {
        const level = levels.get(f.level) ?? { files: 0, bytes: 0 };
        level.files++;
        level.bytes += f.size;
        levels.set(f.level, level);
      }
      const info: ReplicaInfo = {
        url: replica.url,
        page_size: header.pageSize,
        pages: header.commit,
        bytes: header.commit * header.pageSize,
        txid: formatTxid(last.maxTxid),
        time: formatTime(replica.timestamp(last)),
        oldest_time: oldest === undefined ? null : formatTime(oldest),
        levels: [...levels].sort((a, b) => a[0] - b[0]).map((
          [level, v],
        ) => ({ level, ...v })),
        files: files.length,
        status: db.status(),
      };
      if (json) {
        out(`${JSON.stringify(info, null, 2)}\n`);
        return Promise.resolve(0);
      }
      const lines = [
        ["replica", info.url],
        ["page size", `${info.page_size} B`],
        [
          "database",
          `${info.pages} pages, ${info.bytes} bytes (${
            formatBytes(info.bytes)
          })`,
        ],
        ["latest TXID", `${info.txid} at ${info.time}`],
        ["oldest time", info.oldest_time ?? "none"],
        ["files", String(info.files)],
        ["poll", describePoll(info.status)],
        ["checksums", describeVerification(info.status)],
      ];
      out(lines.map(([k, v]) => `${`${k}:`.padEnd(13)}${v}\n`).join(""));
      out(
        `\n${
          formatResult({
            columns: ["level", "files", "bytes"],
            rows: info.levels.map((l) => [l.level, l.files, l.bytes]),
          }, "table")
        }`,
      );
      return Promise.resolve(0);
    } finally {
      replica.close();
    }
  },
};
