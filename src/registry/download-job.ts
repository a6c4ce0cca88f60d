// A big blob's download as a job: one GET, sent with http.ts's sendHttp (the client's own
// default transport: redirects followed, Authorization dropped across origins) with its
// body read straight into one reused buffer over plain http (`direct`, http-direct.ts),
// hashed and written into the store's staging folder (writeVerifiedTemp: node:crypto,
// O_DIRECT writes, fsync). A pull runs these on its worker threads (download-worker.ts)
// and on the main thread alike (worker-download.ts). The caller keeps auth, retries and
// verification: a job only says what happened (a DownloadOutcome).
// Worker threads load this: it reaches the store only through store/worker.ts.
import { rm } from "node:fs/promises";
import type { PushedBytes } from "../image/pushed.js";
import { JobCancelled, writeVerifiedTemp } from "../store/worker.js";
import type { Digest } from "../util/index.js";
import { faultUrl, sendHttp } from "./http.js";
import { StreamHead, StreamTail } from "./stream-tail.js";

export interface DownloadJob {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The folder to write the blob's file in. */
  readonly dir: string;
  /** The descriptor's size: more bytes stop the download. */
  readonly size: number;
  /** The host whose certificate is not verified (--tls-verify=false): the job is structured-cloned to a worker, so it says so itself. */
  readonly unverifiedHost?: string;
}

/** What a job did. Only "written" leaves a file. */
export type DownloadOutcome =
  /** The whole body, hashed and fsynced in `path`; `head` is its first HEAD_BYTES (a zstd frame header), `tail` its last 4 (a gzip trailer's size). */
  | { readonly kind: "written"; readonly path: string; readonly digest: Digest; readonly size: number; readonly head: Uint8Array; readonly tail: Uint8Array }
  /** Not 200: the answer as it came, for the main thread's auth and retry rules. */
  | { readonly kind: "answer"; readonly status: number; readonly statusText: string; readonly headers: Readonly<Record<string, string>>; readonly text: string }
  /** The request failed (`during: "request"`) or its body broke off. */
  | { readonly kind: "fault"; readonly during: "request" | "body"; readonly message: string; readonly code?: string; readonly url?: string }
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
export async function cancellableDownload(job: DownloadJob, cancelled: () => boolean): Promise<DownloadOutcome> {
  const stop = new AbortController();
  const poll = setInterval(() => cancelled() && stop.abort(), CANCEL_POLL_MS);
  try {
    const out = await downloadBlob(job, stop.signal);
    if (stop.signal.aborted || cancelled()) {
      if (out.kind === "written") await rm(out.path, { force: true });
      throw new JobCancelled("the download was cancelled");
    }
    return out;
  } finally {
    clearInterval(poll);
  }
}

/** Run `job`: the blob's file written (and fsynced) in job.dir, or what stopped it; `progress` hears the bytes so far. */
export async function downloadBlob(job: DownloadJob, signal: AbortSignal | undefined, progress?: (done: number) => void): Promise<DownloadOutcome> {
  // Aborted when the writer fails before or while reading the body: the response is then
  // dropped, not left paused (a direct one would hold its socket until its idle timeout).
  const giveUp = new AbortController();
  const stop = signal ? AbortSignal.any([signal, giveUp.signal]) : giveUp.signal;
  let res;
  try {
    res = await sendHttp(job.url, { method: "GET", headers: job.headers, direct: true, signal: stop, ...(job.unverifiedHost !== undefined ? { unverifiedHost: job.unverifiedHost } : {}) });
  } catch (e) {
    return fault("request", e);
  }
  if (res.status !== 200) {
    const headers = Object.fromEntries(ANSWER_HEADERS.flatMap((h) => (res.header(h) === undefined ? [] : [[h, res.header(h)!]])));
    return { kind: "answer", status: res.status, statusText: res.statusText, headers, text: (await res.text().catch(() => "")).slice(0, ANSWER_TEXT_MAX) };
  }
  const head = new StreamHead();
  const tail = new StreamTail();
  // The body, its last 4 bytes kept, and a break in it told apart from a failure of the
  // writer (a sink that threw or rejected).
  let writerFailed = false;
  let broke: { e: unknown } | undefined;
  let done = 0;
  const body: PushedBytes = {
    pushTo: (sink) =>
      res
        .pushTo((piece) => {
          head.see(piece);
          tail.see(piece);
          progress?.((done += piece.length));
          try {
            return sink(piece)?.catch((e: unknown) => {
              writerFailed = true;
              throw e;
            });
          } catch (e) {
            writerFailed = true;
            throw e;
          }
        })
        .catch((e: unknown) => {
          if (!writerFailed) broke = { e };
          throw e;
        }),
  };
  try {
    const mismatch = (what: "size" | "digest", _want: unknown, got: string | number) => new SizeMismatch(what === "size" && typeof got === "number" ? got : undefined);
    const t = await writeVerifiedTemp(job.dir, body, { size: job.size }, mismatch, { hashInProcess: true });
    return { kind: "written", path: t.path, digest: t.digest, size: t.size, head: head.bytes(), tail: tail.bytes() };
  } catch (e) {
    giveUp.abort();
    if (broke) return fault("body", broke.e);
    // Stopping early destroyed the response (its reader was failed).
    if (e instanceof SizeMismatch) return { kind: "size", ...(e.got !== undefined ? { got: e.got } : {}) };
    throw e;
  }
}

function fault(during: "request" | "body", e: unknown): DownloadOutcome {
  const code = (e as { code?: unknown } | undefined)?.code;
  const url = faultUrl(e);
  return { kind: "fault", during, message: e instanceof Error ? e.message : String(e), ...(typeof code === "string" ? { code } : {}), ...(url !== undefined ? { url } : {}) };
}

