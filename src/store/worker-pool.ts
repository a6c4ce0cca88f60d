// A small pool of worker threads for CPU-heavy blob jobs (hash while copying), so a
// transfer of several large blobs uses every core. Workers start lazily, one per job up to
// the pool's size; jobs and results are small messages (offsets, paths, digests), never
// the bytes. An idle worker does not keep the process alive and ends after `idleMs`.
// This is the main thread's side; a worker's entry calls serveJobs (worker-serve.ts).
import { availableParallelism } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { ERROR_CODES, TbuildError, type ErrorCode } from "../util/index.js";
import type { JobMessage, JobReply } from "./worker-serve.js";

/** What a job carries besides its payload: a name for errors and an optional abort. */
export interface JobOptions {
  /** Names the blob in errors: `blob blobs/sha256/… in the archive`. */
  readonly label: string;
  /**
   * Stops the job: a queued job is dropped, a running one is asked to stop (its handler
   * sees `cancelled()` turn true) and the promise rejects with the signal's reason once the
   * worker has cleaned up.
   */
  readonly signal?: AbortSignal;
}

export interface WorkerPoolOptions {
  /** Most workers at once (default: the CPU count, at most 2). */
  readonly size?: number;
  /** An idle worker ends after this long (default 1 s); it never holds the process open. */
  readonly idleMs?: number;
}

interface Pending<J, R> {
  readonly id: number;
  readonly job: J;
  readonly opts: JobOptions;
  readonly cancel: Int32Array;
  resolve(r: R): void;
  reject(e: unknown): void;
  /** Detaches the abort listener. */
  done(): void;
}

interface Slot<J, R> {
  readonly worker: Worker;
  job?: Pending<J, R>;
  idleTimer?: NodeJS.Timeout;
}

/**
 * The URL of a worker script given by its compiled name (`range-copy-worker.js`) beside the
 * module at `moduleUrl`. Workers run compiled JavaScript: when the caller runs from source
 * (the tests), the script is looked up in dist/ at the same relative path.
 */
export function workerScriptUrl(moduleUrl: string, jsName: string): URL {
  const here = fileURLToPath(moduleUrl);
  if (here.endsWith(".js")) return new URL(jsName, moduleUrl);
  const i = here.lastIndexOf("/src/");
  if (i < 0) throw new TbuildError("E_INTERNAL", `cannot locate the compiled worker ${jsName} for ${here}`);
  return new URL(jsName, pathToFileURL(`${here.slice(0, i)}/dist${here.slice(i)}`));
}

/**
 * Runs jobs of type J in worker threads started from `script`, which MUST call serveJobs.
 * A failed job rejects with a TbuildError naming its label (the worker's code when it
 * threw a TbuildError, else E_IO); a worker that dies rejects its job the same way and is
 * replaced on demand.
 */
export class WorkerPool<J, R> {
  private readonly slots: Slot<J, R>[] = [];
  private readonly queue: Pending<J, R>[] = [];
  private readonly size: number;
  private readonly idleMs: number;
  private nextId = 0;

  constructor(
    private readonly script: URL,
    opts: WorkerPoolOptions = {},
  ) {
    this.size = Math.max(1, opts.size ?? Math.min(2, availableParallelism()));
    this.idleMs = opts.idleMs ?? 1000;
  }

  /** Run `job` in a worker; resolves with its result. */
  run(job: J, opts: JobOptions): Promise<R> {
    opts.signal?.throwIfAborted();
    return new Promise<R>((resolve, reject) => {
      const cancel = new Int32Array(new SharedArrayBuffer(4));
      const onAbort = () => {
        const queued = this.queue.indexOf(p);
        if (queued >= 0) {
          this.queue.splice(queued, 1);
          p.done();
          reject(opts.signal!.reason);
        } else Atomics.store(cancel, 0, 1);
      };
      const p: Pending<J, R> = { id: this.nextId++, job, opts, cancel, resolve, reject, done: () => opts.signal?.removeEventListener("abort", onAbort) };
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      this.queue.push(p);
      this.dispatch();
    });
  }

  /**
   * Start the workers before the first job (their boot then overlaps the caller's own
   * work); they idle as after a job.
   */
  warm(): void {
    while (this.slots.length < this.size) this.rest(this.spawn());
  }

  /** End every worker now; queued and running jobs reject. */
  async close(): Promise<void> {
    const closed = (p: Pending<J, R>) => this.settle(p, new TbuildError("E_INTERNAL", `${p.opts.label}: the worker pool was closed`));
    this.queue.splice(0).forEach(closed);
    const slots = this.slots.splice(0);
    for (const s of slots) {
      clearTimeout(s.idleTimer);
      if (s.job) closed(s.job);
      s.job = undefined;
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length) {
      const slot = this.slots.find((s) => !s.job) ?? (this.slots.length < this.size ? this.spawn() : undefined);
      if (!slot) return;
      const p = this.queue.shift()!;
      slot.job = p;
      clearTimeout(slot.idleTimer);
      slot.worker.ref();
      slot.worker.postMessage({ id: p.id, job: p.job, cancel: p.cancel } satisfies JobMessage<J>);
    }
  }

  private spawn(): Slot<J, R> {
    const slot: Slot<J, R> = { worker: new Worker(this.script) };
    slot.worker.on("message", (m: JobReply<R>) => this.onReply(slot, m));
    slot.worker.on("error", (e) => this.onExit(slot, e.message));
    slot.worker.on("exit", (code) => this.onExit(slot, `the worker exited with code ${code}`));
    this.slots.push(slot);
    return slot;
  }

  private onReply(slot: Slot<J, R>, m: JobReply<R>): void {
    const p = slot.job;
    if (!p || p.id !== m.id) return;
    slot.job = undefined;
    if ("result" in m) this.settle(p, undefined, m.result);
    else if (m.error.cancelled && p.opts.signal?.aborted) this.settle(p, p.opts.signal.reason);
    else this.settle(p, new TbuildError(isErrorCode(m.error.code) ? m.error.code : "E_IO", `${p.opts.label}: ${m.error.message}`, m.error.hint ? { hint: m.error.hint } : {}));
    if (this.queue.length) this.dispatch();
    else this.rest(slot);
  }

  /** An idle worker lets the process exit, and ends after idleMs. */
  private rest(slot: Slot<J, R>): void {
    slot.worker.unref();
    slot.idleTimer = setTimeout(() => {
      this.drop(slot);
      void slot.worker.terminate();
    }, this.idleMs);
    slot.idleTimer.unref();
  }

  private onExit(slot: Slot<J, R>, why: string): void {
    if (!this.drop(slot)) return;
    clearTimeout(slot.idleTimer);
    const p = slot.job;
    slot.job = undefined;
    if (p) this.settle(p, new TbuildError("E_IO", `${p.opts.label}: ${why}`));
    this.dispatch();
  }

  /** Forget `slot`; false when it was already gone. */
  private drop(slot: Slot<J, R>): boolean {
    const i = this.slots.indexOf(slot);
    if (i < 0) return false;
    this.slots.splice(i, 1);
    return true;
  }

  private settle(p: Pending<J, R>, error: unknown, result?: R): void {
    p.done();
    if (error !== undefined) p.reject(error);
    else p.resolve(result as R);
  }
}

function isErrorCode(code: string | undefined): code is ErrorCode {
  return code !== undefined && Object.hasOwn(ERROR_CODES, code);
}
