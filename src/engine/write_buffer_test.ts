import assert from "node:assert/strict";
import { WriteBuffer, WriteBufferError } from "./write_buffer.ts";

const PAGE = 512;
const BASE = { txid: 7n, checksum: 0x8000_0000_0000_1234n };

function page(fill: number): Uint8Array {
  return new Uint8Array(PAGE).fill(fill);
}

function tempPath(): string {
  return `${Deno.makeTempDirSync({ prefix: "lsvfs-wb-" })}/buffer`;
}

function read(buffer: WriteBuffer, pgno: number): number | undefined {
  const out = new Uint8Array(PAGE);
  return buffer.read(pgno, out) ? out[0] : undefined;
}

Deno.test("WriteBuffer: staged pages are read back, committed ones survive a reopen", () => {
  const path = tempPath();
  const buffer = WriteBuffer.open(path, PAGE, BASE);
  assert.equal(buffer.isEmpty, true);
  buffer.write(1, page(1));
  buffer.write(3, page(3));
  assert.equal(read(buffer, 3), 3, "staged");
  buffer.commit(3);
  buffer.write(3, page(33));
  buffer.rollback();
  assert.equal(read(buffer, 3), 3, "rolled back");
  buffer.write(2, page(2));
  buffer.write(3, page(34));
  buffer.commit(4);
  buffer.close();

  const again = WriteBuffer.open(path, PAGE, { txid: 0n, checksum: 0n });
  assert.deepEqual(again.base, BASE, "the base it was made on");
  assert.equal(again.transactions, 2);
  assert.equal(again.pageCount, 4);
  assert.deepEqual([1, 2, 3, 4].map((p) => read(again, p)), [
    1,
    2,
    34,
    undefined,
  ]);
  assert.deepEqual([...again.committedPages()].map(([p, d]) => [p, d[0]]), [
    [1, 1],
    [2, 2],
    [3, 34],
  ]);
  again.reset({ txid: 8n, checksum: 0n });
  assert.equal(again.isEmpty, true);
  again.close();
  const reset = WriteBuffer.open(path, PAGE, BASE);
  assert.deepEqual(reset.base, { txid: 8n, checksum: 0n });
  assert.equal(reset.isEmpty, true);
  reset.close();
});

Deno.test("WriteBuffer: a commit cut short or damaged by a crash is dropped, the ones before kept", () => {
  for (const damage of ["truncate", "flip"] as const) {
    const path = tempPath();
    const buffer = WriteBuffer.open(path, PAGE, BASE);
    buffer.write(1, page(1));
    buffer.commit(1);
    const good = Deno.statSync(path).size;
    buffer.write(1, page(2));
    buffer.write(2, page(2));
    buffer.commit(2);
    buffer.close();
    const bytes = Deno.readFileSync(path);
    if (damage === "truncate") {
      Deno.writeFileSync(path, bytes.subarray(0, bytes.length - 7));
    } else {
      bytes[good + 100] ^= 1;
      Deno.writeFileSync(path, bytes);
    }
    const again = WriteBuffer.open(path, PAGE, BASE);
    assert.equal(again.transactions, 1, damage);
    assert.equal(read(again, 1), 1, damage);
    assert.equal(read(again, 2), undefined, damage);
    assert.equal(Deno.statSync(path).size, good, `${damage}: cut back`);
    // And it goes on from there.
    again.write(2, page(9));
    again.commit(2);
    again.close();
    const third = WriteBuffer.open(path, PAGE, BASE);
    assert.equal(third.transactions, 2);
    assert.equal(read(third, 2), 9);
    third.close();
  }
});

Deno.test("WriteBuffer refuses a file that is not one, or another page size", () => {
  const path = tempPath();
  Deno.writeTextFileSync(path, "not a write buffer, but something else");
  assert.throws(() => WriteBuffer.open(path, PAGE, BASE), WriteBufferError);
  const other = tempPath();
  WriteBuffer.open(other, 1024, BASE).close();
  assert.throws(
    () => WriteBuffer.open(other, PAGE, BASE),
    (e) => e instanceof WriteBufferError && /1024 bytes/.test(e.message),
  );
  const buffer = WriteBuffer.open(tempPath(), PAGE, BASE);
  assert.throws(() => buffer.write(0, page(1)), RangeError);
  assert.throws(() => buffer.write(1, new Uint8Array(10)), RangeError);
  buffer.close();
});
