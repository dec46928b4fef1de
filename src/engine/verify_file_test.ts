import assert from "node:assert/strict";
import {
  ChecksumMismatchError,
  encodeFile,
  type Header,
  TruncatedFileError,
} from "../ltx/mod.ts";
import { makeHeader } from "../ltx/_test_util.ts";
import type { LtxFileInfo } from "../storage/mod.ts";
import {
  MisnamedFileError,
  VERIFY_CHUNK_BYTES,
  verifyFile,
} from "./verify_file.ts";

const HEADER: Header = makeHeader({ flags: 0x2, commit: 2000, timestamp: 0 });

/** A snapshot larger than one read chunk, and a replica reading from memory. */
function replicaOf(bytes: Uint8Array, name = { minTxid: 1n, maxTxid: 1n }) {
  const file: LtxFileInfo = {
    level: 9,
    ...name,
    size: bytes.length,
    createdAt: 0,
  };
  const reads: number[] = [];
  const replica = {
    describe: () => "mem://r/snapshot.ltx",
    readRange(_f: LtxFileInfo, offset: number, length: number) {
      reads.push(length);
      return bytes.slice(offset, offset + length);
    },
  };
  return { file, replica, reads };
}

function snapshot(): Uint8Array {
  const pages = Array.from({ length: HEADER.commit }, (_, i) => ({
    pgno: i + 1,
    data: crypto.getRandomValues(new Uint8Array(4096)),
  }));
  return encodeFile({ header: HEADER, pages, postApplyChecksum: 0n });
}

const BYTES = snapshot();

Deno.test("verifyFile() reads a file in chunks and checks it whole", () => {
  assert.ok(BYTES.length > VERIFY_CHUNK_BYTES);
  const { file, replica, reads } = replicaOf(BYTES);
  assert.equal(verifyFile(replica, file).header.commit, HEADER.commit);
  assert.ok(reads.length >= 2);
  assert.ok(reads.every((n) => n <= VERIFY_CHUNK_BYTES));
});

Deno.test("verifyFile() finds a flipped byte, a truncated file and a wrong name", () => {
  const flipped = BYTES.slice();
  flipped[BYTES.length >> 1] ^= 1;
  const a = replicaOf(flipped);
  assert.throws(() => verifyFile(a.replica, a.file), ChecksumMismatchError);
  const b = replicaOf(BYTES.subarray(0, BYTES.length - 100));
  assert.throws(() => verifyFile(b.replica, b.file), TruncatedFileError);
  const c = replicaOf(BYTES, { minTxid: 1n, maxTxid: 2n });
  assert.throws(
    () => verifyFile(c.replica, c.file),
    (error: unknown) => {
      assert.ok(error instanceof MisnamedFileError);
      assert.match(
        error.message,
        /its header says TXIDs 0+1-0+1, its name 0+1-0+2/,
      );
      return true;
    },
  );
});
