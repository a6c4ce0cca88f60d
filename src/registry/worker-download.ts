// Big blob downloads of a pull on worker threads (download-worker.ts). On the main thread
// alone a pull of the 512 MiB registry bench cannot reach skopeo: hashing and HTTP parsing
// of ~270 MB on one core is the cost (a minimal one-thread node:http + node:crypto script
// took 1.14× skopeo), and skopeo (Go) spreads it over both cores. A worker does the whole
// download (GET, hash, write, fsync); the main thread sends it as a transport, so auth
// (a 401 answers with a fresh token), retries and error reporting are the client's as for
// any request, and verifies the result against the descriptor before staging it.
import { availableParallelism } from "node:os";
import { WorkerPool, workerScriptUrl } from "../store/index.js";
import { TbuildError, type Digest } from "../util/index.js";
import type { RegistryClient } from "./client.js";
import type { DownloadJob, DownloadOutcome } from "./download-worker.js";
import type { HttpResponse, HttpTransport } from "./http.js";
import type { WrittenFile } from "./store-port.js";

/**
 * Blobs at least this big go to a worker. A thread costs ~20 ms to start, about what the
 * main thread spends on 16 MiB, so configs and small layers stay here.
 */
export const WORKER_MIN_SIZE = 16 << 20;

/** A downloaded blob's file, with the last 4 bytes of its body (a gzip trailer's size). */
export interface DownloadedFile extends WrittenFile {
  readonly tail: Uint8Array;
}

/** The worker threads of one pull: started by warm() or the first big blob, closed by the pull. */
export class WorkerDownloads {
  private pool: WorkerPool<DownloadJob, DownloadOutcome> | undefined;

  /** `signal` cancels running downloads (their files removed): the client then reports the interruption. */
  constructor(private readonly signal?: AbortSignal) {}

  /** Start the threads now, so their boot overlaps the pull's own requests. */
  warm(): void {
    this.threads().warm();
  }

  /** Download `digest` (`size` bytes) from `repo` into a new file in `dir`. */
  async download(client: RegistryClient, repo: string, digest: Digest, size: number, dir: string): Promise<DownloadedFile> {
    const pool = this.threads();
    let outcome: DownloadOutcome | undefined;
    const transport: HttpTransport = async (url, req) => {
      outcome = await pool.run({ url, headers: { ...req.headers }, dir, size }, { label: `blob ${digest}`, ...(this.signal ? { signal: this.signal } : {}) });
      return asResponse(outcome);
    };
    await client.getBlob(repo, digest, transport);
    // getBlob returned a 200: the worker wrote the body, or it broke off, or had the wrong size.
    const out = outcome!;
    if (out.kind === "written") return out;
    if (out.kind === "size") throw client.wrongSize(repo, digest, size, out.got);
    if (out.kind === "fault") throw client.brokeOff(digest, netError(out));
    throw new TbuildError("E_REGISTRY", `GET blob ${digest} on ${client.registry} answered ${out.status} after its 200`);
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }

  private threads(): WorkerPool<DownloadJob, DownloadOutcome> {
    // Two or three threads, one download each: every core hashes, as skopeo's goroutines do.
    this.pool ??= new WorkerPool(workerScriptUrl(import.meta.url, "./download-worker.js"), { size: Math.min(3, Math.max(2, availableParallelism())) });
    return this.pool;
  }
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
    discard: () => undefined,
    text: async () => answer?.text ?? "",
  };
}

function netError(out: Extract<DownloadOutcome, { kind: "fault" }>): Error {
  return Object.assign(new Error(out.message), out.code ? { code: out.code } : {});
}
