/**
 * The engine: opens database files for the VFS, one view per file, over
 * replicas shared by every file that names the same URL.
 *
 * @module
 */

import { openSyncReplicaClient } from "../storage/mod.ts";
import { type EnvLookup, readEnv, resolveConfig } from "./config.ts";
import type { DatabaseFile } from "./database_file.ts";
import { Replica } from "./replica.ts";
import { ReplicaView } from "./view.ts";

/** Options of {@linkcode Engine}. */
export interface EngineOptions {
  /** Where settings missing from URI parameters come from; the process environment by default. */
  env?: EnvLookup;
  /** Clock in ms, replaceable in tests. */
  now?: () => number;
}

/**
 * Serves database files from replicas. Several replicas may be open at once,
 * each file naming its own in its URI parameters.
 */
export class Engine {
  #env: EnvLookup;
  #now: () => number;
  #replicas = new Map<string, { replica: Replica; files: number }>();

  /** @param options Environment lookup and clock. */
  constructor(options: EngineOptions = {}) {
    this.#env = options.env ?? readEnv;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Opens a database file: the latest state of the replica its parameters
   * (or the environment) name.
   *
   * @param _name The database name SQLite passed to `xOpen`.
   * @param params Its URI parameters.
   * @returns The file, to be closed by the caller.
   */
  openFile(_name: string, params: ReadonlyMap<string, string>): DatabaseFile {
    const config = resolveConfig(params, this.#env);
    const key = config.replicaUrl;
    const entry = this.#replicas.get(key) ?? {
      replica: new Replica(openSyncReplicaClient(key)),
      files: 0,
    };
    const release = () => {
      if (--entry.files > 0) return;
      entry.replica.close();
      this.#replicas.delete(key);
    };
    entry.files++;
    this.#replicas.set(key, entry);
    try {
      return new ReplicaView(entry.replica, config, {
        now: this.#now,
        onClose: release,
      });
    } catch (error) {
      release();
      throw error;
    }
  }
}
