/**
 * Whole reads and writes at an offset of a local file, for the files the
 * engine keeps itself (hydration file, write buffer).
 *
 * @module
 */

/**
 * Reads exactly `out.length` bytes at `position`.
 *
 * @param file An open file.
 * @param position Where to read.
 * @param out Where the bytes go.
 * @throws {RangeError} When the file ends first.
 */
export function readAt(
  file: Deno.FsFile,
  position: number,
  out: Uint8Array,
): void {
  file.seekSync(position, Deno.SeekMode.Start);
  let done = 0;
  while (done < out.length) {
    const n = file.readSync(out.subarray(done));
    if (n === null || n === 0) {
      throw new RangeError(
        `the file ends at ${position + done} bytes, before ${
          position + out.length
        }`,
      );
    }
    done += n;
  }
}

/**
 * Writes all of `bytes` at `position`.
 *
 * @param file An open file.
 * @param position Where to write.
 * @param bytes What to write.
 */
export function writeAt(
  file: Deno.FsFile,
  position: number,
  bytes: Uint8Array,
): void {
  file.seekSync(position, Deno.SeekMode.Start);
  let done = 0;
  while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
}
