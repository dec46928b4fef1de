import assert from "node:assert/strict";
import { ReplicaWriter } from "../../tasks/_replica_writer.ts";
import { Logger } from "../log/mod.ts";
import { decodeFile } from "../ltx/mod.ts";
import { FileReplicaClient, type LtxFileInfo } from "../storage/mod.ts";
import { CorruptFileError } from "./errors.ts";
import { Replica } from "./replica.ts";
import { VERIFIED_LIST, Verifier, type VerifierOptions } from "./verifier.ts";

/** Three states of a 40-page database; the second file has a byte flipped. */
async function makeReplica() {
  const dir = await Deno.makeTempDir({ prefix: "lsvfs-verifier-" });
  const root = `${dir}/replica`;
  const writer = new ReplicaWriter(root, 4096);
  const state = new Uint8Array(40 * 4096);
  for (let txid = 1; txid <= 3; txid++) {
    crypto.getRandomValues(state.subarray(4096 * txid, 4096 * (txid + 10)));
    writer.commit(state);
  }
  const client = new FileReplicaClient(root);
  const second = client.pathOf({ level: 0, minTxid: 2n, maxTxid: 2n });
  const bytes = Deno.readFileSync(second);
  const frame = decodeFile(bytes, { file: second }).index[3];
  bytes[frame.offset + (frame.size >> 1)] ^= 0x40;
  Deno.writeFileSync(second, bytes);
  return {
    dir,
    second,
    open(
      options: VerifierOptions = {},
    ): { replica: Replica; files: LtxFileInfo[]; verifier: Verifier } {
      const replica = new Replica(new FileReplicaClient(root));
      const files = replica.listAll();
      replica.prefetchMeta(files);
      const verifier = new Verifier(
        replica,
        {
          replicaUrl: `file://${root}`,
          maxInFlight: 1,
          logLevel: "ERROR",
          diskCache: `${dir}/cache`,
        },
        Logger.discard(),
        options,
      );
      return { replica, files, verifier };
    },
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

async function settle(verifier: Verifier, files: LtxFileInfo[]) {
  const deadline = Date.now() + 10_000;
  while (verifier.count(files).pending > 0) {
    assert.ok(Date.now() < deadline, "the worker did not finish in 10 s");
    await new Promise((r) => setTimeout(r, 20));
    verifier.collect();
  }
}

Deno.test("Verifier waits for a quiet tick to start its worker, then marks each file", async () => {
  await using fixture = await makeReplica();
  const { replica, files, verifier } = fixture.open();
  try {
    verifier.watch(files);
    assert.equal(verifier.waiting, true);
    // A client is waiting and the files have not waited long: later.
    verifier.startIfDue(false);
    assert.equal(verifier.waiting, true);
    verifier.startIfDue(true);
    assert.equal(verifier.waiting, false);
    await settle(verifier, files);
    assert.deepEqual(verifier.count(files), {
      verified: 2,
      bad: 1,
      pending: 0,
    });
    const [first, second, third] = files;
    assert.equal(verifier.servable(first, true), true);
    assert.equal(verifier.servable(second, false), false);
    assert.throws(() => verifier.guard(second, false), (error: unknown) => {
      assert.ok(error instanceof CorruptFileError);
      assert.ok(error.message.includes(fixture.second), error.message);
      return true;
    });
    verifier.guard(third, true);
    assert.ok(verifier.bytesFetched >= first.size + second.size + third.size);
    // The disk cache lists the two sound files for later processes.
    const list = Deno.readTextFileSync(`${fixture.dir}/cache/${VERIFIED_LIST}`)
      .trim().split("\n");
    assert.deepEqual(
      list.sort(),
      [
        verifier.keyOf(first),
        verifier.keyOf(third),
      ].sort(),
    );
  } finally {
    verifier.close();
    replica.close();
  }
});

Deno.test("Verifier remembers sound files for the process, and checks a bad one again", async () => {
  await using fixture = await makeReplica();
  const before = fixture.open();
  before.verifier.watch(before.files);
  before.verifier.startIfDue(true);
  await settle(before.verifier, before.files);
  before.verifier.close();
  before.replica.close();

  const { replica, files, verifier } = fixture.open();
  try {
    verifier.watch(files);
    assert.deepEqual(verifier.count(files), {
      verified: 2,
      bad: 0,
      pending: 1,
    });
    // strict: checked now, before its pages are served.
    assert.throws(() => verifier.guard(files[1], true), CorruptFileError);
    assert.deepEqual(verifier.count(files), {
      verified: 2,
      bad: 1,
      pending: 0,
    });
    assert.equal(verifier.generation(false), 1);
  } finally {
    verifier.close();
    replica.close();
  }
});

Deno.test("Verifier stops its idle worker, and starts one again for new files", async () => {
  await using fixture = await makeReplica();
  let waiting = 0;
  const { replica, files, verifier } = fixture.open({
    workerIdleMs: 0,
    onWaiting: () => waiting++,
  });
  try {
    verifier.watch(files.slice(0, 2));
    verifier.startIfDue(true);
    assert.equal(verifier.running, true);
    await settle(verifier, files.slice(0, 2));
    // Nothing left to do: the next look at it stops the thread.
    verifier.collect();
    assert.equal(verifier.running, false);
    verifier.watch(files);
    assert.equal(verifier.waiting, true);
    // Told twice: the host ticks soon after each.
    assert.equal(waiting, 2);
    verifier.startIfDue(true);
    assert.equal(verifier.running, true);
    await settle(verifier, files);
    assert.deepEqual(verifier.count(files), {
      verified: 2,
      bad: 1,
      pending: 0,
    });
  } finally {
    verifier.close();
    replica.close();
  }
});
