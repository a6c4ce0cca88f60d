// One blob's whole copy on a worker thread (range-copy-worker.ts): read a range of an open
// archive file, SHA-256 it and write it to a new temporary file, reading each byte once, so
// the digest is of exactly the bytes stored even if the archive changes meanwhile. Two of
// these run at once on a load, one per core (blobs.ts copyRangeInWorker); the main thread
// checks the result, fsyncs the file in the background and renames it at commit.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import type { Digest } from "../util/index.js";
import { JobCancelled } from "./worker-serve.js";

export interface RangeCopyJob {
  /** An open descriptor of the source file (shared by the process's threads). */
  readonly fd: number;
  readonly offset: number;
  readonly size: number;
  /** The temporary file to create (it MUST NOT exist). */
  readonly path: string;
}

export interface RangeCopyResult {
  readonly digest: Digest;
  /** Bytes copied: less than the job's size when the source ended early (the file is then removed). */
  readonly size: number;
}

/** Bytes per read; 1 MiB beat 4 MiB here (the chunk stays in the CPU cache between read, hash and write). */
const CHUNK = 1 << 20;
/** Start writeback (fdatasync in the background) after this many bytes, so the final fsync has little left. */
export const KICK = 32 << 20;

/**
 * Copy `job.size` bytes at `job.offset` of `job.fd` to a new `job.path`, hashing them.
 * Synchronous reads and writes: this thread has nothing else to do, and the loop keeps a
 * core busy without handing each chunk to the libuv pool. The file is not fsynced here:
 * the caller does it in the background while this worker copies the next blob (measured:
 * an fsync here idled each worker 50-110 ms per 128 MiB layer). On any failure or cancel
 * the file is removed.
 */
export async function copyRangeToFile(job: RangeCopyJob, cancelled: () => boolean): Promise<RangeCopyResult> {
  const out = fs.openSync(job.path, "wx", 0o644);
  const h = createHash("sha256");
  const buf = Buffer.allocUnsafe(Math.max(1, Math.min(CHUNK, job.size)));
  // One per KICK bytes, not awaited in the loop: it never yields, so a callback that
  // cleared a single pending kick could not run before the copy ended.
  const kicks: Promise<void>[] = [];
  let copied = 0;
  let keep = false;
  try {
    let sinceKick = 0;
    while (copied < job.size) {
      if (cancelled()) throw new JobCancelled("cancelled");
      const n = fs.readSync(job.fd, buf, 0, Math.min(buf.length, job.size - copied), job.offset + copied);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      h.update(chunk);
      writeAllSync(out, chunk);
      copied += n;
      sinceKick += n;
      if (sinceKick >= KICK) {
        sinceKick = 0;
        kicks.push(new Promise<void>((resolve) => fs.fdatasync(out, () => resolve())));
      }
    }
    keep = copied === job.size;
    return { digest: `sha256:${h.digest("hex")}` as Digest, size: copied };
  } finally {
    await Promise.all(kicks);
    fs.closeSync(out);
    if (!keep) fs.rmSync(job.path, { force: true });
  }
}

function writeAllSync(fd: number, chunk: Uint8Array): void {
  for (let done = 0; done < chunk.length; ) done += fs.writeSync(fd, chunk, done, chunk.length - done);
}
