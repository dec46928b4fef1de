/**
 * The counting proxy in front of s3rver, run as its own process by
 * `tests/_s3.ts`: a test that opens an `s3://` replica blocks its own thread
 * in `Atomics.wait` while the storage worker talks to the server, so the
 * proxy cannot live in the test's event loop.
 *
 * Usage: `deno run --allow-net tests/_s3_proxy.ts http://127.0.0.1:UPSTREAM`;
 * prints its port on the first line of stdout. `GET /__counts` answers the
 * request counts as JSON (`{"GET /bucket/key": 3, "LIST /bucket?prefix=p": 1}`),
 * `POST /__counts/reset` clears them.
 *
 * @module
 */

const upstream = Deno.args[0];
const counts: Record<string, number> = {};

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen({ port }) {
    console.log(port);
  },
}, async (request) => {
  const url = new URL(request.url);
  if (url.pathname === "/__counts") return Response.json(counts);
  if (url.pathname === "/__counts/reset") {
    for (const key of Object.keys(counts)) delete counts[key];
    return new Response(null, { status: 204 });
  }
  const isList = request.method === "GET" &&
    (url.searchParams.has("list-type") || url.searchParams.has("prefix"));
  const key = isList
    ? `LIST ${url.pathname}?prefix=${url.searchParams.get("prefix") ?? ""}`
    : `${request.method} ${url.pathname}`;
  counts[key] = (counts[key] ?? 0) + 1;
  const headers = new Headers(request.headers);
  headers.delete("host");
  // s3rver answers a suffix range (`bytes=-N`) wrongly: make it explicit.
  const suffix = /^bytes=-(\d+)$/.exec(headers.get("range") ?? "");
  if (suffix) {
    const head = await fetch(`${upstream}${url.pathname}`, {
      method: "HEAD",
      headers,
    });
    await head.body?.cancel();
    const size = Number(head.headers.get("content-length"));
    const n = Math.min(Number(suffix[1]), size);
    headers.set("range", `bytes=${size - n}-${size - 1}`);
  }
  const body = request.body ? await request.arrayBuffer() : undefined;
  const answer = await fetch(`${upstream}${url.pathname}${url.search}`, {
    method: request.method,
    headers,
    body,
    redirect: "manual",
  });
  return new Response(answer.body, {
    status: answer.status,
    headers: answer.headers,
  });
});

await server.finished;
