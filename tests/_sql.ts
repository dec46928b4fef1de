/**
 * SQL the tests share.
 *
 * @module
 */

/**
 * A subquery of `n` rows numbered from 1, in a column named `value` (the
 * SQLite 3.40 of these machines has no generate_series).
 *
 * @param n How many rows.
 * @returns The subquery, in parentheses.
 */
export function series(n: number): string {
  return `(WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < ${n}) SELECT value FROM s)`;
}
