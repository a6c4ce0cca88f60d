// A GET over HTTP/1.1 read into one reused buffer (src/registry/http-direct.ts),
// against raw TCP servers that send exactly the bytes each case needs: a head and body cut
// at awkward places, chunked coding with extensions and trailers, a close-delimited body,
// breaks, bad framing, and sinks that make the reader wait (whose pieces must not change
// meanwhile). Then through sendHttp's `direct` requests: redirects and origins.
import { createHash, randomBytes } from "node:crypto";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { directGet } from "../../../src/registry/http-direct.js";
import type { PieceSink } from "../../../src/image/pushed.js";
import { sendHttp } from "../../../src/registry/http.js";

const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

/** A TCP server on 127.0.0.1 that answers each connection with `answer` once the request head is in; resolves host:port. */
async function serve(answer: (socket: Socket, requestHead: string) => void | Promise<void>): Promise<string> {
  const server = createServer((socket) => {
    let head = "";
    socket.on("error", () => undefined);
    socket.on("data", (c) => {
      if (head.includes("\r\n\r\n")) return;
      head += c.toString("latin1");
      if (head.includes("\r\n\r\n")) void answer(socket, head);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Write `parts` one by one, each flushed before the next (so the reader sees them in separate reads, mostly). */
async function dribble(socket: Socket, parts: (string | Uint8Array)[], end = true): Promise<void> {
  for (const p of parts) {
    await new Promise<void>((resolve) => socket.write(p, () => resolve()));
    await new Promise((r) => setTimeout(r, 2));
  }
  if (end) socket.end();
}

/** Cut `bytes` at the given offsets. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const a of [...at, bytes.length]) {
    out.push(bytes.subarray(from, a));
    from = a;
  }
  return out;
}

/** A sink that keeps copies; with `wait`, each piece is copied only after a delay (the reader must hold it unchanged). */
function collector(wait = false): { sink: PieceSink; bytes: () => Buffer; pieces: () => number } {
  const parts: Buffer[] = [];
  const sink: PieceSink = wait
    ? async (piece) => {
        const before = Buffer.from(piece);
        await new Promise((r) => setTimeout(r, 1));
        expect(Buffer.compare(before, piece)).toBe(0);
        parts.push(Buffer.from(piece));
      }
    : (piece) => void parts.push(Buffer.from(piece));
  return { sink, bytes: () => Buffer.concat(parts), pieces: () => parts.length };
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("directGet", () => {
  it("reads a Content-Length body whose head and body are cut at awkward places, into a sink that waits", async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    let request = "";
    const host = await serve(async (socket, head) => {
      request = head;
      const all = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`, "latin1"), body]);
      // Cuts inside the status line, inside the blank line's "\r\n\r\n" (bytes 80-83), right after it, and in the body.
      const blank = all.indexOf("\r\n\r\n");
      await dribble(socket, cut(all, [5, 60, blank + 1, blank + 2, blank + 3, blank + 4, blank + 20, 70_000, 2_000_000]));
    });
    const res = await directGet(new URL(`http://${host}/v2/r/blobs/sha256:x?a=1`), { Authorization: "Bearer t", "User-Agent": "tbuild" }, undefined, 10_000);
    expect(res.status).toBe(200);
    expect(res.statusText).toBe("OK");
    expect(res.header("content-type")).toBe("application/octet-stream");
    const got = collector(true);
    await res.pushTo(got.sink);
    expect(sha(got.bytes())).toBe(sha(body));
    expect(request.split("\r\n")[0]).toBe("GET /v2/r/blobs/sha256:x?a=1 HTTP/1.1");
    expect(request).toContain(`\r\nHost: ${host}\r\n`);
    expect(request).toContain("\r\nAuthorization: Bearer t\r\n");
    expect(request).toContain("\r\nConnection: close\r\n");
  });

  it("skips interim answers (103 Early Hints, 100 Continue) before the final one, in the same read or the next", async () => {
    const host = await serve((socket) => void dribble(socket, ["HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 20", "0 OK\r\nContent-Length: 5\r\n\r\nhello"]));
    const res = await directGet(new URL(`http://${host}/`), {}, undefined, 10_000);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("hello");
  });

  it("stops at Content-Length and ignores bytes after it", async () => {
    const host = await serve((socket) => void dribble(socket, ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA"]));
    const res = await directGet(new URL(`http://${host}/`), {}, undefined, 10_000);
    expect(await res.text()).toBe("hello");
  });

  it("decodes chunked coding with extensions and trailer fields, cut at every kind of boundary", async () => {
    const data = randomBytes(200_000);
    const wire = Buffer.concat([
      Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
      Buffer.from(`${(100_000).toString(16)};name=value\r\n`),
      data.subarray(0, 100_000),
      Buffer.from(`\r\n${(99_999).toString(16).toUpperCase()}\r\n`),
      data.subarray(100_000, 199_999),
      Buffer.from("\r\n1\r\n"),
      data.subarray(199_999),
      Buffer.from("\r\n0\r\nX-Trailer: yes\r\n\r\n"),
    ]);
    const head = wire.indexOf("\r\n\r\n") + 4;
    // Cuts inside a size line, between "\r" and "\n", inside the data, and inside the trailer.
    const cuts = [head + 2, head + 12, head + 13, head + 50_000, head + 100_013, head + 100_014, wire.length - 8, wire.length - 1];
    const host = await serve((socket) => void dribble(socket, cut(wire, cuts)));
    const res = await directGet(new URL(`http://${host}/`), {}, undefined, 10_000);
    const got = collector(true);
    await res.pushTo(got.sink);
    expect(sha(got.bytes())).toBe(sha(data));
  });

  it("reads a body without Content-Length to the end of the connection", async () => {
    const data = randomBytes(1_500_000);
    const host = await serve((socket) => void dribble(socket, ["HTTP/1.1 200 OK\r\n\r\n", data.subarray(0, 700_000), data.subarray(700_000)]));
    const res = await directGet(new URL(`http://${host}/`), {}, undefined, 10_000);
    const got = collector(true);
    await res.pushTo(got.sink);
    expect(sha(got.bytes())).toBe(sha(data));
  });

  it("gives an error answer's head and text, with repeated fields joined", async () => {
    const json = JSON.stringify({ errors: [{ code: "UNAUTHORIZED" }] });
    const host = await serve((socket) => void dribble(socket, [`HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm="a"\r\nX-Many: 1\r\nx-many: 2\r\nContent-Length: ${json.length}\r\n\r\n${json}`]));
    const res = await directGet(new URL(`http://${host}/`), {}, undefined, 10_000);
    expect(res.status).toBe(401);
    expect(res.statusText).toBe("Unauthorized");
    expect(res.header("www-authenticate")).toBe('Bearer realm="a"');
    expect(res.header("x-many")).toBe("1, 2");
    expect(res.header("absent")).toBeUndefined();
    expect(await res.text()).toBe(json);
  });

  it("gives the body as an async iterable of copies too", async () => {
    const data = randomBytes(2_500_000);
    const host = await serve((socket) => void dribble(socket, [`HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`, data.subarray(0, 1_000_000), data.subarray(1_000_000)]));
    const res = await directGet(new URL(`http://${host}/`), {}, undefined, 10_000);
    const parts: Uint8Array[] = [];
    for await (const c of res.body) {
      parts.push(c);
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(sha(Buffer.concat(parts))).toBe(sha(data));
  });

  it("rejects a body that breaks off before its Content-Length, with ECONNRESET", async () => {
    const host = await serve((socket) => void dribble(socket, ["HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", "only this"]));
    const res = await directGet(new URL(`http://${host}/`), {}, undefined, 10_000);
    const got = collector();
    await expect(res.pushTo(got.sink)).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(got.bytes().toString()).toBe("only this");
  });

  it("rejects a connection closed before the head is complete", async () => {
    const host = await serve((socket) => void dribble(socket, ["HTTP/1.1 200 OK\r\nContent-Len"]));
    await expect(directGet(new URL(`http://${host}/`), {}, undefined, 10_000)).rejects.toMatchObject({ code: "ECONNRESET" });
  });

  it("rejects a refused connection with the socket's code", async () => {
    const host = await serve(() => undefined);
    const port = Number(host.split(":")[1]);
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 10));
    await expect(directGet(new URL(`http://127.0.0.1:${port}/`), {}, undefined, 10_000)).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it.each([
    ["a bad status line", "HTTP/2 200 OK\r\n\r\n", /bad HTTP status line/],
    ["a header line without a colon", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", /bad HTTP header line/],
    ["conflicting Content-Length values", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", /bad Content-Length/],
    ["a head over 64 KiB", `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(70_000)}\r\n\r\n`, /response head over/],
  ])("rejects %s", async (_what, wire, message) => {
    const host = await serve((socket) => void dribble(socket, [wire]));
    await expect(directGet(new URL(`http://${host}/`), {}, undefined, 10_000)).rejects.toThrow(message);
  });

  it("fails a malformed chunked body", async () => {
    const host = await serve((socket) => void dribble(socket, ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "zz\r\nab\r\n0\r\n\r\n"]));
    const res = await directGet(new URL(`http://${host}/`), {}, undefined, 10_000);
    await expect(res.pushTo(collector().sink)).rejects.toThrow(/malformed chunked body: bad chunk size line/);
  });

  it("refuses a header that would split the request, and a URL that is not http: (https: goes through node:https), before connecting", async () => {
    await expect(directGet(new URL("http://127.0.0.1:1/"), { "X-A": "v\r\nInjected: 1" }, undefined, 10_000)).rejects.toThrow(/invalid HTTP header/);
    await expect(directGet(new URL("http://127.0.0.1:1/"), { "Bad Name": "v" }, undefined, 10_000)).rejects.toThrow(/invalid HTTP header/);
    await expect(directGet(new URL("ftp://127.0.0.1:1/"), {}, undefined, 10_000)).rejects.toThrow(/unsupported URL scheme/);
    await expect(directGet(new URL("https://127.0.0.1:1/"), {}, undefined, 10_000)).rejects.toThrow(/plain http only/);
  });

  it("stops when the signal aborts in the middle of the body, and when a sink throws", async () => {
    const host = await serve((socket) => void dribble(socket, ["HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n", randomBytes(100_000)], false));
    const stop = new AbortController();
    const res = await directGet(new URL(`http://${host}/`), {}, stop.signal, 10_000);
    const piping = res.pushTo(() => stop.abort());
    await expect(piping).rejects.toMatchObject({ name: "AbortError" });

    const res2 = await directGet(new URL(`http://${host}/`), {}, undefined, 10_000);
    await expect(
      res2.pushTo(() => {
        throw new Error("disk full");
      }),
    ).rejects.toThrow("disk full");
  });

  it("fails with ETIMEDOUT when no byte comes for the idle time", async () => {
    const host = await serve((socket) => void dribble(socket, ["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"], false));
    const res = await directGet(new URL(`http://${host}/`), {}, undefined, 100);
    await expect(res.pushTo(collector().sink)).rejects.toMatchObject({ code: "ETIMEDOUT" });
  });
});

describe("sendHttp with direct", () => {
  it("follows a redirect to another origin on the direct path, without Authorization there", async () => {
    const data = randomBytes(1_000_000);
    let seenAuth: string | undefined;
    const storage = await serve((socket, head) => {
      seenAuth = /\r\nauthorization: ([^\r]*)/i.exec(head)?.[1];
      void dribble(socket, [`HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`, data]);
    });
    const front = await serve((socket) => void dribble(socket, [`HTTP/1.1 307 Temporary Redirect\r\nLocation: http://${storage}/blob\r\nContent-Length: 0\r\n\r\n`]));
    const res = await sendHttp(`http://${front}/v2/r/blobs/x`, { method: "GET", headers: { Authorization: "Bearer secret" }, direct: true });
    expect(res.status).toBe(200);
    const got = collector(true);
    await res.pushTo(got.sink);
    expect(sha(got.bytes())).toBe(sha(data));
    expect(seenAuth).toBeUndefined();
  });
});
