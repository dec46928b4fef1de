/**
 * `lsvfs verify <replica-url>`: fetches every LTX file of a replica and
 * checks it whole (header, page frames, page index, trailer, file checksum,
 * a snapshot's post-apply checksum), then the TXID chain of the restore
 * plan: no gap, and each file's pre-apply checksum equal to the post-apply
 * checksum of the file before it where both are tracked. Exit status 0 when
 * sound, 1 when not, one line per problem naming the file.
 *
 * @module
 */

import { formatTxid, type LtxSummary } from "../ltx/mod.ts";
import { formatChecksum, SNAPSHOT_LEVEL } from "../ltx/mod.ts";
import type { LtxFileInfo } from "../storage/mod.ts";
import type { Replica } from "../engine/replica.ts";
import { restorePlan } from "../engine/restore_plan.ts";
import { FileCheck, verifyFile } from "../engine/verify_file.ts";
import type { Command } from "./command.ts";
import {
  formatBytes,
  openReplica,
  out,
  parseInspectArgs,
  Progress,
} from "./_inspect.ts";

/** Bytes fetched in one batch of reads; a larger file is read on its own, in chunks. */
const BATCH_BYTES = 8 * 1024 * 1024;
/** Files fetched in one batch at most. */
const BATCH_FILES = 64;

/** One problem `verify` found. */
export interface Problem {
  /** The file, as its replica URL and path. */
  file: string;
  /** What is wrong. */
  problem: string;
}

/**
 * Checks the TXID chain of the files that decoded: the plan from the newest
 * snapshot must reach every file, and consecutive files' checksums agree.
 *
 * @param replica The replica, for names.
 * @param files Every file listed.
 * @param summaries What decoded, by file.
 * @returns The problems.
 */
export function chainProblems(
  replica: Pick<Replica, "describe" | "url">,
  files: readonly LtxFileInfo[],
  summaries: ReadonlyMap<LtxFileInfo, LtxSummary>,
): Problem[] {
  const problems: Problem[] = [];
  const plan = restorePlan(files, { url: replica.url, upToGap: true });
  const end = plan.length === 0 ? 0n : plan[plan.length - 1].maxTxid;
  const beyond = files.filter((f) =>
    f.level !== SNAPSHOT_LEVEL && f.maxTxid > end
  ).sort((a, b) => Number(a.minTxid - b.minTxid));
  if (plan.length === 0 && files.length > 0) {
    const first = beyond[0] ?? files[0];
    problems.push({
      file: replica.describe(first),
      problem:
        `no snapshot or file from TXID 1 starts the chain: the first file starts at TXID ${
          formatTxid(first.minTxid)
        }`,
    });
  } else if (beyond.length > 0) {
    problems.push({
      file: replica.describe(beyond[0]),
      problem: `gap in the TXID chain: the files before it end at TXID ${
        formatTxid(end)
      } and it starts at TXID ${formatTxid(beyond[0].minTxid)}`,
    });
  }
  for (let i = 1; i < plan.length; i++) {
    const before = summaries.get(plan[i - 1]);
    const after = summaries.get(plan[i]);
    if (before === undefined || after === undefined) continue;
    if (plan[i].minTxid !== plan[i - 1].maxTxid + 1n) continue;
    const post = before.postApplyChecksum;
    const pre = after.header.preApplyChecksum;
    if (post !== 0n && pre !== 0n && post !== pre) {
      problems.push({
        file: replica.describe(plan[i]),
        problem: `pre-apply checksum ${formatChecksum(pre)} is not the ${
          formatChecksum(post)
        } the file before it (${replica.describe(plan[i - 1])}) ends with`,
      });
    }
  }
  return problems;
}

/** `lsvfs verify`. */
export const verifyCommand: Command = {
  name: "verify",
  synopsis: "  lsvfs verify <replica-url> [--json]",
  help: `lsvfs verify <replica-url> [--json]

  Fetches every LTX file of the replica and checks it whole: header, page
  frames, page index, trailer, file checksum and a snapshot's database
  checksum. Then checks the TXID chain of the restore plan: no gap, and each
  file's pre-apply checksum equal to the post-apply checksum of the one
  before it, where both are tracked. Progress (files and bytes) goes to
  standard error; one line per problem, naming the file, to standard output.
  --json: one JSON object a line ({"progress"}, {"file","problem"}, then
  {"ok","files","bytes","problems"}). Exit status 0 when the replica is
  sound, 1 when it is not.

Examples:
  lsvfs verify s3://bucket/app
  lsvfs verify file:///var/backups/app --json > report.jsonl || echo unsound
`,
  run(args) {
    const { positional, json } = parseInspectArgs(args, {
      name: "verify",
      expects: "a replica URL",
      count: 1,
    });
    const replica = openReplica(positional[0]);
    const progress = new Progress(json);
    try {
      const files = replica.listAll().sort((a, b) =>
        a.level - b.level || Number(a.minTxid - b.minTxid)
      );
      const totalBytes = files.reduce((n, f) => n + f.size, 0);
      const problems: Problem[] = [];
      const summaries = new Map<LtxFileInfo, LtxSummary>();
      const report = (done: number, bytes: number, final: boolean) => {
        const percent = totalBytes === 0
          ? 100
          : Math.floor(bytes / totalBytes * 100);
        const width = 20;
        const filled = Math.round(percent / 100 * width);
        progress.report(
          { files: done, of: files.length, bytes, of_bytes: totalBytes },
          `verify [${"#".repeat(filled)}${
            "-".repeat(width - filled)
          }] ${percent}%  ${done}/${files.length} files  ${
            formatBytes(bytes)
          }/${formatBytes(totalBytes)}`,
          final,
        );
      };
      let done = 0;
      let bytes = 0;
      const check = (file: LtxFileInfo, decode: () => LtxSummary) => {
        try {
          summaries.set(file, decode());
        } catch (error) {
          const message = error instanceof Error
            ? error.message
            : String(error);
          problems.push({ file: replica.describe(file), problem: message });
        }
        done++;
        bytes += file.size;
        report(done, bytes, false);
      };
      report(0, 0, false);
      for (let at = 0; at < files.length;) {
        // A large file streams through in chunks, never whole in memory.
        if (files[at].size > BATCH_BYTES) {
          const file = files[at++];
          check(file, () => verifyFile(replica, file));
          continue;
        }
        const batch: LtxFileInfo[] = [];
        let size = 0;
        while (
          at < files.length && batch.length < BATCH_FILES &&
          size + files[at].size <= BATCH_BYTES
        ) {
          size += files[at].size;
          batch.push(files[at++]);
        }
        const reads = replica.readRanges(
          batch.map((file) => ({ file, offset: 0, length: file.size })),
        );
        batch.forEach((file, i) =>
          check(file, () => {
            const whole = new FileCheck(file, replica.describe(file));
            whole.write(reads[i]);
            return whole.end();
          })
        );
      }
      report(done, bytes, true);
      problems.push(...chainProblems(replica, files, summaries));
      const ok = problems.length === 0;
      if (json) {
        for (const p of problems) out(`${JSON.stringify(p)}\n`);
        out(
          `${
            JSON.stringify({
              ok,
              files: files.length,
              bytes: totalBytes,
              problems: problems.length,
            })
          }\n`,
        );
      } else {
        for (const p of problems) out(`${p.file}: ${p.problem}\n`);
        out(
          ok
            ? `ok: ${files.length} files, ${
              formatBytes(totalBytes)
            } verified, TXID chain sound\n`
            : `unsound: ${problems.length} problem(s) in ${files.length} files\n`,
        );
      }
      return Promise.resolve(ok ? 0 : 1);
    } finally {
      progress.clear();
      replica.close();
    }
  },
};
