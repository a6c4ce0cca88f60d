// The worker side of worker-pool.ts: a worker thread's entry calls serveJobs with its job
// handler. Kept apart from the pool so a worker loads nothing but node:worker_threads here
// (its boot is on the critical path of the first large blob).
import { parentPort } from "node:worker_threads";

/** Thrown by a handler that stopped because `cancelled()` turned true. */
export class JobCancelled extends Error {
  override readonly name = "JobCancelled";
}

/** A job as posted to a worker. */
export interface JobMessage<J> {
  readonly id: number;
  readonly job: J;
  /** Shared, not copied: the main thread sets element 0 to 1 to cancel. */
  readonly cancel: Int32Array;
}

/** A failure as posted back: a TbuildError's code and hint survive the trip. */
export interface WireError {
  readonly message: string;
  readonly code?: string;
  readonly hint?: string;
  readonly cancelled?: boolean;
}

export type JobReply<R> = { readonly id: number; readonly result: R } | { readonly id: number; readonly error: WireError };

/**
 * Answer each job message with `handle`'s result, or with its error. `cancelled()` turns
 * true when the job's signal aborts; a handler SHOULD check it between chunks, clean up
 * and throw JobCancelled.
 */
export function serveJobs<J, R>(handle: (job: J, cancelled: () => boolean) => Promise<R> | R): void {
  const port = parentPort;
  if (!port) throw new Error("serveJobs runs only in a worker thread");
  port.on("message", async (m: JobMessage<J>) => {
    try {
      const result = await handle(m.job, () => Atomics.load(m.cancel, 0) === 1);
      port.postMessage({ id: m.id, result } satisfies JobReply<R>);
    } catch (e) {
      port.postMessage({ id: m.id, error: toWire(e) } satisfies JobReply<R>);
    }
  });
}

function toWire(e: unknown): WireError {
  if (e instanceof JobCancelled) return { message: e.message, cancelled: true };
  // A TbuildError, recognised without importing util/ (the pool checks the code).
  const { code, hint } = e as { code?: unknown; hint?: unknown };
  const tb = e instanceof Error && e.name === "TbuildError" && typeof code === "string";
  return { message: e instanceof Error ? e.message : String(e), ...(tb ? { code } : {}), ...(tb && typeof hint === "string" ? { hint } : {}) };
}
