import assert from "node:assert/strict";
import { confirmWritten, createOnly, sameBytes } from "./_create_only.ts";
import { FileExistsError, StorageError } from "./errors.ts";

const BYTES = new Uint8Array([1, 2, 3, 4]);
const conflict = new StorageError("HTTP 412", { cause: { status: 412 } });
const isConflict = (e: unknown) =>
  ((e as StorageError).cause as { status?: number })?.status === 412;

Deno.test("sameBytes() wants the same length and the same bytes", () => {
  assert.ok(sameBytes(BYTES, BYTES.slice()));
  assert.ok(!sameBytes(BYTES, BYTES.subarray(0, 3)));
  assert.ok(!sameBytes(BYTES.subarray(0, 3), BYTES));
  assert.ok(!sameBytes(BYTES, new Uint8Array([1, 2, 3, 5])));
  assert.ok(sameBytes(new Uint8Array(0), new Uint8Array(0)));
});

Deno.test("createOnly() writes once, and reads nothing back on success", async () => {
  let writes = 0;
  await createOnly(BYTES, {
    write: () => Promise.resolve(writes++),
    isConflict,
    readBack: () => Promise.reject(new Error("not called")),
    message: "taken",
  });
  assert.equal(writes, 1);
});

Deno.test("createOnly() passes on errors that are no conflict", async () => {
  const other = new StorageError("HTTP 500");
  await assert.rejects(
    createOnly(BYTES, {
      write: () => Promise.reject(other),
      isConflict,
      readBack: () => Promise.resolve(BYTES),
      message: "taken",
    }),
    (error: unknown) => error === other,
  );
});

Deno.test("createOnly() counts a conflict with the same bytes as written", async () => {
  await createOnly(BYTES, {
    write: () => Promise.reject(conflict),
    isConflict,
    readBack: () => Promise.resolve(BYTES.slice()),
    message: "taken",
  });
});

Deno.test("createOnly() says FileExistsError for other bytes, or a failed read back", async () => {
  for (
    const readBack of [
      () => Promise.resolve(new Uint8Array([9, 9, 9, 9])),
      () => Promise.resolve(BYTES.subarray(0, 2)),
      () => Promise.reject(new Error("gone")),
    ]
  ) {
    await assert.rejects(
      createOnly(BYTES, {
        write: () => Promise.reject(conflict),
        isConflict,
        readBack,
        message: '"x" exists: another writer made it first',
      }),
      (error: unknown) => {
        assert.ok(error instanceof FileExistsError);
        assert.equal(error.message, '"x" exists: another writer made it first');
        assert.equal(error.cause, conflict);
        assert.equal(error.retryable, false);
        return true;
      },
    );
  }
});

Deno.test("confirmWritten() throws the error it is given", async () => {
  await confirmWritten(BYTES, () => Promise.resolve(BYTES.slice()), () => {
    throw new Error("not called");
  });
  const exists = new FileExistsError("taken");
  await assert.rejects(
    confirmWritten(
      BYTES,
      () => Promise.resolve(new Uint8Array(4)),
      () => exists,
    ),
    (error: unknown) => error === exists,
  );
});
