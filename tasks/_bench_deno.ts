/**
 * One client process of `deno task bench` that uses lsvfs through its Deno
 * API: `deno run ... tasks/_bench_deno.ts <replica-url> <options JSON>
 * <statements JSON>`. It opens the replica, runs each statement (an array
 * of SQL texts, each run in its own read transaction), and prints the same
 * `mark|<ms>` lines the sqlite3 scripts print, before and after each group.
 * A group named "." is a mark alone; `.shell sleep <seconds>` waits, as
 * it does in the sqlite3 scripts.
 *
 * With `-` for the statements (the write rows, tasks/_bench_write.ts), it
 * reads statements from stdin instead, one a line, runs each as it comes
 * (so the write mode's timer syncs between them, as in any Deno program),
 * and prints their rows as the sqlite3 CLI's list mode does: values joined
 * with `|`, one row a line. The first failing statement ends the process
 * with its error, as `.bail on` does.
 *
 * @module
 */

import { open, type OpenOptions } from "../mod.ts";

const [url, optionsJson, groupsJson] = Deno.args;
const options: OpenOptions = JSON.parse(optionsJson);

const mark = () =>
  console.log(`mark|${performance.timeOrigin + performance.now()}`);
using db = open(url, options);
if (groupsJson === "-") {
  let buffered = "";
  const run = (line: string) => {
    if (line.trim() === "") return;
    for (const row of db.values(line)) console.log(row.join("|"));
  };
  for await (
    const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())
  ) {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      run(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  }
  run(buffered);
} else {
  const groups: string[][] = JSON.parse(groupsJson);
  mark();
  for (const group of groups) {
    for (const sql of group) {
      const pause = /^\.shell sleep ([\d.]+)$/.exec(sql);
      if (pause) {
        await new Promise((r) => setTimeout(r, Number(pause[1]) * 1000));
      } else db.query(sql);
    }
    mark();
  }
}
