/**
 * Checking one LTX file whole: its bytes stream through the LTX
 * {@linkcode Decoder}, which checks every section and the file checksum,
 * and its header must name the TXIDs its file name says. `lsvfs verify`,
 * the verification worker and strict verification all check files this way.
 *
 * @module
 */

import { Decoder, formatTxid, LtxError, type LtxSummary } from "../ltx/mod.ts";
import type { LtxFileInfo, LtxFileName } from "../storage/mod.ts";
import type { Replica } from "./replica.ts";

/** What the log says of a file that fails verification. */
export const FAILED_MESSAGE =
  "LTX file failed verification: its pages are not served";

/** How much of a file is read at a time: the whole file is never held. */
export const VERIFY_CHUNK_BYTES = 1024 * 1024;

/** An LTX file whose header names other TXIDs than its file name. */
export class MisnamedFileError extends LtxError {
  /**
   * @param file The file's name, for the message.
   * @param detail What does not match.
   */
  constructor(file: string, detail: string) {
    super(file, `LTX file "${file}" is misnamed: ${detail}`);
    this.name = "MisnamedFileError";
  }
}

/**
 * Checks a file's bytes as they pass, in chunks of any size.
 *
 * @example Check a file in two chunks
 * ```ts
 * import { FileCheck } from "./verify_file.ts";
 * import { encodeFile, type Header } from "../ltx/mod.ts";
 * import assert from "node:assert/strict";
 *
 * const header: Header = {
 *   flags: 0x2, pageSize: 512, commit: 1, minTxid: 1n, maxTxid: 1n,
 *   timestamp: 0, preApplyChecksum: 0n, walOffset: 0n, walSize: 0n,
 *   walSalt1: 0, walSalt2: 0, nodeId: 0n,
 * };
 * const bytes = encodeFile({
 *   header,
 *   pages: [{ pgno: 1, data: new Uint8Array(512) }],
 *   postApplyChecksum: 0n,
 * });
 * const check = new FileCheck({ level: 0, minTxid: 1n, maxTxid: 1n }, "a.ltx");
 * check.write(bytes.subarray(0, 100));
 * check.write(bytes.subarray(100));
 * assert.equal(check.end().header.commit, 1);
 * ```
 */
export class FileCheck {
  #decoder: Decoder;
  #file: LtxFileName;
  #name: string;

  /**
   * @param file The file as its name gives it.
   * @param name Its name in messages (replica URL and path).
   */
  constructor(file: LtxFileName, name: string) {
    this.#decoder = new Decoder({ file: name });
    this.#file = file;
    this.#name = name;
  }

  /**
   * Feeds the next bytes of the file.
   *
   * @param chunk The bytes, in order.
   * @throws {LtxError} At the first problem found.
   */
  write(chunk: Uint8Array): void {
    this.#decoder.write(chunk);
  }

  /**
   * Ends the check: the file must be complete and sound.
   *
   * @returns What the file says apart from its pages.
   * @throws {LtxError} When it is not.
   */
  end(): LtxSummary {
    const summary = this.#decoder.end();
    const { minTxid, maxTxid } = summary.header;
    if (minTxid !== this.#file.minTxid || maxTxid !== this.#file.maxTxid) {
      throw new MisnamedFileError(
        this.#name,
        `its header says TXIDs ${formatTxid(minTxid)}-${
          formatTxid(maxTxid)
        }, its name ${formatTxid(this.#file.minTxid)}-${
          formatTxid(this.#file.maxTxid)
        }`,
      );
    }
    return summary;
  }
}

/**
 * Reads a whole file from a replica, a chunk at a time, and checks it.
 *
 * @param replica The replica.
 * @param file The file.
 * @param afterChunk Called after each chunk, with the ms it took to read
 * and check (a background check pauses there).
 * @returns What the file says apart from its pages.
 * @throws {LtxError} When the file is not sound.
 * @throws {StorageError} When it cannot be read.
 */
export function verifyFile(
  replica: Pick<Replica, "readRange" | "describe">,
  file: LtxFileInfo,
  afterChunk?: (busyMs: number) => void,
): LtxSummary {
  const check = new FileCheck(file, replica.describe(file));
  const chunk = new Uint8Array(Math.min(file.size, VERIFY_CHUNK_BYTES));
  for (let at = 0; at < file.size; at += chunk.length) {
    const started = performance.now();
    const length = Math.min(chunk.length, file.size - at);
    check.write(replica.readRange(file, at, length, chunk));
    afterChunk?.(performance.now() - started);
  }
  return check.end();
}
