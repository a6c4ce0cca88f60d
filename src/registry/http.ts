// HTTP/1.1 for the registry client over node:http and node:https. A blob's body arrives as
// the socket's Buffers, with none of the web-stream layers of Node's fetch (undici), which
// cost ~150 ms of main-thread CPU plus GC per pull of the 512 MiB registry bench (CPU
// profile): the pull went from 1,089 to 862 ms (medians of 5, alternated; skopeo 776 ms).
// Redirects are followed as fetch follows them (registries send blob GETs to storage URLs).
// A big blob's GET over plain http can skip node:http and its Buffer per read (`direct`,
// http-direct.ts; over https it goes through node:https, as http-direct.ts says why).
import { request as plainRequest, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { eachPiece, type PieceSink } from "../image/pushed.js";
import { directGet } from "./http-direct.js";

export interface HttpRequest {
  readonly method: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** A replayable body, or a stream (sent chunked unless a content-length is given). */
  readonly body?: Uint8Array | string | AsyncIterable<Uint8Array>;
  readonly signal?: AbortSignal;
  /**
   * A GET whose body the caller reads with pushTo(): over plain http it is read straight
   * into one reused buffer (http-direct.ts), skipping node:http's Buffer per read.
   */
  readonly direct?: boolean;
  /**
   * A host name (as URL.hostname spells it) whose TLS certificate is not verified: the
   * registry a user reached with --tls-verify=false. Every other host's is, redirects included.
   */
  readonly unverifiedHost?: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly statusText: string;
  /** A response header (lower-case name); repeated headers joined with ", ". */
  header(name: string): string | undefined;
  /** The body as it arrives. Read it to the end (here or with pushTo()), or call discard(). */
  readonly body: AsyncIterable<Uint8Array>;
  /** The body handed to `sink` (instead of reading `body`); resolves after its last piece. */
  pushTo(sink: PieceSink): Promise<void>;
  /** Throw away the rest of the body (the connection is reused when it ends cleanly). */
  discard(): void;
  text(): Promise<string>;
}

/** Sends one request, following redirects; rejects on network faults (with the socket's `code`). */
export type HttpTransport = (url: string, req: HttpRequest) => Promise<HttpResponse>;

const MAX_REDIRECTS = 20; // as fetch
/** No byte for this long (headers or body): the request fails, as undici's 300 s timeouts. */
const IDLE_TIMEOUT_MS = 300_000;

/**
 * The transport: node:http(s) with the global keep-alive agents. On a redirect the method
 * and body are kept (307/308) or become a body-less GET (303; 301/302 after a POST), and a
 * redirect to another origin drops Authorization, as fetch does; a streamed body cannot be
 * replayed, so a redirect of one is an error.
 */
export const sendHttp: HttpTransport = async (url, req) => {
  let target = new URL(url);
  let { method, body } = req;
  let headers: Record<string, string> = { ...req.headers };
  for (let hops = 0; ; hops++) {
    const res = await requestOnce(target, method, headers, body, req).catch((e: unknown) => {
      throw atHop(e, target);
    });
    const location = res.header("location");
    if (!isRedirect(res.status) || location === undefined) {
      // A HEAD answer has no body, but its socket returns to the pool only once it is read.
      if (method === "HEAD") res.discard();
      return res;
    }
    res.discard();
    if (hops === MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects from ${url}`);
    const next = new URL(location, target);
    if (res.status === 303 ? method !== "HEAD" : (res.status === 301 || res.status === 302) && method === "POST") {
      method = "GET";
      body = undefined;
      headers = withoutHeaders(headers, ["content-type", "content-length", "content-encoding", "content-language", "content-location"]);
    } else if (body !== undefined && !isReplayable(body)) {
      throw new Error(`cannot follow the redirect of ${method} ${target.pathname} with a streamed body`);
    }
    if (next.origin !== target.origin) headers = withoutHeaders(headers, ["authorization", "cookie", "proxy-authorization"]);
    target = next;
  }
};

/**
 * A request's fault, with the URL of the hop that failed (`url`): after a redirect that is
 * not the URL asked for, and a certificate fault there is that host's, not the registry's.
 */
function atHop(e: unknown, target: URL): unknown {
  if (e instanceof Error && (e as { url?: unknown }).url === undefined) Object.assign(e, { url: target.href });
  return e;
}

/** The URL of the hop a sendHttp fault happened at (undefined for another error). */
export function faultUrl(e: unknown): string | undefined {
  const url = (e as { url?: unknown } | undefined)?.url;
  return typeof url === "string" ? url : undefined;
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function isReplayable(body: HttpRequest["body"]): body is Uint8Array | string {
  return typeof body === "string" || body instanceof Uint8Array;
}

function withoutHeaders(headers: Record<string, string>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !names.includes(k.toLowerCase())));
}

/**
 * node:https (with TLS), loaded for the first https URL: ~2.5 ms of every thread's start
 * (a pull's download workers too) that a plain-http registry never needs.
 */
let tls: Promise<typeof import("node:https")> | undefined;

async function requestOnce(url: URL, method: string, headers: Record<string, string>, body: HttpRequest["body"], req: HttpRequest): Promise<HttpResponse> {
  if (req.direct && method === "GET" && body === undefined && url.protocol === "http:") return directGet(url, headers, req.signal, IDLE_TIMEOUT_MS);
  return wrap(await nodeRequest(url, method, headers, body, req.signal, url.hostname !== req.unverifiedHost));
}

async function nodeRequest(url: URL, method: string, headers: Record<string, string>, body: HttpRequest["body"], signal: AbortSignal | undefined, verify: boolean): Promise<IncomingMessage> {
  const send = url.protocol === "https:" ? (await (tls ??= import("node:https"))).request : url.protocol === "http:" ? plainRequest : undefined;
  if (!send) throw new Error(`unsupported URL scheme in ${url.href}`);
  const outgoing: OutgoingHttpHeaders = { ...headers };
  if (isReplayable(body) && !Object.keys(headers).some((k) => k.toLowerCase() === "content-length")) outgoing["content-length"] = Buffer.byteLength(body);
  return await new Promise<IncomingMessage>((resolve, reject) => {
    // The global agent keeps unverified connections apart: rejectUnauthorized is part of its pool key.
    const req = send(url, { method, headers: outgoing, ...(signal ? { signal } : {}), ...(verify ? {} : { rejectUnauthorized: false }) });
    let response: IncomingMessage | undefined;
    // Before the response a fault rejects; after it, it breaks the body its reader iterates.
    req.on("error", (e) => (response ? response.destroy(e) : reject(e)));
    req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error(`no answer for ${IDLE_TIMEOUT_MS / 1000} s`), { code: "ETIMEDOUT" })));
    req.on("response", (res) => {
      response = res;
      resolve(res);
    });
    if (body === undefined) req.end();
    else if (isReplayable(body)) req.end(body);
    else pipeline(Readable.from(body, { objectMode: false }), req).catch((e: unknown) => req.destroy(e as Error));
  });
}

function wrap(res: IncomingMessage): HttpResponse {
  return {
    status: res.statusCode ?? 0,
    statusText: res.statusMessage ?? "",
    header(name) {
      const v = res.headers[name];
      return Array.isArray(v) ? v.join(", ") : v;
    },
    body: res,
    pushTo: (sink) => eachPiece(res as AsyncIterable<Buffer>, sink),
    discard: () => void res.resume(),
    async text() {
      const parts: Buffer[] = [];
      for await (const c of res) parts.push(c as Buffer);
      return Buffer.concat(parts).toString("utf8");
    },
  };
}
