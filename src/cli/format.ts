/**
 * Result formats of `lsvfs query`: an aligned table for people, JSON,
 * newline-delimited JSON and CSV for programs.
 *
 * @module
 */

/** The output formats `lsvfs query` knows. */
export type OutputFormat = "table" | "json" | "ndjson" | "csv";

/** Rows as `lsvfs query` prints them: column names, then values. */
export interface ResultSet {
  /** Column names, in order. */
  readonly columns: readonly string[];
  /** Each row's values, in column order. */
  readonly rows: readonly (readonly unknown[])[];
}

/**
 * Formats a result set.
 *
 * @param result The columns and rows.
 * @param format The output format.
 * @returns The text to print, ending in a newline unless empty.
 *
 * @example Format as CSV
 * ```ts
 * import { formatResult } from "./format.ts";
 * import assert from "node:assert/strict";
 * const text = formatResult({ columns: ["a", "b"], rows: [[1, "x,y"]] }, "csv");
 * assert.equal(text, 'a,b\n1,"x,y"\n');
 * ```
 */
export function formatResult(result: ResultSet, format: OutputFormat): string {
  switch (format) {
    case "json":
      return `${
        JSON.stringify(result.rows.map((r) => toObject(result, r)), replacer, 2)
      }\n`;
    case "ndjson":
      return result.rows.map((r) =>
        `${JSON.stringify(toObject(result, r), replacer)}\n`
      ).join("");
    case "csv":
      return [result.columns, ...result.rows].map((r) =>
        `${r.map(csvField).join(",")}\n`
      ).join("");
    case "table":
      return table(result);
  }
}

function toObject(result: ResultSet, row: readonly unknown[]) {
  return Object.fromEntries(result.columns.map((c, i) => [c, row[i]]));
}

/** JSON has no bigint or bytes: big integers become strings, blobs hex. */
function replacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return hex(value);
  return value;
}

function text(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (value instanceof Uint8Array) return `x'${hex(value)}'`;
  return String(value);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function csvField(value: unknown): string {
  const s = value === null || value === undefined
    ? ""
    : value instanceof Uint8Array
    ? hex(value)
    : String(value);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function table(result: ResultSet): string {
  if (result.columns.length === 0) return "";
  const cells = result.rows.map((r) => r.map(text));
  const widths = result.columns.map((c, i) =>
    Math.max(c.length, ...cells.map((r) => r[i].length))
  );
  const line = (values: readonly string[], numeric: boolean[]) =>
    values.map((v, i) =>
      numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i])
    )
      .join("  ").trimEnd();
  const numeric = result.columns.map((_, i) =>
    result.rows.length > 0 &&
    result.rows.every((r) =>
      typeof r[i] === "number" || typeof r[i] === "bigint"
    )
  );
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const header = line(result.columns, result.columns.map(() => false));
  return [header, rule, ...cells.map((r) => line(r, numeric))].join("\n") +
    "\n";
}
