// A blob's temporary file: written in batches while it is hashed (sha256-stream.ts), a big
// stream around the page cache (direct-file.ts), verified, fsynced; every failure path
// removes it. blobs.ts builds the store's blob writes on this; it is apart, importing no
// other folder at run time but image/pushed.ts (which imports nothing), because a worker
// thread of another folder (registry/download-worker.ts) loads it through worker.ts, and a
// worker pays for every module it loads (the whole store: ~40 ms of CPU more per worker).
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { BlobExpectation, BlobInfo } from "../image/index.js";
import { eachPiece, isPushed, type PushedBytes } from "../image/pushed.js";
import { ChunkWriter } from "./direct-file.js";
import { createBlobHasher, hashFile, type BlobHasher } from "./sha256-stream.js";
import { Writeback } from "./writeback.js";

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

/** Streams expected to be at least this large are written around the page cache (writeHashedDirect). */
const DIRECT_MIN = 8 << 20;
/** Bytes gathered into one writev call. */
const BATCH = 4 << 20;

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
 * prepares the next, with early writeback (writeback.ts) so the final fsync has little to do.
 */
export class TempWriter {
  private writing: Promise<void> | undefined;
  /** Early writeback; sync() checks its errors. */
  private readonly writeback: Writeback;

  constructor(
    readonly path: string,
    readonly fh: FileHandle,
  ) {
    this.writeback = new Writeback(fh.fd);
  }

  /** Wait for the previous write, then start writing `chunks` (`n` bytes). They MUST stay unchanged until the next write or flush returns. */
  async write(chunks: Uint8Array[], n: number): Promise<void> {
    if (this.writing) await this.writing;
    const w = writeAll(this.fh, chunks, n);
    this.writing = w;
    w.catch(() => undefined); // observed by the next write, flush or settle
    this.writeback.wrote(n, w);
  }

  /** Every byte written. */
  async flush(): Promise<void> {
    if (this.writing) await this.writing;
  }

  /** Nothing in flight, whether it failed or not (before closing on a failure path). */
  async settle(): Promise<void> {
    await this.writing?.catch(() => undefined);
    await this.writeback.settle();
  }

  /** fsync the file, after a flush. */
  async sync(): Promise<void> {
    await this.writeback.check();
    await this.fh.sync();
  }

  /** Close the file once nothing is in flight. */
  async close(): Promise<void> {
    await this.settle();
    await this.fh.close();
  }
}

/** A temporary file being written: the page cache's way (TempWriter) or around it (ChunkWriter). */
interface TempFile {
  sync(): Promise<void>;
  close(): Promise<void>;
}

export type Mismatch = (what: "size" | "digest", want: string | number, got: string | number) => Error;

/** Writes a blob's bytes through a TempWriter; resolves once all are written, with their size and digest. */
export type Fill = (out: TempWriter) => Promise<BlobInfo>;

/**
 * Write `data` to a new temporary file in `tmpDir`, hashing as it goes, verify it against
 * `expect` (a difference throws `fail`'s error), fsync it, and return its path and
 * identity. The caller renames or removes it.
 *
 * A stream is hashed once, chunk by chunk (a blob expected to be 8 MiB or more by the
 * `openssl` program, on another core, unless `hashInProcess` or pushed), while the previous batch is
 * written on the libuv pool, so hashing and writing overlap. A stream expected to be 8 MiB
 * or more is written around the page cache in 4 MiB chunks (writeHashedDirect); a smaller
 * one or bytes in memory through the page cache, up to 4 MiB per writev.
 */
export function writeVerifiedTemp(tmpDir: string, data: BlobBytes, expect: BlobExpectation, fail: Mismatch, opts: Omit<WriteTempOptions, "mismatch"> = {}): Promise<WrittenTemp> {
  // Pushed pieces are hashed here: the `openssl` pipe would hold a piece past its sink's return.
  const inProcess = opts.hashInProcess || isPushed(data);
  if (!(data instanceof Uint8Array) && expect.size !== undefined && expect.size >= DIRECT_MIN) {
    return fillFile(tmpDir, expect, opts, fail, ChunkWriter.create, (out) => writeHashedDirect(out, data, expect, fail, inProcess));
  }
  return fillTemp(tmpDir, expect, opts, fail, (out) => writeHashed(out, data, expect, fail, inProcess));
}

/** Throw `fail`'s error unless `got` has the expected size and digest. */
export function verify(expect: BlobExpectation, got: BlobInfo, fail: Mismatch): void {
  if (expect.size !== undefined && got.size !== expect.size) throw fail("size", expect.size, got.size);
  if (expect.digest !== undefined && got.digest !== expect.digest) throw fail("digest", expect.digest, got.digest);
}

/** The temporary file's life: create, fill, verify, fsync (now or in the background); removed on any failure. */
export async function fillTemp(tmpDir: string, expect: BlobExpectation, opts: Pick<WriteTempOptions, "sync">, fail: Mismatch, fill: Fill): Promise<WrittenTemp> {
  return fillFile(tmpDir, expect, opts, fail, async (path) => new TempWriter(path, await fsp.open(path, "wx", 0o644)), fill);
}

/** fillTemp of a file `create` makes (blobs.ts: one a range-copy worker writes). */
export async function fillFile<F extends TempFile>(tmpDir: string, expect: BlobExpectation, opts: Pick<WriteTempOptions, "sync">, fail: Mismatch, create: (path: string) => Promise<F> | F, fill: (out: F) => Promise<BlobInfo>): Promise<WrittenTemp> {
  const path = join(tmpDir, tempName("blob-"));
  const out = await create(path);
  let ok = false;
  try {
    const { digest, size } = await fill(out);
    verify(expect, { digest, size }, fail);
    if (opts.sync === "background") {
      const synced = out.sync().finally(() => out.close());
      synced.catch(() => undefined); // observed by the caller's await
      ok = true;
      return { path, digest, size, synced };
    }
    await out.sync();
    ok = true;
    return { path, digest, size };
  } finally {
    if (!(ok && opts.sync === "background")) await out.close();
    if (!ok) await fsp.rm(path, { force: true });
  }
}

/** The bytes a blob is written from: in memory, an iterable of chunks, or pushed pieces (image/pushed.ts). */
export type BlobBytes = Uint8Array | AsyncIterable<Uint8Array> | PushedBytes;

/**
 * Hand every piece of `data` to `take`, hashed and counted first (more bytes than expected
 * throw `fail`'s error), waiting for the promises `take` or the hasher return. A piece of
 * pushed bytes is `take`'s only until then (`reused`: keep a copy, not the piece).
 */
async function forEachPiece(data: AsyncIterable<Uint8Array> | PushedBytes, hash: BlobHasher, expect: BlobExpectation, fail: Mismatch, take: (piece: Uint8Array, reused: boolean) => Promise<void> | undefined): Promise<number> {
  let size = 0;
  const each = (piece: Uint8Array): Promise<void> | undefined => {
    size += piece.length;
    if (expect.size !== undefined && size > expect.size) throw fail("size", expect.size, `more than ${expect.size}`);
    const hashing = hash.update(piece);
    const taking = take(piece, pushed);
    return hashing && taking ? Promise.all([hashing, taking]).then(() => undefined) : (hashing ?? taking);
  };
  const pushed = isPushed(data);
  await eachPiece(data, each);
  return size;
}

/** Fill: `data` hashed piece by piece (createBlobHasher) and written in batches of up to 4 MiB. */
async function writeHashed(out: TempWriter, data: BlobBytes, expect: BlobExpectation, fail: Mismatch, hashInProcess?: boolean): Promise<BlobInfo> {
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
      size = await forEachPiece(data, hash, expect, fail, (piece, reused) => {
        // A copy: Buffer's slice() (a piece may be a Buffer) is a view of the reused bytes.
        batch.push(reused ? new Uint8Array(piece) : piece);
        batched += piece.length;
        if (batched < BATCH) return undefined;
        const writing = out.write(batch, batched);
        batch = [];
        batched = 0;
        return writing;
      });
      if (batched) await out.write(batch, batched);
    }
    await out.flush();
    // Every byte is in the file by now: if the hasher failed, hash the file instead.
    return { digest: await hash.digest().catch(() => hashFile(out.path)), size };
  } finally {
    hash.dispose();
  }
}

/**
 * Fill: `data` hashed piece by piece and copied into the ChunkWriter's 4 MiB buffers, each
 * written around the page cache while the next fills. On the 512 MiB registry bench (its
 * pushes just before leave the page cache busy) a pull took 797 ms this way against 970
 * through the page cache (medians of 9, alternated, skopeo 707; load 1.6-3.3).
 */
async function writeHashedDirect(out: ChunkWriter, data: AsyncIterable<Uint8Array> | PushedBytes, expect: BlobExpectation, fail: Mismatch, hashInProcess?: boolean): Promise<BlobInfo> {
  const hash = createBlobHasher(expect.size, hashInProcess);
  try {
    let buf: Uint8Array | undefined = await out.next();
    let filled = 0;
    // Copy `piece` from `at` on; a full buffer is written, and the copy waits for the next.
    const copy = (piece: Uint8Array, at: number): Promise<void> | undefined => {
      while (at < piece.length) {
        if (!buf) {
          return out.next().then((next) => {
            buf = next;
            return copy(piece, at);
          });
        }
        const n = Math.min(piece.length - at, buf.length - filled);
        buf.set(piece.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === buf.length) {
          out.write(filled);
          buf = undefined;
          filled = 0;
        }
      }
      return undefined;
    };
    await forEachPiece(data, hash, expect, fail, (piece) => copy(piece, 0));
    if (filled) out.write(filled);
    await out.flush();
    return { digest: await hash.digest().catch(() => hashFile(out.path)), size: out.size };
  } finally {
    hash.dispose();
  }
}

async function writeAll(fh: FileHandle, chunks: Uint8Array[], total: number): Promise<void> {
  let written = (await fh.writev(chunks)).bytesWritten;
  if (written === total) return;
  // Short write: finish through the remaining bytes.
  const rest = Buffer.concat(chunks).subarray(written);
  let done = 0;
  while (done < rest.length) done += (await fh.write(rest, done)).bytesWritten;
}
