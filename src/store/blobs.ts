// Content-addressed blob files (STYLE.md example 6): stream to a temporary file, digest
// while writing (sha256-stream.ts), verify size and digest, fsync, rename into place.
// Every failure path removes the temporary file.
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { TbuildError, digestHex, type Digest } from "../util/index.js";
import type { BlobExpectation, BlobInfo } from "../image/index.js";
import { createBlobHasher, hashFile } from "./sha256-stream.js";

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

function mismatch(expect: BlobExpectation, what: string, want: string | number, got: string | number): TbuildError {
  const label = expect.label ?? (expect.digest ? `blob ${expect.digest}` : "blob");
  return new TbuildError("E_ARCHIVE_INVALID", `${label}: ${what} mismatch: expected ${want}, got ${got}`, { hint: "the data is truncated or was modified; nothing was stored" });
}

/** Bytes gathered into one writev call. */
const BATCH = 4 << 20;
/** Start writeback (fdatasync in the background) after this many bytes since the last one. */
const KICK = 32 << 20;
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
 * Write `data` to a new temporary file in `tmpDir`, hashing as it goes, verify it against
 * `expect`, fsync it, and return its path and identity. The caller renames or removes it.
 *
 * A stream is hashed once, chunk by chunk (a blob expected to be 8 MiB or more by the
 * `openssl` program, on another core), while the previous batch (up to 4 MiB, one writev)
 * is written on the libuv pool, so hashing and writing overlap; every 32 MiB a background
 * fdatasync starts writeback, so the final fsync has little left to do. (Measured on the
 * 512 MiB bench: the wait after the last byte is ~90 ms with no kicks, ~30 ms at 32 MiB,
 * ~10 ms at 8 MiB; total time did not differ beyond the noise.)
 */
export async function writeTemp(tmpDir: string, data: Uint8Array | AsyncIterable<Uint8Array>, expect: BlobExpectation = {}, opts: WriteTempOptions = {}): Promise<WrittenTemp> {
  const path = join(tmpDir, tempName("blob-"));
  const fail = (what: "size" | "digest", want: string | number, got: string | number) => (opts.mismatch ? opts.mismatch(what, want, got) : mismatch(expect, what, want, got));
  const hash = createBlobHasher(data instanceof Uint8Array ? data.length : expect.size, opts.hashInProcess);
  let size = 0;
  let fh: FileHandle;
  try {
    fh = await fsp.open(path, "wx", 0o644);
  } catch (e) {
    hash.dispose();
    throw e;
  }
  let ok = false;
  // The write in flight (its rejection is observed when awaited, never left unhandled).
  let writing: Promise<void> | undefined;
  let kick: Promise<void> | undefined;
  let sinceKick = 0;
  const startWrite = (chunks: Uint8Array[], n: number) => {
    const w = writeAll(fh, chunks, n);
    writing = w;
    w.catch(() => undefined);
    sinceKick += n;
    if (sinceKick >= KICK && kick === undefined && kicking < MAX_KICKING) {
      sinceKick = 0;
      kicking++;
      kick = w
        .then(() => fh.datasync())
        .catch(() => undefined)
        .finally(() => {
          kicking--;
          kick = undefined;
        });
    }
  };
  try {
    if (data instanceof Uint8Array) {
      const hashing = hash.update(data);
      size = data.length;
      await fh.write(data);
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
          if (writing) await writing;
          startWrite(batch, batched);
          batch = [];
          batched = 0;
        }
      }
      if (writing) await writing;
      if (batched) await writeAll(fh, batch, batched);
    }
    // Every byte is in the file by now: if the hasher failed, hash the file instead.
    const digest = await hash.digest().catch(() => hashFile(path));
    if (expect.size !== undefined && size !== expect.size) throw fail("size", expect.size, size);
    if (expect.digest !== undefined && digest !== expect.digest) throw fail("digest", expect.digest, digest);
    if (opts.sync === "background") {
      const synced = (async () => {
        try {
          if (kick) await kick;
          await fh.sync();
        } finally {
          await fh.close();
        }
      })();
      synced.catch(() => undefined); // observed by the caller's await
      ok = true;
      return { path, digest, size, synced };
    }
    if (kick) await kick;
    await fh.sync();
    ok = true;
    return { path, digest, size };
  } finally {
    if (!ok) hash.dispose();
    if (writing) await writing.catch(() => undefined);
    if (!(ok && opts.sync === "background")) {
      if (kick) await kick;
      await fh.close();
    }
    if (!ok) await fsp.rm(path, { force: true });
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
