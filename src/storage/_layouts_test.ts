import assert from "node:assert/strict";
import {
  byMinTxid,
  HEX_LAYOUT,
  LayoutListing,
  LTX_LAYOUT,
  ltxNameUnder,
  type Placed,
} from "./_layouts.ts";
import type { LtxFileInfo } from "./replica_client.ts";

const file = (min: bigint, level = 0): LtxFileInfo => ({
  level,
  minTxid: min,
  maxTxid: min,
  size: 10,
  createdAt: 0,
});

Deno.test("the layouts name Litestream's level folders", () => {
  assert.equal(LTX_LAYOUT(3), "ltx/3/");
  assert.equal(HEX_LAYOUT(9), "0009/");
  assert.equal(HEX_LAYOUT(10), "000a/");
});

Deno.test("byMinTxid() and ltxNameUnder()", () => {
  assert.deepEqual(
    [file(3n), file(1n), file(2n)].sort(byMinTxid).map((f) => f.minTxid),
    [1n, 2n, 3n],
  );
  const name = "0000000000000001-000000000000000a.ltx";
  assert.deepEqual(ltxNameUnder("p/", `p/${name}`), {
    minTxid: 1n,
    maxTxid: 10n,
  });
  assert.equal(ltxNameUnder("p/", `q/${name}`), undefined);
  assert.equal(ltxNameUnder("p/", `p/x/${name}`), undefined);
  assert.equal(ltxNameUnder("p/", "p/notes.txt"), undefined);
});

Deno.test("LayoutListing lists every candidate until one has files, then that one, then all again after the probe interval", async () => {
  const listing = new LayoutListing(2, 50);
  const asked: number[] = [];
  const content: Placed[][] = [[], []];
  const list = () =>
    listing.list((i) => {
      asked.push(i);
      return Promise.resolve(content[i]);
    });
  assert.deepEqual(await list(), []);
  assert.deepEqual(asked, [0, 1]);
  assert.equal(listing.writeCandidate, 0);
  content[1] = [{ file: file(2n), where: "b/2" }, {
    file: file(1n),
    where: "b/1",
  }];
  asked.length = 0;
  const files = await list();
  assert.deepEqual(files.map((f) => f.minTxid), [1n, 2n]);
  assert.deepEqual(asked, [0, 1]);
  assert.equal(listing.writeCandidate, 1);
  assert.equal(listing.where(file(1n)), "b/1");
  asked.length = 0;
  await list();
  assert.deepEqual(asked, [1]);
  await new Promise((r) => setTimeout(r, 60));
  asked.length = 0;
  await list();
  assert.deepEqual(asked, [0, 1]);
});

Deno.test("LayoutListing takes a file found twice from the first candidate, and writes there once it has files", async () => {
  const listing = new LayoutListing(2);
  const files = await listing.list((i) =>
    Promise.resolve([{ file: file(1n), where: `${i}/1` }])
  );
  assert.equal(files.length, 1);
  assert.equal(listing.where(file(1n)), "0/1");
  assert.equal(listing.writeCandidate, 0);
  assert.equal(listing.where(file(1n, 1)), undefined);
});

Deno.test("LayoutListing.place() records a written file and its candidate", () => {
  const listing = new LayoutListing(2);
  listing.place(file(5n), "x/5");
  assert.equal(listing.where(file(5n)), "x/5");
  assert.equal(listing.writeCandidate, 0);
  listing.place(file(6n), "y/6", 1);
  assert.equal(listing.writeCandidate, 1);
});
