import assert from "node:assert/strict";
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
