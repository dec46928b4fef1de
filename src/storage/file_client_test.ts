import assert from "node:assert/strict";
import { FileExistsError } from "./errors.ts";
import { FileReplicaClient } from "./file_client.ts";

Deno.test("FileReplicaClient.readRangesSync() reads each range, in request order", async () => {
  const root = await Deno.makeTempDir({ prefix: "lsvfs-file-client-" });
  try {
    await Deno.mkdir(`${root}/ltx/0`, { recursive: true });
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    await Deno.writeFile(
      `${root}/ltx/0/0000000000000001-0000000000000001.ltx`,
      bytes,
    );
    const client = new FileReplicaClient(root);
    const [file] = client.listFilesSync(0);
    const got = client.readRangesSync([
      { file, offset: 200, length: 3 },
      { file, offset: 0, length: 2 },
      { file, offset: 10, length: 0 },
    ]);
    assert.deepEqual(got, [
      Uint8Array.of(200, 201, 202),
      Uint8Array.of(0, 1),
      new Uint8Array(0),
    ]);
    assert.deepEqual(client.readRangesSync([]), []);
    client.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("FileReplicaClient.listAllSync() lists every level, by level; pollSync() lists now", async () => {
  const root = await Deno.makeTempDir({ prefix: "lsvfs-file-client-" });
  try {
    for (const [level, name] of [[9, "1-5"], [0, "6-6"], [1, "1-5"]] as const) {
      await Deno.mkdir(`${root}/ltx/${level}`, { recursive: true });
      const [min, max] = name.split("-").map((n) => n.padStart(16, "0"));
      await Deno.writeFile(`${root}/ltx/${level}/${min}-${max}.ltx`, of(level));
    }
    const client = new FileReplicaClient(root);
    const all = client.listAllSync();
    assert.deepEqual(all.map((f) => [f.level, f.minTxid, f.maxTxid]), [
      [0, 6n, 6n],
      [1, 1n, 5n],
      [9, 1n, 5n],
    ]);
    assert.deepEqual(client.pollSync(1000), { files: all, ageMs: 0 });
    await Deno.writeFile(
      `${root}/ltx/0/0000000000000007-0000000000000007.ltx`,
      of(0),
    );
    assert.equal(client.pollSync(1000).files.length, 4);
    client.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

function of(byte: number): Uint8Array {
  return new Uint8Array(8).fill(byte);
}

Deno.test("FileReplicaClient.createFileSync() writes a new file, and refuses to replace one", () => {
  const root = Deno.makeTempDirSync({ prefix: "lsvfs-create-" });
  try {
    const client = new FileReplicaClient(root);
    const name = { level: 0, minTxid: 3n, maxTxid: 3n };
    client.createFileSync(name, new Uint8Array([1, 2, 3]));
    assert.throws(
      () => client.createFileSync(name, new Uint8Array([9])),
      (e) => e instanceof FileExistsError && /another writer/.test(e.message),
    );
    assert.deepEqual(
      Deno.readFileSync(client.pathOf(name)),
      new Uint8Array([1, 2, 3]),
    );
    // No temporary file is left behind.
    assert.deepEqual(
      [...Deno.readDirSync(`${root}/ltx/0`)].map((e) => e.name),
      ["0000000000000003-0000000000000003.ltx"],
    );
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("FileReplicaClient.createFileSync() removes the temporary files a killed writer left, not a live one's", () => {
  const root = Deno.makeTempDirSync({ prefix: "lsvfs-create-" });
  try {
    const client = new FileReplicaClient(root);
    Deno.mkdirSync(`${root}/ltx/0`, { recursive: true });
    const stale = `${root}/ltx/0/.${crypto.randomUUID()}.tmp`;
    const live = `${root}/ltx/0/.${crypto.randomUUID()}.tmp`;
    Deno.writeFileSync(stale, new Uint8Array([1]));
    Deno.writeFileSync(live, new Uint8Array([2]));
    const anHourAgo = new Date(Date.now() - 3600_000);
    Deno.utimeSync(stale, anHourAgo, anHourAgo);
    client.createFileSync(
      { level: 0, minTxid: 1n, maxTxid: 1n },
      new Uint8Array([3]),
    );
    assert.throws(() => Deno.statSync(stale), Deno.errors.NotFound);
    assert.equal(Deno.statSync(live).size, 1);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
