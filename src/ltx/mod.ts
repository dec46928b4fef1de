/**
 * The LTX v3 file format of Litestream and superfly/ltx: header, page frames
 * (LZ4 blocks with a size prefix, or legacy LZ4 frames), page index, trailer,
 * CRC-64/ISO checksums, and the replica layout's file names.
 *
 * Three ways to read a file: {@linkcode decodeFile} / {@linkcode decodeStream}
 * / {@linkcode Decoder} verify a whole file; {@linkcode indexTailLength} and
 * {@linkcode decodeTail} read the page index from the end of a remote file;
 * {@linkcode decodeFrame} decodes one page frame the index points to. Files
 * are written with {@linkcode encodeFile} or {@linkcode Encoder}. Every
 * problem with a file's content throws an {@linkcode LtxError} subclass
 * whose message names the file.
 *
 * @example Usage
 * ```ts
 * import {
 *   CHECKSUM_FLAG,
 *   databaseChecksum,
 *   decodeFile,
 *   encodeFile,
 *   type Header,
 *   ltxPath,
 *   TruncatedFileError,
 * } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const header: Header = {
 *   flags: 0, pageSize: 4096, commit: 2, minTxid: 1n, maxTxid: 1n,
 *   timestamp: Date.now(), preApplyChecksum: 0n, walOffset: 0n, walSize: 0n,
 *   walSalt1: 0, walSalt2: 0, nodeId: 0n,
 * };
 * const pages = [1, 2].map((pgno) => ({ pgno, data: new Uint8Array(4096).fill(pgno) }));
 * const postApplyChecksum = databaseChecksum(pages.map((p) => [p.pgno, p.data] as const), 4096);
 * const bytes = encodeFile({ header, pages, postApplyChecksum });
 *
 * const path = ltxPath(0, header.minTxid, header.maxTxid);
 * assert.equal(path, "ltx/0/0000000000000001-0000000000000001.ltx");
 *
 * const file = decodeFile(bytes, { file: path });
 * assert.deepEqual(file.pages, pages);
 * assert.equal(file.fileChecksum & CHECKSUM_FLAG, CHECKSUM_FLAG);
 * assert.throws(() => decodeFile(bytes.subarray(0, 40), { file: path }), TruncatedFileError);
 * ```
 *
 * @module
 */

export * from "./constants.ts";
export * from "./errors.ts";
export * from "./checksum.ts";
export * from "./lz4.ts";
export * from "./txid.ts";
export * from "./header.ts";
export * from "./page_header.ts";
export * from "./page_index.ts";
export * from "./trailer.ts";
export * from "./decoder.ts";
export * from "./encoder.ts";
