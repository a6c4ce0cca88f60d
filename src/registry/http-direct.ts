// A plain-http GET over HTTP/1.1 whose body is read into one reusable 1 MiB buffer (the
// `onread` of a net.Socket) and handed to a sink piece by piece, instead of node:http's
// Readable of a fresh Buffer per socket read. http.ts sends a blob GET to an http: URL this
// way when its caller asks for it (`direct`); every other request goes through node:http(s).
// Why: the per-read Buffers (malloc, page faults, the Readable machinery) cost more CPU
// than hashing the bytes. A 64 MiB blob GET from a local docker-registry, hashed with
// node:crypto, medians of 3: 155 ms of CPU through node:http, 107 through a net.Socket's
// 'data' events, 61 this way (~1 MiB per read callback instead of 64 KiB).
//
// The framing is the part of RFC 9112 a response to a GET needs: a status line and header
// fields, then a body delimited by Content-Length, by chunked transfer coding, or by the
// end of the connection. The request says `Connection: close`: one connection per blob.
//
// Not over TLS: a tls.TLSSocket takes `onread` too, but once its callback returns false
// (pause) TLSWrap goes on decrypting the records it holds into the same buffer, and its
// 'end' can come while paused (a 20 MiB body from a node:https server, pausing every third
// read for 2 ms: 510 of 1281 reads came while paused), so bytes were lost or repeated, or
// the body broke off. And each read is one TLS record (<= 16 KiB), not ~1 MiB, so the
// one buffer would save little there.
import { connect, type Socket } from "node:net";
import { copiesOf, type PieceSink } from "../image/pushed.js";
import type { HttpResponse } from "./http.js";

/** The buffer every read of one response lands in. */
const READ_BUFFER = 1 << 20;
/** A status line and header fields longer than this are refused (as node:http's 16 KiB, with room). */
const MAX_HEAD = 64 << 10;
/** A chunk-size line (with extensions) or trailer line longer than this is refused. */
const MAX_LINE = 4096;

type Framing = { kind: "length"; left: number } | { kind: "chunked" } | { kind: "close" } | { kind: "none" };

/** Opens a connection whose reads land in `onread`'s buffer. */
type Connect = (onread: { buffer: Uint8Array; callback: (n: number, buf: Uint8Array) => boolean }) => Socket;

/**
 * Send `GET url` (http: only) with `headers` and resolve once the status line and header
 * fields are in; the body is then the caller's to read (pushTo, body, text) or discard.
 * Rejects with the socket's error (its `code`: a refused connection) on a fault before the
 * head, with ETIMEDOUT after `idleMs` without a byte, and with an AbortError when `signal`
 * aborts.
 */
export async function directGet(url: URL, headers: Readonly<Record<string, string>>, signal: AbortSignal | undefined, idleMs: number): Promise<HttpResponse> {
  if (url.protocol !== "http:") throw new Error(`unsupported URL scheme in ${url.href} (a direct GET is plain http only)`);
  const request = requestHead(url, headers);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const open: Connect = (onread) => connect({ host, port: Number(url.port || 80), onread });
  return await new DirectResponseReader(open, request, signal, idleMs).head;
}

/** The request's bytes; a header name or value that would split the request is refused. */
function requestHead(url: URL, headers: Readonly<Record<string, string>>): string {
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower === "host" || lower === "connection" || lower === "content-length" || lower === "transfer-encoding") continue;
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(value)) throw new Error(`invalid HTTP header ${JSON.stringify(name)}`);
    lines.push(`${name}: ${value}`);
  }
  lines.push("Connection: close", "", "");
  return lines.join("\r\n");
}

/**
 * One response, read as it arrives: the head is gathered (a few small copies), the body is
 * passed to the sink as views of the read buffer. While a sink's promise is pending the
 * socket is paused (no read can overwrite the view the sink holds); a read callback that
 * returns false pauses it, and drain() resumes it.
 */
class DirectResponseReader {
  readonly head: Promise<HttpResponse>;
  private resolveHead!: (res: HttpResponse) => void;
  private rejectHead!: (e: Error) => void;
  private readonly socket: Socket;
  /** The head's bytes so far (copies: the read buffer is reused). */
  private headBytes = Buffer.alloc(0);
  private headDone = false;
  private framing: Framing = { kind: "none" };
  /** Chunked coding: where in it the reader is, and the line being gathered. */
  private chunkState: "size" | "data" | "data-end" | "trailer" = "size";
  private chunkLeft = 0;
  private line = "";
  /** The bytes of the last read not yet handed on (valid while the socket is paused). */
  private view: Uint8Array = new Uint8Array(0);
  private at = 0;
  private sink: PieceSink | undefined;
  /** A sink's promise is pending. */
  private waiting = false;
  /** The server ended the connection (a close-delimited body's end). */
  private eof = false;
  /** The body's last byte was handed on. */
  private ended = false;
  private bodyDone: { resolve: () => void; reject: (e: Error) => void } | undefined;
  /** Set once the response is over, one way or the other: nothing after counts. */
  private over: { error?: Error } | undefined;

  constructor(open: Connect, request: string, signal: AbortSignal | undefined, idleMs: number) {
    this.head = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    const buffer = Buffer.allocUnsafe(READ_BUFFER);
    this.socket = open({ buffer, callback: (n, buf) => this.onRead(buf.subarray(0, n)) });
    this.socket.setNoDelay(true);
    this.socket.setTimeout(idleMs, () => this.fail(Object.assign(new Error(`no answer for ${idleMs / 1000} s`), { code: "ETIMEDOUT" })));
    this.socket.on("error", (e) => this.fail(e));
    this.socket.on("end", () => this.onEnd());
    // After the end of a close-delimited body the close is its end, which drain() settles.
    this.socket.on("close", () => this.eof || this.fail(hangUp()));
    if (signal) {
      const abort = () => this.fail(Object.assign(new Error("The operation was aborted"), { name: "AbortError", code: "ABORT_ERR" }));
      if (signal.aborted) abort();
      else {
        signal.addEventListener("abort", abort, { once: true });
        this.socket.once("close", () => signal.removeEventListener("abort", abort));
      }
    }
    this.socket.write(request, "latin1");
  }

  /** One read: true to keep reading, false to pause until the sink catches up. */
  private onRead(bytes: Uint8Array): boolean {
    // A read while the last one is not all handed on, or while a sink holds a piece, has
    // already overwritten them (what TLSWrap does, see above; libuv's TCP reads stop at the
    // pause): fail loudly rather than pass on the mix.
    if (this.waiting || this.at < this.view.length) {
      this.fail(new Error("internal error: the socket was read while its reader was paused"));
      return false;
    }
    this.view = bytes;
    this.at = 0;
    if (!this.headDone && !this.readHead()) return !this.over;
    return this.drain();
  }

  /** Gather the head; true once it is complete (the body's first bytes stay in `view`). */
  private readHead(): boolean {
    const before = this.headBytes.length;
    const kept = Buffer.concat([this.headBytes, this.view]);
    // The blank line may straddle two reads: search from 3 bytes before this one.
    const end = kept.indexOf("\r\n\r\n", Math.max(0, before - 3), "latin1");
    if (end < 0 || end > MAX_HEAD) {
      if (end > MAX_HEAD || kept.length > MAX_HEAD) this.fail(new Error(`response head over ${MAX_HEAD} bytes`));
      this.headBytes = kept;
      this.at = this.view.length; // all of it kept in headBytes
      return false;
    }
    this.headDone = true;
    this.headBytes = Buffer.alloc(0);
    this.at = end + 4 - before;
    const parsed = parseHead(kept.subarray(0, end).toString("latin1"));
    if (parsed instanceof Error) {
      this.fail(parsed);
      return false;
    }
    if (parsed.status >= 100 && parsed.status < 200 && parsed.status !== 101) {
      // An interim answer (100 Continue, 103 Early Hints): skipped, as node:http does; the
      // final head follows, maybe in this same read.
      this.headDone = false;
      this.view = this.view.subarray(this.at);
      this.at = 0;
      return this.readHead();
    }
    this.framing = parsed.framing;
    this.resolveHead(this.response(parsed));
    return true;
  }

  private response(parsed: ParsedHead): HttpResponse {
    const pushTo = (sink: PieceSink) => this.pushTo(sink);
    const discard = () => void this.socket.destroy();
    return {
      status: parsed.status,
      statusText: parsed.statusText,
      header: (name) => parsed.headers.get(name),
      pushTo,
      get body() {
        return copiesOf({ pushTo }, discard);
      },
      discard,
      async text() {
        const parts: Buffer[] = [];
        await pushTo((c) => void parts.push(Buffer.from(c)));
        return Buffer.concat(parts).toString("utf8");
      },
    };
  }

  /** Hand the body to `sink`; resolves after its last byte (and the sink's last promise). */
  private pushTo(sink: PieceSink): Promise<void> {
    if (this.sink) return Promise.reject(new Error("the response body is already being read"));
    this.sink = sink;
    const done = new Promise<void>((resolve, reject) => (this.bodyDone = { resolve, reject }));
    if (this.over?.error) this.bodyDone!.reject(this.over.error);
    else if (this.drain()) this.socket.resume();
    return done;
  }

  /**
   * Pass on what is left of the last read. True when all of it was taken at once (keep
   * reading); false when the reader waits, for a sink or a sink's promise (whose
   * settling drains again and resumes the socket).
   */
  private drain(): boolean {
    if (!this.sink || this.over) return false;
    while (!this.ended && !this.over) {
      const piece = this.nextPiece();
      if (piece === undefined) break;
      if (piece.length === 0) continue;
      let pending: void | Promise<void>;
      try {
        pending = this.sink(piece);
      } catch (e) {
        this.fail(e as Error);
        return false;
      }
      if (pending) {
        this.waiting = true;
        pending.then(
          () => {
            this.waiting = false;
            if (this.drain()) this.socket.resume();
          },
          (e: unknown) => this.fail(e as Error),
        );
        return false;
      }
    }
    if (!this.ended) return !this.over;
    this.over = {};
    this.bodyDone?.resolve();
    this.socket.destroy();
    return false;
  }

  /** The next piece of body in `view` (empty: framing bytes only), or undefined when `view` is used up or the body ended. */
  private nextPiece(): Uint8Array | undefined {
    const f = this.framing;
    if (f.kind === "none" || (f.kind === "length" && f.left === 0)) {
      this.ended = true;
      return undefined;
    }
    if (this.at >= this.view.length) {
      if (this.eof && f.kind === "close") this.ended = true;
      return undefined;
    }
    if (f.kind === "close") return this.take(this.view.length - this.at);
    if (f.kind === "length") {
      const piece = this.take(Math.min(f.left, this.view.length - this.at));
      f.left -= piece.length;
      return piece;
    }
    return this.nextChunkPiece();
  }

  private take(n: number): Uint8Array {
    const piece = this.view.subarray(this.at, this.at + n);
    this.at += n;
    return piece;
  }

  /** Chunked transfer coding: data pieces out; size lines, CRLFs and trailer fields consumed. */
  private nextChunkPiece(): Uint8Array | undefined {
    if (this.chunkState === "data") {
      const piece = this.take(Math.min(this.chunkLeft, this.view.length - this.at));
      this.chunkLeft -= piece.length;
      if (this.chunkLeft === 0) this.chunkState = "data-end";
      return piece;
    }
    const line = this.readLine();
    if (line === undefined) return undefined;
    if (this.chunkState === "data-end") {
      if (line !== "") return this.broken("no CRLF after a chunk's data");
      this.chunkState = "size";
    } else if (this.chunkState === "size") {
      const m = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(line);
      if (!m) return this.broken(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
      this.chunkLeft = parseInt(m[1]!, 16);
      this.chunkState = this.chunkLeft === 0 ? "trailer" : "data";
    } else if (line === "") this.ended = true; // the blank line after the trailer fields
    return new Uint8Array(0);
  }

  /** A line from `view`, gathered across reads, without its CRLF; undefined until it is whole. */
  private readLine(): string | undefined {
    const v = this.view;
    const lf = v.indexOf(0x0a, this.at);
    const end = lf < 0 ? v.length : lf;
    this.line += Buffer.from(v.buffer, v.byteOffset + this.at, end - this.at).toString("latin1");
    this.at = lf < 0 ? v.length : lf + 1;
    if (this.line.length > MAX_LINE) return this.broken(`a line over ${MAX_LINE} bytes`);
    if (lf < 0) return undefined;
    const line = this.line.endsWith("\r") ? this.line.slice(0, -1) : this.line;
    this.line = "";
    return line;
  }

  private broken(why: string): undefined {
    this.fail(new Error(`malformed chunked body: ${why}`));
    this.at = this.view.length;
    return undefined;
  }

  /** The server ended the connection: the end of a close-delimited body, else a break. */
  private onEnd(): void {
    if (!this.headDone || this.framing.kind !== "close") return this.fail(hangUp());
    this.eof = true;
    // A sink still holding the last read finishes it first; its drain then sees the end.
    if (!this.waiting) this.drain();
  }

  private fail(e: Error): void {
    if (this.over) return;
    this.over = { error: e };
    this.rejectHead(e);
    this.bodyDone?.reject(e);
    this.socket.destroy();
  }
}

function hangUp(): Error {
  return Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
}

interface ParsedHead {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Map<string, string>;
  readonly framing: Framing;
}

/** Status line and header fields; repeated fields joined with ", " (as node:http does for most). */
export function parseHead(text: string): ParsedHead | Error {
  const lines = text.split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? "");
  if (!status) return new Error(`bad HTTP status line ${JSON.stringify((lines[0] ?? "").slice(0, 60))}`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon))) return new Error(`bad HTTP header line ${JSON.stringify(line.slice(0, 60))}`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const had = headers.get(name);
    headers.set(name, had === undefined ? value : `${had}, ${value}`);
  }
  const code = Number(status[1]);
  const framing = framingOf(code, headers);
  return framing instanceof Error ? framing : { status: code, statusText: status[2] ?? "", headers, framing };
}

/** How the body is delimited (RFC 9112 §6.3, for a response to a GET). */
function framingOf(status: number, headers: Map<string, string>): Framing | Error {
  if ((status >= 100 && status < 200) || status === 204 || status === 304) return { kind: "none" };
  const te = headers.get("transfer-encoding");
  if (te !== undefined) {
    const codings = te.toLowerCase().split(",").map((s) => s.trim());
    if (codings[codings.length - 1] !== "chunked") return { kind: "close" };
    if (codings.length > 1) return new Error(`unsupported transfer coding ${JSON.stringify(te)}`);
    return { kind: "chunked" };
  }
  const cl = headers.get("content-length");
  if (cl === undefined) return { kind: "close" };
  const lengths = new Set(cl.split(",").map((s) => s.trim()));
  const [only] = lengths;
  if (lengths.size !== 1 || !/^\d{1,15}$/.test(only!)) return new Error(`bad Content-Length ${JSON.stringify(cl)}`);
  return { kind: "length", left: Number(only) };
}
