/**
 * `lsvfs ls <replica-url>`: the replica's LTX files level by level, then the
 * restore plan for now or for `--at <time>`.
 *
 * @module
 */

import { formatTime } from "../engine/time_travel.ts";
import { formatTxid } from "../ltx/mod.ts";
import type { LtxFileInfo } from "../storage/mod.ts";
import type { Command } from "./command.ts";
import { formatResult } from "./format.ts";
import {
  formatBytes,
  isLatest,
  openReplica,
  out,
  parseInspectArgs,
  planFor,
  txidRange,
} from "./_inspect.ts";

/** `lsvfs ls`. */
export const lsCommand: Command = {
  name: "ls",
  synopsis: "  lsvfs ls <replica-url> [--at <time>] [--json]",
  help: `lsvfs ls <replica-url> [--at <time>] [--json]

  Lists the replica's LTX files by level (TXID range, size, the commit time
  in the file's header), then the restore plan: the files that, applied in
  order, give the latest state, or the newest state at or before --at. --at
  takes what litestream_set_time takes: RFC 3339 ("2024-01-15T10:30:00Z"),
  a relative time ("5 minutes ago", "yesterday") or LATEST. --json prints
  one JSON object: {"url", "files": [...], "plan": {...}}.

Examples:
  lsvfs ls s3://bucket/app
  lsvfs ls file:///var/backups/app --at "2 hours ago"
  lsvfs ls /var/backups/app --json | jq '.plan.txid'
`,
  run(args) {
    const { positional, json, at } = parseInspectArgs(args, {
      name: "ls",
      expects: "a replica URL",
      count: 1,
      at: true,
    });
    const replica = openReplica(positional[0]);
    try {
      const files = replica.listAll().sort((a, b) =>
        a.level - b.level || Number(a.minTxid - b.minTxid)
      );
      replica.prefetchHeaders(files);
      const row = (f: LtxFileInfo) => ({
        level: f.level,
        min_txid: formatTxid(f.minTxid),
        max_txid: formatTxid(f.maxTxid),
        size: f.size,
        time: formatTime(replica.timestamp(f)),
        path: replica.describe(f),
      });
      const plan = planFor(replica, files, at);
      const last = plan[plan.length - 1];
      const planned = {
        at: isLatest(at) ? "LATEST" : at,
        txid: formatTxid(last.maxTxid),
        time: formatTime(replica.timestamp(last)),
        files: plan.map(row),
      };
      if (json) {
        out(
          `${
            JSON.stringify(
              { url: replica.url, files: files.map(row), plan: planned },
              null,
              2,
            )
          }\n`,
        );
        return Promise.resolve(0);
      }
      const table = (list: LtxFileInfo[]) =>
        formatResult({
          columns: ["level", "txids", "size", "time"],
          rows: list.map((f) => [
            f.level,
            txidRange(f),
            formatBytes(f.size),
            formatTime(replica.timestamp(f)),
          ]),
        }, "table");
      out(`LTX files of ${replica.url} (${files.length}):\n${table(files)}\n`);
      out(
        `Restore plan for ${planned.at}: TXID ${planned.txid} at ${planned.time}, ${plan.length} file(s):\n${
          table(plan)
        }`,
      );
      return Promise.resolve(0);
    } finally {
      replica.close();
    }
  },
};
