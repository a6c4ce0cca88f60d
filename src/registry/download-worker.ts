// A worker thread of a pull (worker-download.ts starts it): one blob GET per job, sent
// with http.ts's sendHttp (the client's own default transport: redirects followed,
// Authorization dropped across origins), hashed and written into the store's staging
// folder (writeVerifiedTemp: node:crypto on this thread, O_DIRECT writes, fsync), so
// hashing and HTTP parsing of big layers use more than one core. The main thread keeps auth, retries and
// verification: this thread only says what happened (a DownloadOutcome).
// It loads the store through store/worker.ts, not index.ts: 8 of our modules instead of
// index.ts's 44 (a worker's boot took ~33 ms of CPU instead of ~72; an empty worker's ~28).
import { rm } from "node:fs/promises";
import { JobCancelled, serveJobs, writeVerifiedTemp } from "../store/worker.js";
import type { Digest } from "../util/index.js";
import { sendHttp } from "./http.js";
import { StreamTail } from "./stream-tail.js";

export interface DownloadJob {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The folder to write the blob's file in. */
  readonly dir: string;
  /** The descriptor's size: more bytes stop the download. */
  readonly size: number;
}

/** What a job did. Only "written" leaves a file. */
export type DownloadOutcome =
  /** The whole body, hashed and fsynced in `path`; `tail` is its last 4 bytes (a gzip trailer's size). */
  | { readonly kind: "written"; readonly path: string; readonly digest: Digest; readonly size: number; readonly tail: Uint8Array }
  /** Not 200: the answer as it came, for the main thread's auth and retry rules. */
  | { readonly kind: "answer"; readonly status: number; readonly statusText: string; readonly headers: Readonly<Record<string, string>>; readonly text: string }
  /** The request failed (`during: "request"`) or its body broke off. */
  | { readonly kind: "fault"; readonly during: "request" | "body"; readonly message: string; readonly code?: string }
  /** The body had `got` bytes (undefined: more than the job's size). */
  | { readonly kind: "size"; readonly got?: number };

/** How often a running job looks at its cancel flag (the pull was interrupted). */
const CANCEL_POLL_MS = 50;
/** Headers of a non-200 answer the client reads: the auth challenge and the error body's type. */
const ANSWER_HEADERS = ["www-authenticate", "content-type", "retry-after"];
/** An error answer's body is short JSON; more is cut. */
const ANSWER_TEXT_MAX = 64 << 10;

class SizeMismatch extends Error {
  constructor(readonly got: number | undefined) {
    super("size mismatch");
  }
}

/**
 * A download that stops (JobCancelled, its file removed) when the pool cancels it, even while
 * no byte arrives. A cancel seen only once the file is written (during its fsync, or between
 * two polls) removes the file too: the pool rejects a cancelled job, so nobody else would.
 */
async function cancellable(job: DownloadJob, cancelled: () => boolean): Promise<DownloadOutcome> {
  const stop = new AbortController();
  const poll = setInterval(() => cancelled() && stop.abort(), CANCEL_POLL_MS);
  try {
    const out = await download(job, stop.signal);
    if (stop.signal.aborted || cancelled()) {
      if (out.kind === "written") await rm(out.path, { force: true });
      throw new JobCancelled("the download was cancelled");
    }
    return out;
  } finally {
    clearInterval(poll);
  }
}

async function download(job: DownloadJob, signal: AbortSignal): Promise<DownloadOutcome> {
  let res;
  try {
    res = await sendHttp(job.url, { method: "GET", headers: job.headers, signal });
  } catch (e) {
    return fault("request", e);
  }
  if (res.status !== 200) {
    const headers = Object.fromEntries(ANSWER_HEADERS.flatMap((h) => (res.header(h) === undefined ? [] : [[h, res.header(h)!]])));
    return { kind: "answer", status: res.status, statusText: res.statusText, headers, text: (await res.text().catch(() => "")).slice(0, ANSWER_TEXT_MAX) };
  }
  const body = res.body;
  const tail = new StreamTail();
  let broke: { e: unknown } | undefined;
  // The body, its last 4 bytes kept and a break in it told apart from a write failure.
  const watched = async function* () {
    try {
      for await (const c of body) {
        tail.see(c);
        yield c;
      }
    } catch (e) {
      broke = { e };
      throw e;
    }
  };
  try {
    const mismatch = (what: "size" | "digest", _want: unknown, got: string | number) => new SizeMismatch(what === "size" && typeof got === "number" ? got : undefined);
    const t = await writeVerifiedTemp(job.dir, watched(), { size: job.size }, mismatch, { hashInProcess: true });
    return { kind: "written", path: t.path, digest: t.digest, size: t.size, tail: tail.bytes() };
  } catch (e) {
    if (broke) return fault("body", broke.e);
    // Stopping early destroyed the response (its iterator was returned).
    if (e instanceof SizeMismatch) return { kind: "size", ...(e.got !== undefined ? { got: e.got } : {}) };
    throw e;
  }
}

function fault(during: "request" | "body", e: unknown): DownloadOutcome {
  const code = (e as { code?: unknown } | undefined)?.code;
  return { kind: "fault", during, message: e instanceof Error ? e.message : String(e), ...(typeof code === "string" ? { code } : {}) };
}

serveJobs(cancellable);
