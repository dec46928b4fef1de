/**
 * One client process of `deno task bench` that uses lsvfs through its Deno
 * API: `deno run ... tasks/_bench_deno.ts <replica-url> <options JSON>
 * <statements JSON>`. It opens the replica, runs each statement (an array
 * of SQL texts, each run in its own read transaction), and prints the same
 * `mark|<ms>` lines the sqlite3 scripts print, before and after each group.
 * A group named "." is a mark alone.
 *
 * @module
 */

import { open, type OpenOptions } from "../mod.ts";

const [url, optionsJson, groupsJson] = Deno.args;
const options: OpenOptions = JSON.parse(optionsJson);
const groups: string[][] = JSON.parse(groupsJson);

const mark = () =>
  console.log(`mark|${performance.timeOrigin + performance.now()}`);
using db = open(url, options);
mark();
for (const group of groups) {
  for (const sql of group) db.query(sql);
  mark();
}
