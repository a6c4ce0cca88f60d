// A small pool of worker threads, started lazily: a thread costs ~20 ms to start, so none
// starts before the first job, and one more only when every running one is busy. Jobs and
// results are structured-cloned messages; a worker may run several jobs at once (they are
// mostly waiting on I/O) and may send progress messages while a job runs. Idle workers do
// not keep the process alive. Worker scripts run from dist/ (compiled JavaScript).
import { existsSync } from "node:fs";
import { sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker, parentPort } from "node:worker_threads";

/** How many jobs a worker runs at once before the pool starts another (up to `size`). */
const JOBS_PER_WORKER = 2;

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (e: Error) => void;
  readonly onProgress: ((p: unknown) => void) | undefined;
}

interface Slot {
  readonly worker: Worker;
  readonly jobs: Map<number, Pending>;
}

/** A job's error as it crosses the thread boundary (node's `code`, as ENOSPC, kept). */
interface ErrorMessage {
  readonly message: string;
  readonly name?: string;
  readonly code?: string;
}

type Reply = { readonly id: number; readonly progress: unknown } | { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: ErrorMessage };

export class WorkerPool<Job, Result, Progress = never> {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;

  /** `script`: the worker's compiled module (see compiledScript); at most `size` threads. */
  constructor(
    private readonly script: URL,
    private readonly size: number,
  ) {}

  /** Run `job` on a worker; rejects when the job throws or its worker dies. */
  run(job: Job, onProgress?: (p: Progress) => void): Promise<Result> {
    if (this.closed) return Promise.reject(new Error("the worker pool is closed"));
    const slot = this.pick();
    const id = this.nextId++;
    return new Promise<Result>((resolve, reject) => {
      slot.jobs.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress: onProgress as ((p: unknown) => void) | undefined });
      if (slot.jobs.size === 1) slot.worker.ref();
      slot.worker.postMessage({ id, job });
    });
  }

  /** Stop every worker (jobs still running reject). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  /** The least busy worker, or a new one when all are busy and the pool may grow. */
  private pick(): Slot {
    const least = this.slots.reduce<Slot | undefined>((a, s) => (a === undefined || s.jobs.size < a.jobs.size ? s : a), undefined);
    if (least && (least.jobs.size < JOBS_PER_WORKER || this.slots.length >= this.size)) return least;
    return this.start();
  }

  private start(): Slot {
    const worker = new Worker(this.script);
    const slot: Slot = { worker, jobs: new Map() };
    this.slots.push(slot);
    worker.on("message", (m: Reply) => {
      const p = slot.jobs.get(m.id);
      if (!p) return;
      if ("progress" in m) return p.onProgress?.(m.progress);
      slot.jobs.delete(m.id);
      if (slot.jobs.size === 0) worker.unref();
      if ("result" in m) p.resolve(m.result);
      else p.reject(Object.assign(new Error(m.error.message), m.error.name ? { name: m.error.name } : {}, m.error.code ? { code: m.error.code } : {}));
    });
    // A worker that dies fails its jobs; the next job starts a fresh one.
    const fail = (e: Error) => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      for (const p of slot.jobs.values()) p.reject(e);
      slot.jobs.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`worker thread exited (code ${code})`)));
    return slot;
  }
}

/** In a worker script: run each job the pool sends with `handle`, which may report progress. */
export function serveJobs<Job, Result, Progress = never>(handle: (job: Job, progress: (p: Progress) => void) => Promise<Result>): void {
  const port = parentPort;
  if (!port) throw new Error("serveJobs runs in a worker thread");
  port.on("message", ({ id, job }: { id: number; job: Job }) => {
    handle(job, (progress) => port.postMessage({ id, progress })).then(
      (result) => port.postMessage({ id, result }),
      (e: unknown) => port.postMessage({ id, error: errorMessage(e) }),
    );
  });
}

/**
 * The compiled worker script `name` beside the module at `moduleUrl`. When that module is
 * the TypeScript source (tests run src/ directly), its compiled twin under dist/.
 */
export function compiledScript(moduleUrl: string, name: string): URL {
  const beside = new URL(name, moduleUrl);
  if (existsSync(fileURLToPath(beside))) return beside;
  const path = fileURLToPath(beside);
  const at = path.lastIndexOf(`${sep}src${sep}`);
  return at < 0 ? beside : pathToFileURL(`${path.slice(0, at)}${sep}dist${path.slice(at)}`);
}

function errorMessage(e: unknown): ErrorMessage {
  if (!(e instanceof Error)) return { message: String(e) };
  const code = (e as { code?: unknown }).code;
  return { message: e.message, name: e.name, ...(typeof code === "string" ? { code } : {}) };
}
