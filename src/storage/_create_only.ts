/**
 * Create-only writes and their one ambiguity: a write refused because the
 * name exists may have been refused because of the write itself (a retry
 * of an attempt whose answer was lost). The object is read back: the same
 * bytes count as written; anything else is another writer's file.
 *
 * @module
 */

import { FileExistsError } from "./errors.ts";

/**
 * Whether two byte strings are equal: same length, same bytes.
 *
 * @param a One.
 * @param b The other.
 * @returns True when equal.
 *
 * @example
 * ```ts
 * import { sameBytes } from "./_create_only.ts";
 * import assert from "node:assert/strict";
 * assert.equal(sameBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
 * assert.equal(sameBytes(new Uint8Array([1, 2]), new Uint8Array([1])), false);
 * ```
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * After a create-only write found its name taken: reads the object back,
 * and returns when it holds `bytes`; a failed read or other bytes mean
 * another writer made it.
 *
 * @param bytes What the write wrote.
 * @param readBack Reads the object that is there.
 * @param exists The error to throw when it is not the same.
 * @throws {FileExistsError} When the object holds other bytes or cannot be read.
 *
 * @example
 * ```ts
 * import { confirmWritten } from "./_create_only.ts";
 * import { FileExistsError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const bytes = new Uint8Array([1, 2, 3]);
 * await confirmWritten(bytes, async () => bytes.slice(), () => new FileExistsError("taken"));
 * await assert.rejects(
 *   confirmWritten(bytes, async () => new Uint8Array(3), () => new FileExistsError("taken")),
 *   FileExistsError,
 * );
 * ```
 */
export async function confirmWritten(
  bytes: Uint8Array,
  readBack: () => Promise<Uint8Array>,
  exists: () => FileExistsError,
): Promise<void> {
  const there = await readBack().catch(() => undefined);
  if (there === undefined || !sameBytes(there, bytes)) throw exists();
}

/** What {@linkcode createOnly} needs of a backend. */
export interface CreateOnlyWrite {
  /** The create-only write, retried as the backend retries. */
  write: () => Promise<unknown>;
  /** Whether what the write threw says the name exists. */
  isConflict: (error: unknown) => boolean;
  /** Reads the object that is there (the same length as the bytes written). */
  readBack: () => Promise<Uint8Array>;
  /** The message of the {@linkcode FileExistsError} of a conflict. */
  message: string;
}

/**
 * Writes an object that must not exist yet: a conflict is a
 * {@linkcode FileExistsError} (with the write's error as its cause),
 * unless the object there holds the same bytes (see
 * {@linkcode confirmWritten}).
 *
 * @param bytes The object's bytes.
 * @param how The write, how a conflict looks, the read back, the message.
 * @throws {FileExistsError} When another writer made the object first.
 *
 * @example A conflict with the same bytes counts as written
 * ```ts
 * import { createOnly } from "./_create_only.ts";
 * const bytes = new Uint8Array([1, 2, 3]);
 * await createOnly(bytes, {
 *   write: () => Promise.reject(new Error("412")),
 *   isConflict: (e) => (e as Error).message === "412",
 *   readBack: async () => bytes.slice(),
 *   message: '"x" exists: another writer made it first',
 * });
 * ```
 */
export async function createOnly(
  bytes: Uint8Array,
  how: CreateOnlyWrite,
): Promise<void> {
  try {
    await how.write();
  } catch (error) {
    if (!how.isConflict(error)) throw error;
    await confirmWritten(
      bytes,
      how.readBack,
      () => new FileExistsError(how.message, { cause: error }),
    );
  }
}
