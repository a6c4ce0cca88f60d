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
  /** Key: dev and ino as 16 latin1 chars. Value: a record, or its offset in `loaded` (decoded on use). */
  private readonly map = new Map<string, CacheRecord | number>();
  private loaded: Buffer = Buffer.alloc(0);
  private readonly scratch = Buffer.alloc(16);
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
    c.loaded = buf;
    // Records are decoded lazily: loading 20,000 entries costs a few milliseconds.
    for (let i = 0, o = 12; i < n; i++, o += RECORD) c.map.set(buf.toString("latin1", o, o + 16), o);
    return c;
  }

  get size(): number {
    return this.map.size;
  }

  private key(stamp: FileStamp): string {
    this.scratch.writeBigUInt64LE(BigInt.asUintN(64, stamp.dev), 0);
    this.scratch.writeBigUInt64LE(BigInt.asUintN(64, stamp.ino), 8);
    return this.scratch.toString("latin1", 0, 16);
  }

  private record(v: CacheRecord | number): CacheRecord {
    if (typeof v !== "number") return v;
    const b = this.loaded;
    return { size: b.readBigUInt64LE(v + 16), mtimeNs: b.readBigInt64LE(v + 24), ctimeNs: b.readBigInt64LE(v + 32), digest: `sha256:${b.toString("hex", v + 40, v + 72)}` };
  }

  /** The digest recorded for a file with exactly this stamp, if any. */
  get(stamp: FileStamp): Digest | undefined {
    const v = this.map.get(this.key(stamp));
    if (v !== undefined) {
      const r = this.record(v);
      if (r.size === stamp.size && r.mtimeNs === stamp.mtimeNs && r.ctimeNs === stamp.ctimeNs) {
        this.stats.hits++;
        return r.digest;
      }
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
    const key = this.key(stamp);
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
    for (const [key, v] of entries) {
      if (typeof v === "number") {
        this.loaded.copy(buf, o, v, v + RECORD);
      } else {
        buf.write(key, o, 16, "latin1");
        buf.writeBigUInt64LE(v.size, o + 16);
        buf.writeBigInt64LE(v.mtimeNs, o + 24);
        buf.writeBigInt64LE(v.ctimeNs, o + 32);
        buf.write(v.digest.slice(7), o + 40, 32, "hex");
      }
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
