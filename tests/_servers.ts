/**
 * Starting and stopping the servers the backend tests run against: free
 * ports on 127.0.0.1, waiting for a server to listen or to say it is ready,
 * stopping a child process, the harnesses' counting proxies (a Deno process
 * each) and their control endpoints, and servers that never answer.
 *
 * @module
 */

/**
 * A TCP port on 127.0.0.1 that nothing listens on (now: a server started
 * with it should take it soon).
 *
 * @returns The port.
 */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Waits until something accepts connections on a port of 127.0.0.1.
 *
 * @param port The port.
 * @param what The server, for the error (`s3rver`, `Apache`...).
 * @param options `timeoutMs` (default 10 s); `log`, what the server logged,
 * for the error.
 * @throws {Error} `"<what> did not listen on <port>"` after the timeout.
 */
export async function waitForPort(
  port: number,
  what: string,
  options: { timeoutMs?: number; log?: () => string } = {},
): Promise<void> {
  const { timeoutMs = 10_000, log } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(
          `${what} did not listen on ${port}${log ? `: ${log()}` : ""}`,
          { cause: error },
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Stops a child process: sends it a signal (if it is still there) and waits
 * for it to exit.
 *
 * @param child The process.
 * @param signal The signal; SIGTERM by default.
 */
export async function stopProcess(
  child: Deno.ChildProcess,
  signal: Deno.Signal = "SIGTERM",
): Promise<void> {
  try {
    child.kill(signal);
  } catch {
    // Already gone.
  }
  await child.status;
}

/** What {@linkcode readUntil} found in a child's output. */
export interface OutputMatch<T> {
  /** What `match` returned; undefined when the output ended first. */
  readonly value: T | undefined;
  /** The output read up to then. */
  readonly seen: string;
  /** Reads (and drops) the rest of the output; settles when it ends. */
  readonly drained: Promise<void>;
}

/**
 * Reads a child's output until `match` finds what it waits for (its port,
 * "listening"...), then goes on reading the rest in the background, so
 * that the child never blocks on a full pipe.
 *
 * @param stream The child's stdout or stderr.
 * @param match Called with all that was read so far; a value ends the wait.
 * @returns The value, or undefined if the output ended without one (the
 * child exited, or was killed by the caller's timeout).
 */
export async function readUntil<T>(
  stream: ReadableStream<Uint8Array>,
  match: (seen: string) => T | undefined,
): Promise<OutputMatch<T>> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let value: T | undefined;
  while (value === undefined) {
    const { value: text, done } = await reader.read();
    if (done) break;
    seen += text;
    value = match(seen);
  }
  const drained = (async () => {
    while (!(await reader.read()).done);
  })();
  return { value, seen, drained };
}

/**
 * The first line of a child's output, for {@linkcode readUntil}.
 *
 * @param seen The output so far.
 * @returns The first line, trimmed, once it is whole.
 */
export function firstLine(seen: string): string | undefined {
  const end = seen.indexOf("\n");
  return end < 0 ? undefined : seen.slice(0, end).trim();
}

/**
 * Calls a harness proxy's control endpoint: `GET /__<path>` without a body,
 * `POST /__<path>` with one as JSON.
 */
export type ControlCall = (path: string, body?: unknown) => Promise<unknown>;

/**
 * The control endpoints of a proxy (`/__counts`, `/__faults`...).
 *
 * @param endpoint The proxy, `http://127.0.0.1:PORT`.
 * @param what The proxy, for errors (`The S3 proxy`).
 * @returns A call that answers the endpoint's JSON (undefined for 204) and
 * throws on any other status.
 */
export function controlEndpoint(endpoint: string, what: string): ControlCall {
  return async (path, body) => {
    const answer = await fetch(`${endpoint}/__${path}`, {
      method: body === undefined ? "GET" : "POST",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!answer.ok) {
      throw new Error(
        `${what} refused "/__${path}": HTTP ${answer.status} ${await answer
          .text()}`,
      );
    }
    return answer.status === 204 ? undefined : await answer.json();
  };
}

/** A harness proxy running as its own Deno process. */
export interface ProxyProcess {
  /** Where clients reach it: `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** Its control endpoints. */
  readonly control: ControlCall;
  /** Kills it and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts a proxy script (tests/_s3_proxy.ts, tests/_oss_proxy.ts) as its
 * own Deno process with nothing but `--allow-net=127.0.0.1`: a test that
 * opens a replica blocks its thread in `Atomics.wait` while the storage
 * worker talks to the server, so a proxy cannot live in its event loop. The
 * script prints its port on the first line of stdout.
 *
 * @param script The proxy's module.
 * @param args Its arguments (the upstream's URL...).
 * @param what The proxy, for errors (`The S3 proxy`).
 * @returns The running proxy.
 */
export async function startProxy(
  script: URL,
  args: readonly string[],
  what: string,
): Promise<ProxyProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", script.pathname, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const { value: port, drained } = await readUntil(child.stdout, firstLine);
  if (port === undefined) {
    await stopProcess(child);
    throw new Error(`${what} did not start`);
  }
  const endpoint = `http://127.0.0.1:${Number(port)}`;
  return {
    endpoint,
    control: controlEndpoint(endpoint, what),
    async stop() {
      await stopProcess(child);
      await drained;
    },
  };
}

/** A server that accepts connections and never answers (or drops them). */
export interface DeadServer extends AsyncDisposable {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** How many connections it accepted. */
  readonly accepted: number;
}

/**
 * Listens on 127.0.0.1 and answers nothing: each connection is closed at
 * once (`drop`), or held open (`silent`), after writing `greeting` if one is
 * given (the start of an answer that never ends, say).
 *
 * @param behaviour What to do with each connection.
 * @param greeting Bytes to write first on a held connection.
 * @returns The server; dispose of it to close it and every connection.
 */
export function startDeadServer(
  behaviour: "drop" | "silent" = "silent",
  greeting?: string,
): DeadServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  let accepted = 0;
  const serving = (async () => {
    for await (const conn of listener) {
      accepted++;
      if (behaviour === "drop") {
        conn.close();
        continue;
      }
      held.push(conn);
      if (greeting !== undefined) {
        await conn.write(new TextEncoder().encode(greeting)).catch(() => {});
      }
    }
  })();
  return {
    port: listener.addr.port,
    get accepted() {
      return accepted;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of held) {
        try {
          conn.close();
        } catch {
          // Closed by the client.
        }
      }
      await serving.catch(() => {});
    },
  };
}
