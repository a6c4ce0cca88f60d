// The persistent file-hash cache (edge): content digests of context files keyed by
// (dev, ino) and validated by size, mtime and ctime in nanoseconds, so an unchanged file
// is never read twice. One compact binary file, replaced atomically (temp + rename).
// Racy-git rule: a file modified within RACY_WINDOW_NS of being hashed is not trusted.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "../util/index.js";
import type { FileStamp } from "./tree-hash.js";

/** Timestamps are only trusted for files last modified this long before they were read. */
export const RACY_WINDOW_NS = 2_000_000_000n;

const FILE_NAME = "file-hashes.v1.bin";
const MAGIC = Buffer.from("TBFHC\x001\n", "latin1"); // 8 bytes
const RECORD = 72; // dev, ino, size, mtime, ctime (8 bytes each) + 32-byte SHA-256
const MAX_ENTRIES = 2_000_000;

interface CacheRecord {
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  digest: Digest;
}

export interface FileHashCacheStats {
  /** Lookups answered from the cache. */
  hits: number;
  /** Lookups that found nothing usable (absent, changed, or racy). */
  misses: number;
  /** Digests recorded this session. */
  stored: number;
  /** Digests not recorded because the file was modified too recently to trust its stamp. */
  racy: number;
}

/**
 * A persistent (dev, ino) → digest map. Not safe for concurrent writers in one process;
 * across processes the last `save()` wins, which only loses cache entries, never
 * correctness. A missing, truncated or foreign cache file loads as an empty cache.
 */
export class FileHashCache {
  readonly file: string | undefined;
  readonly stats: FileHashCacheStats = { hits: 0, misses: 0, stored: 0, racy: 0 };
  private readonly map = new Map<string, CacheRecord>();
  private dirty = false;

  private constructor(file: string | undefined) {
    this.file = file;
  }

  /** A cache that lives only in memory (no `dir`): the tests' and `--no-cache`'s choice. */
  static memory(): FileHashCache {
    return new FileHashCache(undefined);
  }

  /** Load the cache kept in folder `dir` (created on save). */
  static async open(dir: string): Promise<FileHashCache> {
    const c = new FileHashCache(join(dir, FILE_NAME));
    let buf: Buffer;
    try {
      buf = await readFile(c.file!);
    } catch {
      return c;
    }
    if (buf.length < 12 || !buf.subarray(0, 8).equals(MAGIC)) return c;
    const n = buf.readUInt32LE(8);
    if (buf.length !== 12 + n * RECORD) return c;
    for (let i = 0, o = 12; i < n; i++, o += RECORD) {
      const key = `${buf.readBigUInt64LE(o)}:${buf.readBigUInt64LE(o + 8)}`;
      c.map.set(key, {
        size: buf.readBigUInt64LE(o + 16),
        mtimeNs: buf.readBigInt64LE(o + 24),
        ctimeNs: buf.readBigInt64LE(o + 32),
        digest: `sha256:${buf.toString("hex", o + 40, o + 72)}`,
      });
    }
    return c;
  }

  get size(): number {
    return this.map.size;
  }

  /** The digest recorded for a file with exactly this stamp, if any. */
  get(stamp: FileStamp): Digest | undefined {
    const r = this.map.get(`${stamp.dev}:${stamp.ino}`);
    if (r && r.size === stamp.size && r.mtimeNs === stamp.mtimeNs && r.ctimeNs === stamp.ctimeNs) {
      this.stats.hits++;
      return r.digest;
    }
    this.stats.misses++;
    return undefined;
  }

  /**
   * Record `digest` for the file with `stamp`, read starting at `readStartNs` (wall clock,
   * ns). If the file's mtime or ctime is within RACY_WINDOW_NS of that time, a later write
   * could leave the stamp unchanged (coarse timestamps), so the entry is dropped instead.
   */
  set(stamp: FileStamp, digest: Digest, readStartNs: bigint): void {
    const key = `${stamp.dev}:${stamp.ino}`;
    const latest = stamp.mtimeNs > stamp.ctimeNs ? stamp.mtimeNs : stamp.ctimeNs;
    if (latest >= readStartNs - RACY_WINDOW_NS) {
      this.stats.racy++;
      if (this.map.delete(key)) this.dirty = true;
      return;
    }
    this.map.set(key, { size: stamp.size, mtimeNs: stamp.mtimeNs, ctimeNs: stamp.ctimeNs, digest });
    this.stats.stored++;
    this.dirty = true;
  }

  /** Write the cache if it changed: temp file in the same folder, then rename. */
  async save(): Promise<void> {
    if (!this.file || !this.dirty) return;
    let entries = [...this.map];
    if (entries.length > MAX_ENTRIES) entries = entries.slice(entries.length - MAX_ENTRIES);
    const buf = Buffer.allocUnsafe(12 + entries.length * RECORD);
    MAGIC.copy(buf, 0);
    buf.writeUInt32LE(entries.length, 8);
    let o = 12;
    for (const [key, r] of entries) {
      const colon = key.indexOf(":");
      buf.writeBigUInt64LE(BigInt(key.slice(0, colon)), o);
      buf.writeBigUInt64LE(BigInt(key.slice(colon + 1)), o + 8);
      buf.writeBigUInt64LE(r.size, o + 16);
      buf.writeBigInt64LE(r.mtimeNs, o + 24);
      buf.writeBigInt64LE(r.ctimeNs, o + 32);
      buf.write(r.digest.slice(7), o + 40, 32, "hex");
      o += RECORD;
    }
    const dir = join(this.file, "..");
    await mkdir(dir, { recursive: true });
    const tmp = `${this.file}.tmp-${randomBytes(6).toString("hex")}`;
    try {
      await writeFile(tmp, buf);
      await rename(tmp, this.file);
      this.dirty = false;
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
}
