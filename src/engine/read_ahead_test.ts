import assert from "node:assert/strict";
import { MAX_STREAMS, ReadAhead, SEQUENTIAL_SLACK } from "./read_ahead.ts";

/** Plans a miss and records that the planned run was read in full. */
function miss(readAhead: ReadAhead, pgno: number, room = 64) {
  const plan = readAhead.plan(pgno, room);
  const first = plan.backward ? pgno - plan.pages + 1 : pgno;
  readAhead.record({ first, count: plan.pages });
  return plan;
}

Deno.test("ReadAhead.plan() doubles forward runs up to the room given", () => {
  const readAhead = new ReadAhead();
  const sizes: number[] = [];
  for (let pgno = 1; pgno < 300;) {
    const { pages, backward } = miss(readAhead, pgno);
    assert.equal(backward, false);
    sizes.push(pages);
    pgno += pages;
  }
  assert.deepEqual(sizes.slice(0, 8), [2, 4, 8, 16, 32, 64, 64, 64]);
});

Deno.test("ReadAhead.plan() reads one page for a miss that continues no stream", () => {
  const readAhead = new ReadAhead();
  for (const pgno of [500, 20, 900, 300, 7000, 60]) {
    assert.deepEqual(readAhead.plan(pgno, 64), { pages: 1, backward: false });
    readAhead.record({ first: pgno, count: 1 });
  }
});

Deno.test("ReadAhead.plan() follows a stream downwards", () => {
  const readAhead = new ReadAhead();
  assert.equal(miss(readAhead, 1000).pages, 1);
  assert.deepEqual(miss(readAhead, 999), { pages: 2, backward: true });
  // The run was 998-999: the next page down is 997.
  assert.deepEqual(miss(readAhead, 997), { pages: 4, backward: true });
  assert.deepEqual(miss(readAhead, 993), { pages: 8, backward: true });
  // A backward stream never turns into a forward one.
  assert.equal(miss(readAhead, 1001).pages, 1);
});

Deno.test("ReadAhead.plan() keeps a stream across a few misses out of order", () => {
  const readAhead = new ReadAhead();
  let pgno = 1;
  for (let i = 0; i < 6; i++) pgno += miss(readAhead, pgno).pages;
  assert.equal(pgno, 127);
  // A scan visits pages it skipped, and goes on where it was.
  miss(readAhead, 40);
  miss(readAhead, 41);
  assert.equal(miss(readAhead, pgno + SEQUENTIAL_SLACK).pages, 64);
  // Past the slack it is a new stream.
  const end = pgno + SEQUENTIAL_SLACK + 64;
  assert.equal(miss(readAhead, end + SEQUENTIAL_SLACK + 1).pages, 1);
});

Deno.test("ReadAhead.plan() follows several streams, forgetting the least recent", () => {
  const readAhead = new ReadAhead();
  const starts = Array.from({ length: MAX_STREAMS }, (_, i) => 1000 * (i + 1));
  const next = [...starts];
  for (let round = 0; round < 3; round++) {
    for (let s = 0; s < starts.length; s++) {
      next[s] += miss(readAhead, next[s]).pages;
    }
  }
  // Each stream has grown: 1, 2, 4 pages.
  assert.deepEqual(next.map((n, s) => n - starts[s]), starts.map(() => 7));
  // One more stream pushes out the least recently continued one.
  miss(readAhead, 90_000);
  assert.equal(miss(readAhead, next[0]).pages, 1);
  assert.equal(miss(readAhead, next[MAX_STREAMS - 1]).pages, 8);
});

Deno.test("ReadAhead.plan() never plans more than the room, nor less than a page", () => {
  const readAhead = new ReadAhead();
  assert.equal(readAhead.plan(1, 1).pages, 1);
  readAhead.record({ first: 1, count: 1 });
  assert.equal(readAhead.plan(2, 0).pages, 1);
});
