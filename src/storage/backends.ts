/**
 * The remote backends the storage worker serves, by URL scheme. Loaded in
 * the worker only: their SDKs never load on the engine's thread.
 *
 * A backend is one {@linkcode ReplicaClient} in a module of its own; it
 * comes in here with one import and one entry.
 *
 * @module
 */

import type { ReplicaClient } from "./replica_client.ts";
import { S3ReplicaClient } from "./s3_client.ts";
// Backend imports: one line each, in the order of the entries below.

/** Makes a backend's client for a replica URL, with the worker's options. */
export type BackendFactory = (
  url: string,
  options: Record<string, unknown>,
) => ReplicaClient & { close?(): void };

/** The backends, by URL scheme. */
export const BACKENDS: ReadonlyMap<string, BackendFactory> = new Map<
  string,
  BackendFactory
>([
  ["s3", (url, options) => new S3ReplicaClient(url, options)],
  // Backend entries: one line each.
]);
