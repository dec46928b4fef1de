import assert from "node:assert/strict";
import { formatResult } from "./format.ts";

const RESULT = {
  columns: ["id", "name", "data"],
  rows: [
    [1, "ada", new Uint8Array([0, 255])],
    [12n ** 20n, 'say "hi", bob', null],
  ],
};

Deno.test("formatResult() aligns a table, numbers right, NULL and blobs shown", () => {
  assert.equal(
    formatResult(RESULT, "table"),
    [
      "id                      name           data",
      "----------------------  -------------  -------",
      "                     1  ada            x'00ff'",
      '3833759992447475122176  say "hi", bob  NULL',
      "",
    ].join("\n"),
  );
});

Deno.test("formatResult() writes JSON and NDJSON with big integers as strings and blobs as hex", () => {
  const rows = [
    { id: 1, name: "ada", data: "00ff" },
    { id: "3833759992447475122176", name: 'say "hi", bob', data: null },
  ];
  assert.deepEqual(JSON.parse(formatResult(RESULT, "json")), rows);
  assert.deepEqual(
    formatResult(RESULT, "ndjson").trimEnd().split("\n").map((l) =>
      JSON.parse(l)
    ),
    rows,
  );
});

Deno.test("formatResult() quotes CSV fields that need it", () => {
  assert.equal(
    formatResult(RESULT, "csv"),
    'id,name,data\n1,ada,00ff\n3833759992447475122176,"say ""hi"", bob",\n',
  );
});
