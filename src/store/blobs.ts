// Content-addressed blob files (STYLE.md example 6): stream (or copy a file range) to a
// temporary file, digest while writing (sha256-stream.ts), verify size and digest, fsync,
// rename into place.
// Every failure path removes the temporary file.
import { createHash, randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { TbuildError, digestHex, type Digest } from "../util/index.js";
import type { BlobExpectation, BlobInfo, RandomAccessInput } from "../image/index.js";
import { readFully } from "../image/archive/index.js";
import { KICK, type RangeCopyJob, type RangeCopyResult } from "./range-copy.js";
import { createBlobHasher, hashFile } from "./sha256-stream.js";
import { WorkerPool, workerScriptUrl } from "./worker-pool.js";

/** A unique temporary name for this process (`<pid>-<random>`, so stale ones can be found). */
export function tempName(prefix = ""): string {
  return `${prefix}${process.pid}-${randomBytes(6).toString("hex")}`;
}

/** The pid a temporary name was made by, or undefined. */
export function tempOwnerPid(name: string): number | undefined {
  const m = /^(?:[a-z]+-)?(\d+)-[0-9a-f]+/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export interface WrittenTemp extends BlobInfo {
  readonly path: string;
  /**
   * With `sync: "background"`: settles when the file's fsync (started once the bytes were
   * verified) has finished and its descriptor is closed. The caller MUST await it before
   * renaming the file into place, and before removing it.
   */
  readonly synced?: Promise<void>;
}

/** How errors name a blob. */
function labelOf(expect: BlobExpectation): string {
  return expect.label ?? (expect.digest ? `blob ${expect.digest}` : "blob");
}

function mismatch(expect: BlobExpectation, what: string, want: string | number, got: string | number): TbuildError {
  return new TbuildError("E_ARCHIVE_INVALID", `${labelOf(expect)}: ${what} mismatch: expected ${want}, got ${got}`, { hint: "the data is truncated or was modified; nothing was stored" });
}

/** Bytes gathered into one writev call. */
const BATCH = 4 << 20;
/** Background writebacks in flight in this process (each holds a libuv pool thread). */
let kicking = 0;
const MAX_KICKING = 1;

export interface WriteTempOptions {
  /**
   * When to fsync. By default before returning. With "background" the fsync starts as soon
   * as the bytes are verified and runs while the caller reads its next blob; the caller
   * MUST await `synced` before renaming (this is what a load of many blobs wants: the last
   * dirty megabytes of one blob reach the disk while the next one streams in).
   */
  readonly sync?: "background";
  /**
   * Hash on this thread even for a large blob. Pull writes three layers at once: an
   * `openssl` per layer then cost more (spawns, pipes, two cores shared with the download)
   * than node:crypto on the compressed bytes (measured on the 512 MiB registry bench:
   * ~0.97 s against ~1.3 s per pull, medians of 4, load 4-5).
   */
  readonly hashInProcess?: boolean;
  /** Build the error for a size or digest mismatch (default: E_ARCHIVE_INVALID). */
  readonly mismatch?: (what: "size" | "digest", want: string | number, got: string | number) => Error;
}

/**
 * Writes to a temporary file: one write in flight on the libuv pool while the caller
 * prepares the next, and every 32 MiB a background fdatasync starts writeback, so the
 * final fsync has little left to do. (Measured on the 512 MiB bench: the wait after the
 * last byte is ~90 ms with no kicks, ~30 ms at 32 MiB, ~10 ms at 8 MiB; total time did
 * not differ beyond the noise.)
 */
class TempWriter {
  private writing: Promise<void> | undefined;
  private sinceKick = 0;
  /** The writeback in flight, awaited before the file's fsync or close. */
  kick: Promise<void> | undefined;

  constructor(
    readonly path: string,
    readonly fh: FileHandle,
  ) {}

  /** Wait for the previous write, then start writing `chunks` (`n` bytes). They MUST stay unchanged until the next write or flush returns. */
  async write(chunks: Uint8Array[], n: number): Promise<void> {
    if (this.writing) await this.writing;
    const w = writeAll(this.fh, chunks, n);
    this.writing = w;
    w.catch(() => undefined); // observed by the next write, flush or settle
    this.sinceKick += n;
    if (this.sinceKick >= KICK && this.kick === undefined && kicking < MAX_KICKING) {
      this.sinceKick = 0;
      kicking++;
      this.kick = w
        .then(() => this.fh.datasync())
        .catch(() => undefined)
        .finally(() => {
          kicking--;
          this.kick = undefined;
        });
    }
  }

  /** Every byte written. */
  async flush(): Promise<void> {
    if (this.writing) await this.writing;
  }

  /** Nothing in flight, whether it failed or not (before closing on a failure path). */
  async settle(): Promise<void> {
    await this.writing?.catch(() => undefined);
    await this.kick;
  }
}

type Mismatch = (what: "size" | "digest", want: string | number, got: string | number) => Error;

/** Writes a blob's bytes through a TempWriter; resolves once all are written, with their size and digest. */
type Fill = (out: TempWriter, fail: Mismatch) => Promise<BlobInfo>;

/**
 * Write `data` to a new temporary file in `tmpDir`, hashing as it goes, verify it against
 * `expect`, fsync it, and return its path and identity. The caller renames or removes it.
 *
 * A stream is hashed once, chunk by chunk (a blob expected to be 8 MiB or more by the
 * `openssl` program, on another core), while the previous batch (up to 4 MiB, one writev)
 * is written on the libuv pool, so hashing and writing overlap.
 */
export function writeTemp(tmpDir: string, data: Uint8Array | AsyncIterable<Uint8Array>, expect: BlobExpectation = {}, opts: WriteTempOptions = {}): Promise<WrittenTemp> {
  return fillTemp(tmpDir, expect, opts, (out, fail) => writeHashed(out, data, expect, fail, opts.hashInProcess));
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
  return fillTemp(tmpDir, expect, opts, (out, fail) => copyRange(out, input, offset, size, fail));
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
export async function copyRangeInWorker(tmpDir: string, fd: number, offset: number, size: number, expect: BlobExpectation = {}, opts: Pick<WriteTempOptions, "mismatch" | "sync"> & { signal?: AbortSignal } = {}): Promise<WrittenTemp> {
  const path = join(tmpDir, tempName("blob-"));
  let ok = false;
  try {
    const got = await rangeWorkers().run({ fd, offset, size, path }, { label: labelOf(expect), ...(opts.signal ? { signal: opts.signal } : {}) });
    // The worker stops at the end of the file: a short copy is a size mismatch.
    const fail = failWith(expect, opts);
    if (got.size !== size) throw fail("size", size, got.size);
    verify(expect, got, fail);
    if (opts.sync === "background") {
      const synced = syncFile(path);
      synced.catch(() => undefined); // observed by the caller's await
      ok = true;
      return { path, ...got, synced };
    }
    await syncFile(path);
    ok = true;
    return { path, ...got };
  } finally {
    if (!ok) await fsp.rm(path, { force: true });
  }
}

function failWith(expect: BlobExpectation, opts: Pick<WriteTempOptions, "mismatch">): Mismatch {
  return (what, want, got) => (opts.mismatch ? opts.mismatch(what, want, got) : mismatch(expect, what, want, got));
}

/** Throw the mismatch error (the caller's, else one naming the blob) unless `got` has the expected size and digest. */
export function checkBlob(expect: BlobExpectation, got: BlobInfo, opts: Pick<WriteTempOptions, "mismatch"> = {}): void {
  verify(expect, got, failWith(expect, opts));
}

/** Throw `fail`'s error unless `got` has the expected size and digest. */
function verify(expect: BlobExpectation, got: BlobInfo, fail: Mismatch): void {
  if (expect.size !== undefined && got.size !== expect.size) throw fail("size", expect.size, got.size);
  if (expect.digest !== undefined && got.digest !== expect.digest) throw fail("digest", expect.digest, got.digest);
}

/** The temporary file's life: create, fill, verify, fsync (now or in the background); removed on any failure. */
async function fillTemp(tmpDir: string, expect: BlobExpectation, opts: WriteTempOptions, fill: Fill): Promise<WrittenTemp> {
  const path = join(tmpDir, tempName("blob-"));
  const fail = failWith(expect, opts);
  const out = new TempWriter(path, await fsp.open(path, "wx", 0o644));
  let ok = false;
  try {
    const { digest, size } = await fill(out, fail);
    verify(expect, { digest, size }, fail);
    if (opts.sync === "background") {
      const synced = (async () => {
        try {
          await out.kick;
          await out.fh.sync();
        } finally {
          await out.fh.close();
        }
      })();
      synced.catch(() => undefined); // observed by the caller's await
      ok = true;
      return { path, digest, size, synced };
    }
    await out.kick;
    await out.fh.sync();
    ok = true;
    return { path, digest, size };
  } finally {
    if (!(ok && opts.sync === "background")) {
      await out.settle();
      await out.fh.close();
    }
    if (!ok) await fsp.rm(path, { force: true });
  }
}

/** Fill: `data` hashed chunk by chunk (createBlobHasher) and written in batches of up to 4 MiB. */
async function writeHashed(out: TempWriter, data: Uint8Array | AsyncIterable<Uint8Array>, expect: BlobExpectation, fail: Mismatch, hashInProcess?: boolean): Promise<BlobInfo> {
  const hash = createBlobHasher(data instanceof Uint8Array ? data.length : expect.size, hashInProcess);
  let size = 0;
  try {
    if (data instanceof Uint8Array) {
      const hashing = hash.update(data);
      size = data.length;
      await out.write([data], data.length);
      if (hashing) await hashing;
    } else {
      let batch: Uint8Array[] = [];
      let batched = 0;
      for await (const chunk of data) {
        const hashing = hash.update(chunk);
        if (hashing) await hashing;
        size += chunk.length;
        if (expect.size !== undefined && size > expect.size) throw fail("size", expect.size, `more than ${expect.size}`);
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= BATCH) {
          await out.write(batch, batched);
          batch = [];
          batched = 0;
        }
      }
      if (batched) await out.write(batch, batched);
    }
    await out.flush();
    // Every byte is in the file by now: if the hasher failed, hash the file instead.
    return { digest: await hash.digest().catch(() => hashFile(out.path)), size };
  } finally {
    hash.dispose();
  }
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

async function writeAll(fh: FileHandle, chunks: Uint8Array[], total: number): Promise<void> {
  let written = (await fh.writev(chunks)).bytesWritten;
  if (written === total) return;
  // Short write: finish through the remaining bytes.
  const rest = Buffer.concat(chunks).subarray(written);
  let done = 0;
  while (done < rest.length) done += (await fh.write(rest, done)).bytesWritten;
}

/** The path of a blob under `blobsDir` (`<root>/blobs`). */
export function blobPath(blobsDir: string, digest: Digest): string {
  return join(blobsDir, "sha256", digestHex(digest));
}

/** Move a verified temporary file into place. Identical content may already be there. */
export async function commitTemp(temp: string, dest: string): Promise<void> {
  await fsp.rename(temp, dest);
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
