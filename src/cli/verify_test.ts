import assert from "node:assert/strict";
import type { Header, LtxSummary } from "../ltx/mod.ts";
import type { LtxFileInfo } from "../storage/mod.ts";
import { chainProblems } from "./verify.ts";

const file = (level: number, min: bigint, max: bigint): LtxFileInfo => ({
  level,
  minTxid: min,
  maxTxid: max,
  size: 0,
  createdAt: 0,
});
const replica = {
  url: "file:///r",
  describe: (f: LtxFileInfo) =>
    `file:///r/${f.level}/${f.minTxid}-${f.maxTxid}`,
};
const summary = (pre: bigint, post: bigint): LtxSummary => ({
  header: { preApplyChecksum: pre } as Header,
  index: [],
  postApplyChecksum: post,
  fileChecksum: 0n,
});

Deno.test("chainProblems() finds nothing wrong in a sound chain", () => {
  const files = [file(9, 1n, 2n), file(0, 3n, 3n), file(0, 4n, 4n)];
  const summaries = new Map([
    [files[0], summary(0n, 10n)],
    [files[1], summary(10n, 11n)],
    [files[2], summary(11n, 12n)],
  ]);
  assert.deepEqual(chainProblems(replica, files, summaries), []);
});

Deno.test("chainProblems() names the file after a gap", () => {
  const files = [file(0, 1n, 1n), file(0, 3n, 3n), file(0, 4n, 4n)];
  const problems = chainProblems(replica, files, new Map());
  assert.equal(problems.length, 1);
  assert.equal(problems[0].file, "file:///r/0/3-3");
  assert.match(problems[0].problem, /gap in the TXID chain/);
});

Deno.test("chainProblems() reports a chain with no start", () => {
  const problems = chainProblems(replica, [file(0, 2n, 2n)], new Map());
  assert.equal(problems[0].file, "file:///r/0/2-2");
  assert.match(problems[0].problem, /starts the chain/);
});

Deno.test("chainProblems() catches a pre-apply checksum that does not follow", () => {
  const files = [file(0, 1n, 1n), file(0, 2n, 2n)];
  const summaries = new Map([
    [files[0], summary(0n, 10n)],
    [files[1], summary(99n, 11n)],
  ]);
  const problems = chainProblems(replica, files, summaries);
  assert.equal(problems.length, 1);
  assert.equal(problems[0].file, "file:///r/0/2-2");
  assert.match(problems[0].problem, /pre-apply checksum/);
  // Untracked (zero) checksums are not compared.
  summaries.set(files[1], summary(0n, 11n));
  assert.deepEqual(chainProblems(replica, files, summaries), []);
});
