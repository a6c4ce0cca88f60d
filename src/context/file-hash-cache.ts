// The persistent file-hash cache (edge): content digests of context files keyed by
// (dev, ino) and validated by size, mtime and ctime in nanoseconds, so an unchanged file
// is never read twice. One compact binary file, replaced atomically (temp + rename).
// Racy-git rule: a file modified within RACY_WINDOW_NS of being hashed is not trusted.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { endianness } from "node:os";
import { join } from "node:path";
import type { Digest } from "../util/index.js";
import type { FileStamp } from "./tree-hash.js";

/** Timestamps are only trusted for files last modified this long before they were read. */
export const RACY_WINDOW_NS = 2_000_000_000n;

const FILE_NAME = "file-hashes.v1.bin";
const MAGIC = Buffer.from("TBFHC\x001\n", "latin1"); // 8 bytes
const RECORD = 72; // dev, ino, size, mtime, ctime (8 bytes each) + 32-byte SHA-256
const MAX_ENTRIES = 2_000_000;

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
 *
 * Records stay in the file's own layout in one buffer (72-byte slots), found through a
 * Map from the low bits of the inode number to the newest slot with them, slots with
 * equal keys chained. A lookup compares the stamp's 40 bytes in place: no string keys, no
 * decoded records (20,000 lookups of an unchanged context cost a few milliseconds).
 */
export class FileHashCache {
  readonly file: string | undefined;
  readonly stats: FileHashCacheStats = { hits: 0, misses: 0, stored: 0, racy: 0 };
  /** Slot i is bytes [12 + 72 i, 12 + 72 (i + 1)) of `data` (the header's 12 bytes come first). */
  private data: Buffer = Buffer.alloc(12);
  private slots = 0;
  private live = 0;
  /** Per slot: the next older slot with the same key (-1: none); -2 marks a dropped slot. */
  private next: Int32Array = new Int32Array(0);
  private readonly heads = new Map<number, number>();
  private readonly scratch = Buffer.from(new ArrayBuffer(40));
  /** The scratch as five 64-bit words: storing a bigint there is one native write, where
   * writeBigUInt64LE does shifts and masks (allocations) in JS. Little-endian hosts only. */
  private readonly words: BigInt64Array | undefined = endianness() === "LE" ? new BigInt64Array(this.scratch.buffer, 0, 5) : undefined;
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
    c.data = buf;
    c.next = new Int32Array(n);
    for (let i = 0, o = 12; i < n; i++, o += RECORD) c.link(i, keyAt(buf, o));
    c.slots = c.live = n;
    return c;
  }

  get size(): number {
    return this.live;
  }

  private link(slot: number, key: number): void {
    const head = this.heads.get(key);
    this.next[slot] = head ?? -1;
    this.heads.set(key, slot);
  }

  /** Write the stamp's dev, ino, size, mtime and ctime into `scratch` (the slot layout). */
  private load(stamp: FileStamp): void {
    const w = this.words;
    if (w) {
      // Stored modulo 2^64: the same bytes as the writes below.
      w[0] = stamp.dev;
      w[1] = stamp.ino;
      w[2] = stamp.size;
      w[3] = stamp.mtimeNs;
      w[4] = stamp.ctimeNs;
      return;
    }
    const b = this.scratch;
    b.writeBigUInt64LE(BigInt.asUintN(64, stamp.dev), 0);
    b.writeBigUInt64LE(BigInt.asUintN(64, stamp.ino), 8);
    b.writeBigUInt64LE(BigInt.asUintN(64, stamp.size), 16);
    b.writeBigInt64LE(BigInt.asIntN(64, stamp.mtimeNs), 24);
    b.writeBigInt64LE(BigInt.asIntN(64, stamp.ctimeNs), 32);
  }

  /** The live slot for the (dev, ino) in `scratch`, or -1. */
  private find(): number {
    const d = this.data;
    const b = this.scratch;
    for (let slot = this.heads.get(keyAt(b, 0)) ?? -1; slot >= 0; slot = this.next[slot]!) {
      const o = 12 + slot * RECORD;
      let same = true;
      for (let k = 0; k < 16; k++) {
        if (d[o + k] !== b[k]) {
          same = false;
          break;
        }
      }
      if (same) return slot;
    }
    return -1;
  }

  /** The digest recorded for a file with exactly this stamp, if any. */
  get(stamp: FileStamp): Digest | undefined {
    this.load(stamp);
    const slot = this.find();
    if (slot >= 0) {
      const d = this.data;
      const b = this.scratch;
      const o = 12 + slot * RECORD;
      let same = true;
      for (let k = 16; k < 40; k++) {
        if (d[o + k] !== b[k]) {
          same = false;
          break;
        }
      }
      if (same) {
        this.stats.hits++;
        return `sha256:${d.toString("hex", o + 40, o + 72)}`;
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
    this.load(stamp);
    const slot = this.find();
    const latest = stamp.mtimeNs > stamp.ctimeNs ? stamp.mtimeNs : stamp.ctimeNs;
    if (latest >= readStartNs - RACY_WINDOW_NS) {
      this.stats.racy++;
      if (slot >= 0) {
        this.drop(slot);
        this.dirty = true;
      }
      return;
    }
    let o: number;
    if (slot >= 0) o = 12 + slot * RECORD;
    else {
      this.reserve(this.slots + 1);
      o = 12 + this.slots * RECORD;
      this.link(this.slots++, keyAt(this.scratch, 0));
      this.live++;
    }
    this.scratch.copy(this.data, o, 0, 40);
    this.data.write(digest.slice(7), o + 40, 32, "hex");
    this.stats.stored++;
    this.dirty = true;
  }

  private drop(slot: number): void {
    const key = keyAt(this.data, 12 + slot * RECORD);
    // Unlink it from its chain.
    let prev = -1;
    for (let s = this.heads.get(key) ?? -1; s >= 0; prev = s, s = this.next[s]!) {
      if (s !== slot) continue;
      const after = this.next[s]!;
      if (prev >= 0) this.next[prev] = after;
      else if (after >= 0) this.heads.set(key, after);
      else this.heads.delete(key);
      break;
    }
    this.next[slot] = -2;
    this.live--;
  }

  /** Room for `n` slots (grows by doubling; the loaded file's buffer is copied once). */
  private reserve(n: number): void {
    const have = this.next.length;
    if (n <= have && this.data.length >= 12 + n * RECORD) return;
    const cap = Math.max(n, have * 2, 1024);
    const data = Buffer.allocUnsafe(12 + cap * RECORD);
    this.data.copy(data, 0, 0, 12 + this.slots * RECORD);
    const next = new Int32Array(cap);
    next.set(this.next.subarray(0, this.slots));
    this.data = data;
    this.next = next;
  }

  /** Write the cache if it changed: temp file in the same folder, then rename. */
  async save(): Promise<void> {
    if (!this.file || !this.dirty) return;
    let first = 0;
    if (this.live > MAX_ENTRIES) {
      // Keep the newest MAX_ENTRIES slots.
      for (let skip = this.live - MAX_ENTRIES; skip > 0; first++) if (this.next[first] !== -2) skip--;
    }
    const count = Math.min(this.live, MAX_ENTRIES);
    const buf = Buffer.allocUnsafe(12 + count * RECORD);
    MAGIC.copy(buf, 0);
    buf.writeUInt32LE(count, 8);
    let o = 12;
    for (let slot = first; slot < this.slots; slot++) {
      if (this.next[slot] === -2) continue;
      this.data.copy(buf, o, 12 + slot * RECORD, 12 + (slot + 1) * RECORD);
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

/**
 * The map key of the slot (or scratch) at `o`: the inode number's low 30 bits, a small
 * integer V8 hashes and stores without boxing (a 52-bit key made loading 3× slower).
 * Slots whose inodes differ only above bit 30 share a chain.
 */
function keyAt(b: Buffer, o: number): number {
  return (b[o + 8]! | (b[o + 9]! << 8) | (b[o + 10]! << 16) | (b[o + 11]! << 24)) & 0x3fffffff;
}
