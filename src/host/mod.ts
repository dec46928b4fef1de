/**
 * The engine child of the loadable extension: when a non-Deno client (the
 * sqlite3 shell, Python, Go...) loads `dist/litestream-vfs.so` and opens a
 * database with the VFS "litestream", the shim's pipe port starts `lsvfs
 * engine`, which runs {@linkcode runEngineChild}: the same engine as the
 * Deno module, answering the shim's requests on standard input and output
 * (the wire format is in ./protocol.ts and at the top of
 * ffi/litestream_vfs.c). It loads no libsqlite3 and needs no FFI.
 *
 * Nothing but protocol bytes goes to standard output: the engine logs to
 * standard error, or to `LITESTREAM_LOG_FILE`.
 *
 * @example Run the engine child (what `lsvfs engine` does)
 * ```ts ignore
 * import { runEngineChild } from "./mod.ts";
 *
 * runEngineChild(); // returns when the client closes the pipe
 * ```
 *
 * @module
 */

import { Engine } from "../engine/mod.ts";
import { Logger, STDERR_SINK } from "../log/mod.ts";
import { StdinReader } from "./_stdin_reader.ts";
import { IDLE_INTERVAL_MS, serve } from "./server.ts";

export {
  IDLE_INTERVAL_MS,
  type PipeIo,
  serve,
  type ServeOptions,
} from "./server.ts";
export {
  type Answer,
  decodeAnswer,
  decodeRequest,
  encodeAnswer,
  encodeRequest,
  type Failure,
  type Op,
  OP_CODES,
  type Request,
  type Results,
} from "./protocol.ts";

/**
 * Serves the pipe port on standard input and output with a new
 * {@linkcode Engine} (settings from URI parameters and the environment),
 * until the client closes the pipe; then closes every file still open. A
 * failed open is also logged to standard error, where a person at the
 * sqlite3 shell sees why (SQLite itself says only "unable to open database
 * file"). The engine's timed work (`Engine.tick`) runs whenever the pipe
 * has been idle for {@linkcode IDLE_INTERVAL_MS}, and at least that often
 * while it is busy.
 *
 * @throws {RangeError} When a request is malformed (the client is not the
 * shim).
 */
export function runEngineChild(): void {
  const engine = new Engine();
  const stdin = new StdinReader(IDLE_INTERVAL_MS);
  serve((name, params) => engine.openFile(name, params), {
    read: (buffer) => stdin.read(buffer),
    write: (buffer) => Deno.stdout.writeSync(buffer),
  }, {
    logger: new Logger({ sink: STDERR_SINK }),
    onIdle: (quiet) => engine.tick({ quiet }),
  });
}
