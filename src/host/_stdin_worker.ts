/**
 * The worker thread of `_stdin_reader.ts`: reads standard input into shared
 * memory, one chunk at a time, until the pipe closes or a read fails. Its
 * reads block, which a worker may do: the engine thread waits for them with
 * `Atomics.wait` and a timeout. The layout of the shared memory is in
 * `_stdin_reader.ts`.
 *
 * Started by `_stdin_reader.ts`; not meant to be imported.
 *
 * @module
 */

import { workerData } from "node:worker_threads";
import {
  DATA,
  EMPTY,
  END_OF_FILE,
  FAILED,
  LENGTH,
  STATE,
  type StdinWorkerData,
} from "./_stdin_reader.ts";

const { control: controlBuffer, data: dataBuffer } =
  workerData as StdinWorkerData;
const control = new Int32Array(controlBuffer);
const data = new Uint8Array(dataBuffer);

/** Hands the reader what the data buffer now holds. */
function publish(state: number, length: number): void {
  control[LENGTH] = length;
  Atomics.store(control, STATE, state);
  Atomics.notify(control, STATE);
}

for (;;) {
  // The reader has not taken the last chunk yet.
  let state = Atomics.load(control, STATE);
  while (state !== EMPTY) {
    Atomics.wait(control, STATE, state);
    state = Atomics.load(control, STATE);
  }
  let n: number | null;
  try {
    n = Deno.stdin.readSync(data);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const { written } = new TextEncoder().encodeInto(message, data);
    publish(FAILED, written);
    break;
  }
  if (n === null) {
    publish(END_OF_FILE, 0);
    break;
  }
  publish(DATA, n);
}
