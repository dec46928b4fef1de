// CRC-64/ISO throughput: one 4 KiB page, 1 MiB, and the LTX checksums built
// on it. Run with `deno bench src/ltx/checksum_bench.ts`.

import { crc64, databaseChecksum, pageChecksum } from "./checksum.ts";

const PAGE_SIZE = 4096;
const page = crypto.getRandomValues(new Uint8Array(PAGE_SIZE));
const mebibyte = new Uint8Array(1 << 20);
for (let i = 0; i < mebibyte.length; i += 65536) {
  crypto.getRandomValues(mebibyte.subarray(i, i + 65536));
}
const pages: [number, Uint8Array][] = [];
for (let pgno = 1; pgno <= 256; pgno++) {
  pages.push([
    pgno,
    mebibyte.subarray((pgno - 1) * PAGE_SIZE, pgno * PAGE_SIZE),
  ]);
}

Deno.bench("crc64() 4 KiB", { group: "4 KiB", baseline: true }, () => {
  crc64(page);
});
Deno.bench("pageChecksum() 4 KiB", { group: "4 KiB" }, () => {
  pageChecksum(7, page);
});
Deno.bench("crc64() 1 MiB", { group: "1 MiB", baseline: true }, () => {
  crc64(mebibyte);
});
Deno.bench("databaseChecksum() 256 pages of 4 KiB", { group: "1 MiB" }, () => {
  databaseChecksum(pages, PAGE_SIZE);
});
