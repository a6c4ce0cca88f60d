// Content-addressed blob files (STYLE.md example 6): stream (or copy a file range) to a
// temporary file, digest while writing (sha256-stream.ts), verify size and digest, fsync,
// rename into place.
// Every failure path removes the temporary file.
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import { join } from "node:path";
import { TbuildError, digestHex, type Digest } from "../util/index.js";
import { readFully, type BlobExpectation, type BlobInfo, type RandomAccessInput } from "../image/index.js";
import type { RangeCopyJob, RangeCopyResult } from "./range-copy.js";
import { TempWriter, fillFile, fillTemp, tempName, verify, writeVerifiedTemp, type BlobBytes, type Mismatch, type WriteTempOptions, type WrittenTemp } from "./temp-file.js";
import { WorkerPool, workerScriptUrl } from "./worker-pool.js";

/** How errors name a blob. */
function labelOf(expect: BlobExpectation): string {
  return expect.label ?? (expect.digest ? `blob ${expect.digest}` : "blob");
}

function mismatch(expect: BlobExpectation, what: string, want: string | number, got: string | number): TbuildError {
  return new TbuildError("E_ARCHIVE_INVALID", `${labelOf(expect)}: ${what} mismatch: expected ${want}, got ${got}`, { hint: "the data is truncated or was modified; nothing was stored" });
}

/**
 * Write `data` to a new temporary file in `tmpDir` (temp-file.ts: hashed as it is written,
 * verified against `expect`, fsynced); a difference throws `opts.mismatch`'s error, else
 * an E_ARCHIVE_INVALID naming the blob. The caller renames or removes the file.
 */
export function writeTemp(tmpDir: string, data: BlobBytes, expect: BlobExpectation = {}, opts: WriteTempOptions = {}): Promise<WrittenTemp> {
  return writeVerifiedTemp(tmpDir, data, expect, failWith(expect, opts), opts);
}

/**
 * As writeTemp, with the `size` bytes at `offset` of `input` (an uncompressed archive's
 * layer) as the data. Reads, writes and hashing overlap: 1 MiB reads run ahead on the
 * libuv pool, the previous chunk is written there too, and node:crypto hashes the current
 * one on this thread, in a ring of reused buffers. (On the 512 MiB bench that beat fresh
 * buffers per read and 4 MiB chunks; piping to `openssl` would need the buffers to stay
 * untouched while queued, and costs a copy through the pipe.)
 */
export function copyRangeToTemp(tmpDir: string, input: RandomAccessInput, offset: number, size: number, expect: BlobExpectation = {}, opts: WriteTempOptions = {}): Promise<WrittenTemp> {
  const fail = failWith(expect, opts);
  return fillTemp(tmpDir, expect, opts, fail, (out) => copyRange(out, input, offset, size, fail));
}

/** Blobs at least this large are copied by copyRangeInWorker (smaller ones are not worth a message round trip). */
export const RANGE_WORKER_MIN = 8 << 20;

/** The range-copy workers, started on the first large range (or by warmRangeWorkers). */
let rangePool: WorkerPool<RangeCopyJob, RangeCopyResult> | undefined;

function rangeWorkers(): WorkerPool<RangeCopyJob, RangeCopyResult> {
  return (rangePool ??= new WorkerPool(workerScriptUrl(import.meta.url, "range-copy-worker.js")));
}

/**
 * Start the range-copy workers now, so their boot overlaps the reading of the first range,
 * when the largest range to copy (`bytes`) is large enough for them.
 */
export function warmRangeWorkers(bytes: number): void {
  if (bytes >= RANGE_WORKER_MIN) rangeWorkers().warm();
}

/**
 * As copyRangeToTemp, with the read, hash and write on a worker thread (range-copy.ts),
 * reading each byte once; several such copies run at once, one per core. `fd` is an open
 * descriptor of the source file and MUST stay open until this settles. The fsync runs
 * here, as copyRangeToTemp's does. `signal` stops the copy mid-way (the file is removed).
 */
export function copyRangeInWorker(tmpDir: string, fd: number, offset: number, size: number, expect: BlobExpectation = {}, opts: Pick<WriteTempOptions, "mismatch" | "sync"> & { signal?: AbortSignal } = {}): Promise<WrittenTemp> {
  const fail = failWith(expect, opts);
  // The worker writes and closes the file: here it is only fsynced, verified or removed.
  const written = (path: string) => ({ path, sync: () => syncFile(path), close: async () => undefined });
  return fillFile(tmpDir, expect, opts, fail, written, async ({ path }) => {
    const got = await rangeWorkers().run({ fd, offset, size, path }, { label: labelOf(expect), ...(opts.signal ? { signal: opts.signal } : {}) });
    // The worker stops at the end of the file: a short copy is a size mismatch.
    if (got.size !== size) throw fail("size", size, got.size);
    return got;
  });
}

function failWith(expect: BlobExpectation, opts: Pick<WriteTempOptions, "mismatch">): Mismatch {
  return (what, want, got) => (opts.mismatch ? opts.mismatch(what, want, got) : mismatch(expect, what, want, got));
}

/** Throw the mismatch error (the caller's, else one naming the blob) unless `got` has the expected size and digest. */
export function checkBlob(expect: BlobExpectation, got: BlobInfo, opts: Pick<WriteTempOptions, "mismatch"> = {}): void {
  verify(expect, got, failWith(expect, opts));
}

/** Bytes per positional read of a range copy. */
const RANGE_CHUNK = 1 << 20;
/** Reads queued ahead of the chunk being hashed. */
const READ_AHEAD = 2;

/** Fill: a file range read into a ring of buffers, each hashed here and written on the pool. */
async function copyRange(out: TempWriter, input: RandomAccessInput, offset: number, size: number, fail: Mismatch): Promise<BlobInfo> {
  const h = createHash("sha256");
  const chunk = Math.max(1, Math.min(RANGE_CHUNK, size));
  // In use at once: READ_AHEAD reads, the chunk being hashed and the one being written.
  const ring = Array.from({ length: READ_AHEAD + 2 }, () => Buffer.allocUnsafe(chunk));
  const reads: Promise<Buffer>[] = [];
  let queued = 0;
  let slot = 0;
  const readNext = () => {
    if (queued >= size) return;
    const at = queued;
    const buf = ring[slot++ % ring.length]!.subarray(0, Math.min(chunk, size - at));
    const r = readFully(input, buf, offset + at).then((got) => (got === buf.length ? buf : Promise.reject(fail("size", size, at + got))));
    r.catch(() => undefined); // observed when its turn comes
    reads.push(r);
    queued += buf.length;
  };
  for (let i = 0; i < READ_AHEAD; i++) readNext();
  for (let r = reads.shift(); r !== undefined; r = reads.shift()) {
    const buf = await r;
    readNext();
    h.update(buf);
    await out.write([buf], buf.length);
  }
  await out.flush();
  return { digest: `sha256:${h.digest("hex")}` as Digest, size };
}

/** The path of a blob under `blobsDir` (`<root>/blobs`). */
export function blobPath(blobsDir: string, digest: Digest): string {
  return join(blobsDir, "sha256", digestHex(digest));
}

/** Move a verified temporary file into place. Identical content may already be there. */
export async function commitTemp(temp: string, dest: string): Promise<void> {
  await fsp.rename(temp, dest);
}

/** The first `n` bytes of the file at `path` (fewer when it is shorter): a compressed blob's magic or header. */
export async function readHead(path: string, n: number): Promise<Uint8Array> {
  const fh = await fsp.open(path);
  try {
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(n), 0, n, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await fsp.access(path);
    return true;
  } catch {
    return false;
  }
}

/** Write `bytes` to `dest` atomically (temp in `tmpDir`, fsync, rename). */
export async function writeFileAtomic(tmpDir: string, dest: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = join(tmpDir, tempName("file-"));
  try {
    const fh = await fsp.open(tmp, "wx", 0o644);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, dest);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

/** fsync a file written and closed elsewhere (fsync covers the file, whichever descriptor asks). */
async function syncFile(path: string): Promise<void> {
  const fh = await fsp.open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync a directory so a rename in it is durable (best effort). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await fsp.open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // some file systems refuse fsync on directories
  }
}
