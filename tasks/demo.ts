/**
 * The demo: makes a small replica in `.demo/` (a few transactions, written
 * as LTX files the way Litestream writes them), then queries it in place
 * through the VFS while a new transaction arrives.
 *
 * Run with `deno task demo`.
 *
 * @module
 */

import { cacheStats, open } from "../mod.ts";
import { main as lsvfs } from "../src/cli/main.ts";
import { Database as PlainDatabase } from "../src/sqlite/mod.ts";
import { ReplicaWriter } from "./_replica_writer.ts";

const root = new URL("../.demo/", import.meta.url).pathname;
const POLL_MS = 200;

await Deno.remove(root, { recursive: true }).catch(() => {});
await Deno.mkdir(root, { recursive: true });

// The primary: a plain SQLite file, replicated after every transaction.
const source = new PlainDatabase(`${root}source.db`);
const writer = new ReplicaWriter(`${root}replica`, 4096);
const commit = (sql: string) => {
  source.exec(sql);
  writer.commit(Deno.readFileSync(`${root}source.db`));
};
commit(
  "CREATE TABLE cities (id INTEGER PRIMARY KEY, name TEXT, country TEXT, population INTEGER)",
);
commit(`INSERT INTO cities (name, country, population) VALUES
  ('Lagos', 'Nigeria', 15388000), ('Lima', 'Peru', 10883000),
  ('Osaka', 'Japan', 19059000), ('Cairo', 'Egypt', 22183000)`);
commit("UPDATE cities SET population = population + 1000 WHERE name = 'Lima'");
console.log(
  `Made a replica of ${writer.txid} transactions in ${root}replica/ltx/0/`,
);

// The replica, queried in place: no restore.
using db = open(`file://${root}replica`, { pollInterval: POLL_MS });
const show = (title: string) => {
  const { n } = db.get<{ n: number }>("SELECT count(*) AS n FROM cities")!;
  console.log(`\n${title} (${n} rows)`);
  console.table(
    db.query("SELECT name, country, population FROM cities ORDER BY name"),
  );
};
show("Through the VFS");

commit(
  "INSERT INTO cities (name, country, population) VALUES ('Dhaka', 'Bangladesh', 23935000)",
);
console.log(
  `\nThe primary commits transaction ${writer.txid}; the replica sees it after the next poll (${POLL_MS} ms)...`,
);
await new Promise((resolve) => setTimeout(resolve, POLL_MS + 50));
show("After polling");

const stats = cacheStats();
if (stats !== undefined) {
  console.log(
    `\nShim page cache: ${stats.hits} hits, ${stats.misses} misses, ${stats.bytes} bytes held`,
  );
}
source.close();
db.close();

// The same replica from the command line: what it holds, and whether it is
// sound (lsvfs verify fetches every file and checks every checksum).
for (const args of [["info"], ["verify"]]) {
  console.log(`\n$ lsvfs ${args[0]} file://${root}replica`);
  const code = await lsvfs([...args, `file://${root}replica`]);
  if (code !== 0) Deno.exit(code);
}
