/**
 * The tests every storage backend passes, against its real server on
 * 127.0.0.1: a replica Litestream's extension wrote to `file://` and that
 * was copied in reads like its `file://` twin and is polled for new
 * transactions; time travel lands on the same states; write mode
 * round-trips, and create-only uploads let exactly one of two racing
 * writers win; wrong credentials and a missing bucket (container, ...)
 * fail with an error naming the backend. A backend's test module calls
 * {@linkcode backendSuite} with a harness that starts its server.
 *
 * Also the assertions backends' own tests share, where a scenario needs
 * the backend's client or server controls (which a harness does not give):
 * {@linkcode assertOneWriterWins} (two clients racing to create one name),
 * {@linkcode assertWorkerCreateOnly} and {@linkcode assertGivesUp} (a
 * server that went away is given up on in time, with a clear error).
 *
 * @module
 */

import assert from "node:assert/strict";
import { open, SqliteError } from "../mod.ts";
import { decodeHeader, formatTxid } from "../src/ltx/mod.ts";
import {
  FileExistsError,
  type LtxFileInfo,
  openSyncReplicaClient,
  type ReplicaClient,
  StorageError,
  WorkerReplicaClient,
} from "../src/storage/mod.ts";
import { withEnv } from "./_env.ts";
import { tempDir } from "./_files.ts";
import { makeLitestreamReplica } from "./_litestream.ts";
import { series } from "./_sql.ts";
import { eventually } from "./_wait.ts";

/** A backend's server, started for one test, and how to reach it. */
export interface BackendHarness extends AsyncDisposable {
  /** The backend's name as its errors say it ("S3", "GCS", "Azure"...). */
  readonly name: string;
  /** The replica URL of a path in the harness's bucket (container, ...). */
  url(path: string): string;
  /** Environment variables the engine reads to reach it (credentials...). */
  readonly env: Readonly<Record<string, string>>;
  /** Copies a local replica (the folder that holds `ltx/`) to a path. */
  upload(dir: string, path: string): Promise<void>;
  /** A URL and environment with wrong credentials for a path. */
  badCredentials(path: string): {
    url: string;
    env: Readonly<Record<string, string>>;
  };
  /** The URL of a path in a bucket (container, ...) that does not exist. */
  missingBucket(path: string): string;
}

const SCHEMA = [
  "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
  `INSERT INTO t (v) SELECT printf('row %05d %s', value, hex(randomblob(40))) FROM ${
    series(2000)
  }`,
  "CREATE INDEX t_v ON t (v)",
  "UPDATE t SET v = upper(v) WHERE id % 7 = 0",
];
const QUERY = "SELECT id, v FROM t ORDER BY v";

/**
 * Starts a backend's server, uploads a replica of `schema` Litestream wrote
 * to a temp folder as "db", and runs a test with the server's environment
 * set; then restores the environment and stops the server.
 */
async function withReplica(
  start: () => Promise<BackendHarness>,
  schema: readonly string[],
  test: (
    server: BackendHarness,
    dir: string,
    replica: string,
  ) => void | Promise<void>,
): Promise<void> {
  await using dir = await tempDir("lsvfs-backend-");
  await using server = await start();
  const restore = withEnv(server.env);
  try {
    const replica = `${dir}/replica`;
    await makeLitestreamReplica(replica, schema);
    await server.upload(replica, "db");
    await test(server, dir, replica);
  } finally {
    restore();
  }
}

/**
 * Registers the shared tests for one backend.
 *
 * @param name The backend, in the tests' names.
 * @param start Starts the backend's server; each test starts its own and
 * disposes of it.
 */
export function backendSuite(
  name: string,
  start: () => Promise<BackendHarness>,
): void {
  Deno.test(`${name}: a replica Litestream wrote to file:// and copied in reads like its twin, and is polled`, async () => {
    await withReplica(start, SCHEMA, async (server, _dir, replica) => {
      using remote = open(server.url("db"), { pollInterval: 50 });
      using local = open(`file://${replica}`);
      assert.deepEqual(remote.query(QUERY), local.query(QUERY));
      assert.deepEqual(remote.get("PRAGMA integrity_check"), {
        integrity_check: "ok",
      });
      assert.equal(remote.replicaState().txid, local.replicaState().txid);
      await makeLitestreamReplica(replica, [
        "INSERT INTO t (v) VALUES ('new')",
      ]);
      await server.upload(replica, "db");
      await eventually(
        "the new transaction shows up",
        () =>
          remote.get<{ n: number }>("SELECT count(*) AS n FROM t")!.n === 2001,
      );
      assert.deepEqual(remote.get("SELECT v FROM t WHERE id = 2001"), {
        v: "new",
      });
    });
  });

  Deno.test(`${name}: time travel lands on the states it does on file://`, async () => {
    await withReplica(start, SCHEMA, (server, _dir, replica) => {
      using remote = open(server.url("db"));
      using local = open(`file://${replica}`);
      const summary = "SELECT count(*) AS n, max(v) AS v FROM t";
      const times = [...Deno.readDirSync(`${replica}/ltx/0`)]
        .map((e) => e.name).sort().map((file) => {
          const bytes = Deno.readFileSync(`${replica}/ltx/0/${file}`);
          return new Date(decodeHeader(bytes, file).timestamp).toISOString();
        });
      for (const [i, time] of times.entries()) {
        remote.setTime(time);
        local.setTime(time);
        assert.equal(remote.replicaState().txid, formatTxid(BigInt(i + 1)));
        if (i > 0) assert.deepEqual(remote.get(summary), local.get(summary));
      }
      remote.setTime("LATEST");
      assert.deepEqual(remote.get(summary), {
        n: 2000,
        v: local.get(summary)!.v,
      });
    });
  });

  Deno.test(`${name}: write mode round-trips, and of two racing uploads exactly one wins`, async () => {
    await withReplica(start, SCHEMA.slice(0, 2), (server, dir) => {
      {
        using db = open(server.url("db"), {
          write: true,
          bufferPath: `${dir}/buffer`,
          syncInterval: "1h",
        });
        db.exec("INSERT INTO t (v) VALUES ('written through the VFS')");
        db.exec("UPDATE t SET v = lower(v) WHERE id <= 10");
        assert.equal(db.sync(), formatTxid(3n));
      }
      using fresh = open(server.url("db"));
      assert.deepEqual(fresh.replicaState().txid, formatTxid(3n));
      assert.deepEqual(
        fresh.get("SELECT count(*) AS n, max(id) AS last FROM t"),
        { n: 2001, last: 2001 },
      );
      assert.deepEqual(fresh.get("PRAGMA integrity_check"), {
        integrity_check: "ok",
      });
      // Create-only: the second writer of a name gets FileExistsError.
      const client = openSyncReplicaClient(server.url("race"));
      try {
        const file = { level: 0, minTxid: 1n, maxTxid: 1n };
        client.createFileSync!(file, new Uint8Array([1, 2, 3]));
        assert.throws(
          () => client.createFileSync!(file, new Uint8Array([4, 5, 6])),
          FileExistsError,
        );
        const [stored] = client.listFilesSync(0);
        assert.deepEqual(
          client.readRangeSync(stored, 0, stored.size),
          new Uint8Array([1, 2, 3]),
        );
      } finally {
        client.close();
      }
    });
  });

  Deno.test(`${name}: wrong credentials and a missing bucket fail with an error naming the backend`, async () => {
    await using dir = await tempDir("lsvfs-backend-");
    await using server = await start();
    const replica = `${dir}/replica`;
    await makeLitestreamReplica(replica, SCHEMA.slice(0, 1));
    await server.upload(replica, "db");
    const named = new RegExp(server.name, "i");
    const bad = server.badCredentials("db");
    let restore = withEnv({ ...server.env, ...bad.env });
    try {
      assert.throws(() => open(bad.url), (error: unknown) => {
        assert.ok(error instanceof SqliteError, String(error));
        assert.match(error.message, named);
        return true;
      });
    } finally {
      restore();
    }
    restore = withEnv(server.env);
    try {
      assert.throws(
        () => open(server.missingBucket("db")),
        (error: unknown) => {
          assert.ok(error instanceof SqliteError, String(error));
          assert.match(error.message, named);
          return true;
        },
      );
    } finally {
      restore();
    }
  });
}

/** Options for {@linkcode assertOneWriterWins}. */
export interface RaceOptions {
  /** How many names to race for (TXIDs 1 to `rounds`); default 5. */
  rounds?: number;
  /** The size of each writer's file, in bytes; default 1000. */
  size?: number;
  /** What the loser's {@linkcode FileExistsError} says. */
  exists?: RegExp;
  /**
   * Reads what is stored under a name; default: the losing writer's
   * `readRange` of the whole file.
   */
  stored?: (file: LtxFileInfo, loser: ReplicaClient) => Promise<Uint8Array>;
  /** Checks of the backend's own after the races, before the retried write. */
  afterRaces?: () => Promise<void>;
}

/**
 * The create-only race every backend's client must win cleanly: two writers
 * upload different bytes under the same name at once, round after round.
 * Asserts that exactly one of each pair succeeds, that the other gets a
 * {@linkcode FileExistsError}, and that what is stored is the winner's bytes,
 * whole; then that writing the same bytes again (a retried write whose
 * first try landed) succeeds, and that a listing shows one file a round.
 *
 * @param writers Two clients of one replica URL.
 * @param options Rounds, file size, the loser's message, how to read back.
 */
export async function assertOneWriterWins(
  writers: readonly [ReplicaClient, ReplicaClient],
  options: RaceOptions = {},
): Promise<void> {
  const { rounds = 5, size = 1000, exists } = options;
  const stored = options.stored ??
    ((file, loser) => loser.readRange(file, 0, size));
  for (let round = 1; round <= rounds; round++) {
    const file = { level: 0, minTxid: BigInt(round), maxTxid: BigInt(round) };
    const bytes = writers.map((_, i) =>
      new Uint8Array(size).fill(round * 2 + i)
    );
    const outcomes = await Promise.allSettled(
      writers.map((w, i) => w.createFile!(file, bytes[i])),
    );
    const won = outcomes.findIndex((o) => o.status === "fulfilled");
    assert.notEqual(won, -1, `round ${round}: nobody won`);
    const lost = outcomes[1 - won];
    assert.equal(lost.status, "rejected", `round ${round}: both won`);
    const reason = (lost as PromiseRejectedResult).reason;
    assert.ok(reason instanceof FileExistsError, String(reason));
    if (exists) assert.match(reason.message, exists);
    // What is stored is the winner's, whole.
    assert.deepEqual(
      await stored({ ...file, size, createdAt: 0 }, writers[1 - won]),
      bytes[won],
      `round ${round}`,
    );
  }
  await options.afterRaces?.();
  // The same bytes again (a retried write whose first try landed) succeed.
  const first = { level: 0, minTxid: 1n, maxTxid: 1n };
  const there = await writers[0].readRange(
    { ...first, size, createdAt: 0 },
    0,
    size,
  );
  await writers[0].createFile!(first, there);
  const listed = await writers[1].listFiles(0);
  assert.deepEqual(
    listed.map((f) => f.maxTxid),
    Array.from({ length: rounds }, (_, i) => BigInt(i + 1)),
  );
}

/**
 * Create-only through the storage worker, synchronously, as the engine
 * writes: after {@linkcode assertOneWriterWins}'s five files, a sixth is
 * written, a second write of it with other bytes is a
 * {@linkcode FileExistsError}, and the replica holds six files.
 *
 * @param url The replica URL the race wrote to (its credentials in the
 * process environment).
 */
export function assertWorkerCreateOnly(url: string): void {
  const engine = new WorkerReplicaClient(url);
  try {
    const sixth = { level: 0, minTxid: 6n, maxTxid: 6n };
    engine.createFileSync(sixth, new Uint8Array([6]));
    assert.throws(
      () => engine.createFileSync(sixth, new Uint8Array([7])),
      FileExistsError,
    );
    assert.equal(engine.listAllSync().length, 6);
  } finally {
    engine.close();
  }
}

/** What {@linkcode assertGivesUp} expects of the error. */
export interface GiveUpExpectation {
  /** Whether the error is retryable; default true. */
  retryable?: boolean;
  /** Patterns the message must match. */
  matches?: readonly RegExp[];
  /** Patterns it must not (secrets...). */
  never?: readonly RegExp[];
  /** How long the operation may take, in ms, at the most. */
  withinMs: number;
  /** What is being tried, for the failure messages. */
  what?: string;
}

/**
 * Runs an operation against a server that is gone, failing or silent, and
 * asserts that it is given up on in time with a {@linkcode StorageError}
 * that says so.
 *
 * @param op The operation.
 * @param expected The error's retryability, message, and the time bound.
 */
export async function assertGivesUp(
  op: () => Promise<unknown>,
  expected: GiveUpExpectation,
): Promise<void> {
  const { retryable = true, matches = [], never = [], withinMs } = expected;
  const what = expected.what === undefined ? "" : `${expected.what}: `;
  const started = performance.now();
  await assert.rejects(op(), (error: unknown) => {
    assert.ok(error instanceof StorageError, String(error));
    assert.equal(error.retryable, retryable, `${what}${error.message}`);
    for (const pattern of matches) assert.match(error.message, pattern);
    for (const pattern of never) assert.doesNotMatch(error.message, pattern);
    return true;
  });
  const ms = performance.now() - started;
  assert.ok(ms < withinMs, `${what}took ${ms} ms`);
}
