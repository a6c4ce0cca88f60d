// The lanes of a pull's big blob downloads: this thread and worker threads
// (download-worker.ts), which transfer.ts starts by default when a pull lacks more than one
// big layer (PullOptions.workerThreads overrides). A worker does the whole download (GET,
// hash, write, fsync); the client runs the worker's job as the request's transport, so
// auth (a 401 answers with a fresh token), retries and error reporting are the client's as
// for any request, and this thread verifies the file against the descriptor before staging it.
// Why: on one thread, hashing and reading the 512 MiB bench's ~270 MB is the cost, and
// skopeo spreads it over both cores. Each worker costs ~33 ms of CPU to start (an empty
// one ~28; download-worker.ts), so a pull starts one per big missing layer beyond the
// first, at most MAX_PULL_WORKERS (transfer.ts), and none for a single big layer.
// Measured on the 2-core bench machine, medians of alternated rounds:
//  - with node:http's Buffer per socket read (before http-direct.ts), two workers were
//    best: 857 and 793 ms against three's 1005 and 1002 (runs of 11 and 9 rounds, load
//    1.5-4.1; skopeo 764 and 739), and workers loading the whole store (~72 ms each to
//    start) cost ~50 ms more per pull than through store/worker.ts.
//  - with direct reads (a blob's download costs ~40% of the CPU it did), runs of 6 and 9
//    rounds at load 2.0-3.9 (other work running): one worker 505 and 616 ms, two 532 and
//    674, three 547 and 722, none (every big layer on this thread at once) 532 and 616;
//    skopeo 745 and 1030. One worker it is: two lanes fill the two cores.
import type { WorkerPool } from "../store/index.js";
import { TbuildError, type Digest } from "../util/index.js";
import type { RegistryClient } from "./client.js";
import type { DownloadJob, DownloadOutcome } from "./download-job.js";
import type { HttpResponse, HttpTransport } from "./http.js";
import { loadStore } from "./store-module.js";
import type { WrittenFile } from "./store-port.js";

/** Blobs at least this big take a lane; configs and small layers stay on this thread. */
export const WORKER_MIN_SIZE = 16 << 20;

/** A downloaded blob's file, with its first and last bytes. */
export interface DownloadedFile extends WrittenFile {
  /** The body's first bytes (stream-tail.ts's HEAD_BYTES): a zstd layer's frame header. */
  readonly head: Uint8Array;
  /** The body's last 4 bytes: a gzip layer's plain size. */
  readonly tail: Uint8Array;
}

/** Where a big blob downloads: on this thread, or on a worker. */
export type Lane = "here" | "worker";

/**
 * The lanes of one pull's big blobs: this thread and each worker thread, one download
 * each at a time (a big blob waits for a free lane). The workers start with warm() or the
 * first worker download, and end with close().
 */
export class WorkerDownloads {
  private pool: Promise<WorkerPool<DownloadJob, DownloadOutcome>> | undefined;
  private readonly free: Lane[];
  private readonly waiting: ((lane: Lane) => void)[] = [];

  /**
   * `threads` workers besides this thread. `signal` cancels running downloads (their files
   * removed): the client then reports the interruption.
   */
  constructor(
    private readonly threads: number,
    private readonly signal?: AbortSignal,
  ) {
    this.free = [...Array<Lane>(threads).fill("worker"), "here"];
  }

  /** A free lane, once there is one; give it back with release(). */
  async lane(): Promise<Lane> {
    return this.free.shift() ?? (await new Promise<Lane>((resolve) => this.waiting.push(resolve)));
  }

  release(lane: Lane): void {
    const next = this.waiting.shift();
    if (next) next(lane);
    else this.free.push(lane);
  }

  /** Start the threads now, so their boot overlaps the pull's own requests. */
  warm(): void {
    void this.workers().then((pool) => pool.warm());
  }

  /** Download `digest` (`size` bytes) from `repo` into a new file in `dir`, on a worker. */
  async download(client: RegistryClient, repo: string, digest: Digest, size: number, dir: string): Promise<DownloadedFile> {
    const pool = await this.workers();
    return downloadBlobFile(client, repo, digest, size, dir, (job) => pool.run(job, { label: `blob ${digest}`, ...(this.signal ? { signal: this.signal } : {}) }));
  }

  async close(): Promise<void> {
    await (await this.pool)?.close();
  }

  private workers(): Promise<WorkerPool<DownloadJob, DownloadOutcome>> {
    this.pool ??= loadStore().then(({ WorkerPool, workerScriptUrl }) => new WorkerPool(workerScriptUrl(import.meta.url, "./download-worker.js"), { size: this.threads }));
    return this.pool;
  }
}

/**
 * Download `digest` (`size` bytes) from `repo` into a new file in `dir` by running a
 * download job (download-job.ts) with `run`: on a worker, or on this thread. The client
 * runs the job as the request's transport, so its auth, retries and errors apply.
 */
export async function downloadBlobFile(client: RegistryClient, repo: string, digest: Digest, size: number, dir: string, run: (job: DownloadJob) => Promise<DownloadOutcome>): Promise<DownloadedFile> {
  let outcome: DownloadOutcome | undefined;
  const transport: HttpTransport = async (url, req) => {
    outcome = await run({ url, headers: { ...req.headers }, dir, size, ...(req.unverifiedHost !== undefined ? { unverifiedHost: req.unverifiedHost } : {}) });
    return asResponse(outcome);
  };
  await client.getBlob(repo, digest, transport);
  // getBlob returned a 200: the job wrote the body, or it broke off, or had the wrong size.
  const out = outcome!;
  if (out.kind === "written") return out;
  if (out.kind === "size") throw client.wrongSize(repo, digest, size, out.got);
  if (out.kind === "fault") throw client.brokeOff(digest, netError(out));
  throw new TbuildError("E_REGISTRY", `GET blob ${digest} on ${client.registry} answered ${out.status} after its 200`);
}

/**
 * Download on this thread: the same job as a worker's (`signal` stops it), telling
 * `progress` the bytes so far. The job's module loads the store (store/worker.ts), so it
 * loads when first needed (registry/ reaches the store only that way: store-module.ts).
 */
export async function downloadHere(client: RegistryClient, repo: string, digest: Digest, size: number, dir: string, signal: AbortSignal | undefined, progress: (done: number) => void): Promise<DownloadedFile> {
  const { downloadBlob } = await import("./download-job.js");
  return downloadBlobFile(client, repo, digest, size, dir, (job) => downloadBlob(job, signal, progress));
}

/** The worker's outcome as the client's transport answers: a request fault rejects; anything else is a response. */
function asResponse(out: DownloadOutcome): HttpResponse {
  if (out.kind === "fault" && out.during === "request") throw netError(out);
  const answer = out.kind === "answer" ? out : undefined;
  return {
    status: answer?.status ?? 200,
    statusText: answer?.statusText ?? "OK",
    header: (name) => answer?.headers[name],
    body: (async function* () {})(),
    pushTo: async () => undefined,
    discard: () => undefined,
    text: async () => answer?.text ?? "",
  };
}

function netError(out: Extract<DownloadOutcome, { kind: "fault" }>): Error {
  return Object.assign(new Error(out.message), out.code ? { code: out.code } : {}, out.url !== undefined ? { url: out.url } : {});
}
