// The persistent file-hash cache (edge): content digests of context files keyed by
// (dev, ino) and validated by size, mtime and ctime in nanoseconds, so an unchanged file
// is never read twice. One compact binary file with a SHA-256 of its records, replaced
// atomically (temp + rename); a damaged file is ignored, never trusted.
// Racy-git rule: a file modified within RACY_WINDOW_NS of being hashed is not trusted.
// Beside it, a small memo of tree digests (as git's index keeps tree ids): a selection
// root's digest by a SHA-256 of everything that digest is computed from (entry-tree-hash
// `entryTableKey`), so an unchanged context is not hashed again as a tree either.
import { createHash, randomBytes, webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "../util/index.js";
import { StampTable } from "./stamps.js";
import type { FileStamp } from "./tree-hash.js";

/** Timestamps are only trusted for files last modified this long before they were read. */
export const RACY_WINDOW_NS = 2_000_000_000n;

const FILE_NAME = "file-hashes.v2.bin";
/** The previous format's file (no checksum): removed when the cache is saved. */
const OLD_FILE_NAME = "file-hashes.v1.bin";
const MAGIC = Buffer.from("TBFHC\x002\n", "latin1"); // 8 bytes
/** Magic, record count (u32 LE), SHA-256 of the records that follow. */
const HEADER = 44;
const HEADER_WORDS = HEADER / 4;
const RECORD = 72; // dev, ino, size, mtime, ctime (8 bytes each, LE) + 32-byte SHA-256
const MAX_ENTRIES = 2_000_000;
const MEMO_FILE_NAME = "tree-digests.v1.bin";
const MEMO_MAGIC = Buffer.from("TBTDM\x001\n", "latin1"); // 8 bytes
/** Key (32 bytes) and tree digest (32 bytes). */
const MEMO_RECORD = 64;
/** Tree digests kept (the most recently used): a few contexts and their selections. */
const MEMO_ENTRIES = 256;

export interface FileHashCacheStats {
  /** Lookups answered from the cache. */
  hits: number;
  /** Lookups that found nothing usable (absent, changed, or racy). */
  misses: number;
  /** Digests recorded this session. */
  stored: number;
  /** Digests not recorded because the file was modified too recently to trust its stamp. */
  racy: number;
  /** Tree digests answered from the memo. */
  treeHits: number;
}

/**
 * A persistent (dev, ino) → digest map. Not safe for concurrent writers in one process;
 * across processes the last `save()` wins, which only loses cache entries, never
 * correctness. A missing, truncated or foreign cache file loads as an empty cache.
 *
 * Records stay in the file's own layout in one buffer (72-byte slots), found through an
 * open hash table of chains (`heads` by a hash of dev and inode, `next` per slot, newest
 * first). A lookup compares a stamp's ten 32-bit words with a slot's in place: no string
 * keys, no decoded records, no bigints (a StampTable row is compared as it is).
 */
export class FileHashCache {
  readonly file: string | undefined;
  readonly stats: FileHashCacheStats = { hits: 0, misses: 0, stored: 0, racy: 0, treeHits: 0 };
  /** Slot i is bytes [44 + 72 i, 44 + 72 (i + 1)) of `data` (the header comes first). */
  private data: Buffer = Buffer.alloc(HEADER);
  /** `data` as 32-bit words: slot i's stamp is words [11 + 18 i, 21 + 18 i). */
  private words: Int32Array = new Int32Array(this.data.buffer, this.data.byteOffset, HEADER_WORDS);
  private slots = 0;
  private live = 0;
  /** Per slot: the next older slot in the same chain (-1: none); -2 marks a dropped slot. */
  private next: Int32Array = new Int32Array(0);
  /** Per hash bucket: the newest slot of its chain, or -1. Length is a power of two. */
  private heads: Int32Array = new Int32Array(1024).fill(-1);
  /** Whether `heads` and `next` chain every live slot (built on the first `find`, not on open). */
  private indexed = true;
  /**
   * The slot after the last one a lookup found. Slots are kept in the order their files
   * were hashed, mostly walk order, so a re-hash finds most entries here without the
   * hash table: it is tried first.
   */
  private hint = 0;
  /** A stamp given as an object is written here (row 0) to be compared like a table row. */
  private readonly scratch = new StampTable(1);
  private dirty = false;
  /** Tree digests by the hex of their key, least recently used first. */
  private memo = new Map<string, Digest>();
  private memoDirty = false;
  /** The memo's keys in the order its file holds them: a hit that moves a key is written only if the order differs. */
  private memoSaved: string[] = [];

  private constructor(file: string | undefined) {
    this.file = file;
  }

  /** A cache that lives only in memory (no `dir`): the tests' and `--no-cache`'s choice. */
  static memory(): FileHashCache {
    return new FileHashCache(undefined);
  }

  /**
   * Load the cache kept in folder `dir` (created on save). The files are read at once;
   * their checksums are computed on libuv's threads, so a caller that walks the context
   * before awaiting this pays little for them.
   */
  static async open(dir: string): Promise<FileHashCache> {
    const c = new FileHashCache(join(dir, FILE_NAME));
    const [hashes, memo] = await Promise.all([readChecked(c.file!, MAGIC, RECORD), readChecked(join(dir, MEMO_FILE_NAME), MEMO_MAGIC, MEMO_RECORD)]);
    if (hashes) {
      // The word view needs a 4-byte aligned start (a pooled Buffer may not have one).
      const buf = hashes.byteOffset % 4 === 0 ? hashes : Buffer.from(hashes);
      const n = (buf.length - HEADER) / RECORD;
      c.data = buf;
      c.words = new Int32Array(buf.buffer, buf.byteOffset, buf.length >> 2);
      c.next = new Int32Array(n);
      c.slots = c.live = n;
      c.indexed = false;
    }
    for (let o = HEADER; memo && o < memo.length; o += MEMO_RECORD) {
      c.memo.set(memo.toString("hex", o, o + 32), `sha256:${memo.toString("hex", o + 32, o + 64)}`);
    }
    c.memoSaved = [...c.memo.keys()];
    return c;
  }

  /** The tree digest memoised under `key` (see entryTableKey), if any; a hit makes it the newest. */
  treeDigest(key: Uint8Array): Digest | undefined {
    const k = hexOf(key);
    const digest = this.memo.get(k);
    if (digest === undefined) return undefined;
    this.stats.treeHits++;
    // Eviction takes the least recently used: a context hashed on every build keeps its digests.
    this.memo.delete(k);
    this.memo.set(k, digest);
    return digest;
  }

  /** Memoise a tree digest under `key`; only the MEMO_ENTRIES most recently used are kept. */
  setTreeDigest(key: Uint8Array, digest: Digest): void {
    const k = hexOf(key);
    if (this.memo.get(k) === digest) return;
    this.memo.delete(k);
    this.memo.set(k, digest);
    for (const old of this.memo.keys()) {
      if (this.memo.size <= MEMO_ENTRIES) break;
      this.memo.delete(old);
    }
    this.memoDirty = true;
  }

  get size(): number {
    return this.live;
  }

  /** Rebuild `heads` and the chains for room for `n` slots (load factor at most 1/2). */
  private rehash(n: number): void {
    this.indexed = true;
    let cap = this.heads.length;
    while (cap < 2 * n) cap *= 2;
    if (cap !== this.heads.length) this.heads = new Int32Array(cap);
    this.heads.fill(-1);
    const w = this.words;
    const mask = cap - 1;
    for (let slot = 0; slot < this.slots; slot++) {
      if (this.next[slot] === -2) continue;
      const b = bucket(w, HEADER_WORDS + 18 * slot) & mask;
      this.next[slot] = this.heads[b]!;
      this.heads[b] = slot;
    }
  }

  /** The live slot with the dev and ino of row `row` of `t` (its words at 10 row), or -1. */
  private find(t: Int32Array, at: number): number {
    if (!this.indexed) this.rehash(this.slots);
    const w = this.words;
    for (let slot = this.heads[bucket(t, at) & (this.heads.length - 1)]!; slot >= 0; slot = this.next[slot]!) {
      const o = HEADER_WORDS + 18 * slot;
      if (w[o] === t[at] && w[o + 1] === t[at + 1] && w[o + 2] === t[at + 2] && w[o + 3] === t[at + 3]) return slot;
    }
    return -1;
  }

  /**
   * The slot whose whole stamp equals row `row` of `table`, or -1: the lookup of a walked
   * entry, without building its stamp. Read the digest with `digestAt` or `copyDigest`.
   */
  lookup(table: StampTable, row: number): number {
    const t = table.i32;
    const at = row * 10;
    const w = this.words;
    let slot = this.hint;
    let o = HEADER_WORDS + 18 * slot;
    // A live slot with this dev and ino is the only one (set() reuses it): what find() gives.
    if (!(slot < this.slots && this.next[slot] !== -2 && w[o] === t[at] && w[o + 1] === t[at + 1] && w[o + 2] === t[at + 2] && w[o + 3] === t[at + 3])) {
      slot = this.find(t, at);
      o = HEADER_WORDS + 18 * slot;
    }
    if (slot >= 0) {
      if (w[o + 4] === t[at + 4] && w[o + 5] === t[at + 5] && w[o + 6] === t[at + 6] && w[o + 7] === t[at + 7] && w[o + 8] === t[at + 8] && w[o + 9] === t[at + 9]) {
        this.stats.hits++;
        this.hint = slot + 1;
        return slot;
      }
    }
    this.stats.misses++;
    return -1;
  }

  /** The digest in `slot` (from `lookup`). */
  digestAt(slot: number): Digest {
    const o = HEADER + slot * RECORD + 40;
    return `sha256:${this.data.toString("hex", o, o + 32)}`;
  }

  /** Copy the 32 digest bytes of `slot` to `target` (a 32-bit word view) at word `at`. */
  copyDigest(slot: number, target: Int32Array, at: number): void {
    const w = this.words;
    const o = HEADER_WORDS + 18 * slot + 10;
    for (let k = 0; k < 8; k++) target[at + k] = w[o + k]!;
  }

  /** `lookup` for a stamp given as an object. */
  lookupStamp(stamp: FileStamp): number {
    this.scratch.put(0, stamp);
    return this.lookup(this.scratch, 0);
  }

  /** The digest recorded for a file with exactly this stamp, if any. */
  get(stamp: FileStamp): Digest | undefined {
    const slot = this.lookupStamp(stamp);
    return slot < 0 ? undefined : this.digestAt(slot);
  }

  /**
   * Record `digest` for the file with `stamp`, read starting at `readStartNs` (wall clock,
   * ns). If the file's mtime or ctime is within RACY_WINDOW_NS of that time, a later write
   * could leave the stamp unchanged (coarse timestamps), so the entry is dropped instead.
   */
  set(stamp: FileStamp, digest: Digest, readStartNs: bigint): void {
    const scratch = this.scratch;
    scratch.put(0, stamp);
    const slot = this.find(scratch.i32, 0);
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
    if (slot >= 0) o = HEADER + slot * RECORD;
    else {
      this.reserve(this.slots + 1);
      const fresh = this.slots++;
      o = HEADER + fresh * RECORD;
      const b = bucket(scratch.i32, 0) & (this.heads.length - 1);
      this.next[fresh] = this.heads[b]!;
      this.heads[b] = fresh;
      this.live++;
    }
    this.data.set(scratch.rowBytes(0), o);
    this.data.write(digest.slice(7), o + 40, 32, "hex");
    this.stats.stored++;
    this.dirty = true;
  }

  private drop(slot: number): void {
    const b = bucket(this.words, HEADER_WORDS + 18 * slot) & (this.heads.length - 1);
    // Unlink it from its chain.
    let prev = -1;
    for (let s = this.heads[b]!; s >= 0; prev = s, s = this.next[s]!) {
      if (s !== slot) continue;
      if (prev >= 0) this.next[prev] = this.next[s]!;
      else this.heads[b] = this.next[s]!;
      break;
    }
    this.next[slot] = -2;
    this.live--;
  }

  /** Room for `n` slots (grows by doubling; the loaded file's buffer is copied once). */
  private reserve(n: number): void {
    const have = this.next.length;
    if (n <= have && this.data.length >= HEADER + n * RECORD) return;
    const cap = Math.max(n, have * 2, 1024);
    const data = Buffer.alloc(HEADER + cap * RECORD);
    this.data.copy(data, 0, 0, HEADER + this.slots * RECORD);
    const next = new Int32Array(cap);
    next.set(this.next.subarray(0, this.slots));
    this.data = data;
    this.words = new Int32Array(data.buffer, data.byteOffset, data.length >> 2);
    this.next = next;
    if (this.heads.length < 2 * cap) this.rehash(cap);
  }

  /** Write the cache and the memo if they changed: each to a temp file in the same folder, then renamed. */
  async save(): Promise<void> {
    if (!this.file) return;
    const dir = join(this.file, "..");
    if (this.dirty) {
      let first = 0;
      if (this.live > MAX_ENTRIES) {
        // Keep the newest MAX_ENTRIES slots.
        for (let skip = this.live - MAX_ENTRIES; skip > 0; first++) if (this.next[first] !== -2) skip--;
      }
      const count = Math.min(this.live, MAX_ENTRIES);
      const buf = Buffer.allocUnsafe(HEADER + count * RECORD);
      let o = HEADER;
      for (let slot = first; slot < this.slots; slot++) {
        if (this.next[slot] === -2) continue;
        this.data.copy(buf, o, HEADER + slot * RECORD, HEADER + (slot + 1) * RECORD);
        o += RECORD;
      }
      await mkdir(dir, { recursive: true });
      await rm(join(dir, OLD_FILE_NAME), { force: true });
      await writeChecked(this.file, MAGIC, count, buf);
      this.dirty = false;
    }
    if (this.memoDirty || !sameOrder(this.memoSaved, this.memo.keys())) {
      const buf = Buffer.allocUnsafe(HEADER + this.memo.size * MEMO_RECORD);
      let o = HEADER;
      for (const [key, digest] of this.memo) {
        buf.write(key, o, 32, "hex");
        buf.write(digest.slice(7), o + 32, 32, "hex");
        o += MEMO_RECORD;
      }
      await mkdir(dir, { recursive: true });
      await writeChecked(join(dir, MEMO_FILE_NAME), MEMO_MAGIC, this.memo.size, buf);
      this.memoDirty = false;
      this.memoSaved = [...this.memo.keys()];
    }
  }
}

/** A memo key as the memo map holds it. */
function hexOf(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString("hex");
}

/** Whether `keys` lists exactly `saved`, in order. */
function sameOrder(saved: readonly string[], keys: Iterable<string>): boolean {
  let i = 0;
  for (const k of keys) if (saved[i++] !== k) return false;
  return i === saved.length;
}

/**
 * The bytes of a file of `record`-byte records written by writeChecked, or undefined if
 * it is missing, not of this magic, or damaged (a torn or flipped byte anywhere in the
 * records must not become a trusted value). Read at once, not through fs/promises: its
 * chunked reads, each a round trip to libuv's threads, cost ~10 ms of a ~80 ms warm
 * re-hash of 20,000 files. The checksum is computed on libuv's threads.
 */
async function readChecked(file: string, magic: Buffer, record: number): Promise<Buffer | undefined> {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return undefined;
  }
  if (buf.length < HEADER || !buf.subarray(0, 8).equals(magic)) return undefined;
  const n = buf.readUInt32LE(8);
  if (buf.length !== HEADER + n * record) return undefined;
  const sum = Buffer.from(await webcrypto.subtle.digest("SHA-256", buf.subarray(HEADER)));
  return sum.equals(buf.subarray(12, HEADER)) ? buf : undefined;
}

/**
 * Write `buf` (HEADER bytes left free, then `count` records) to `file` with its header:
 * magic, count (u32 LE), SHA-256 of the records. Temp file in the same folder, then rename.
 */
async function writeChecked(file: string, magic: Buffer, count: number, buf: Buffer): Promise<void> {
  magic.copy(buf, 0);
  buf.writeUInt32LE(count, 8);
  createHash("sha256").update(buf.subarray(HEADER)).digest().copy(buf, 12);
  const tmp = `${file}.tmp-${randomBytes(6).toString("hex")}`;
  try {
    await writeFile(tmp, buf);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * The hash-table bucket of the stamp whose words start at `o` (dev words o, o+1; inode
 * words o+2, o+3), before masking. Inode numbers are mostly sequential, so their low word
 * spreads well; the other words are mixed in for inodes equal in their low bits.
 */
function bucket(w: Int32Array, o: number): number {
  return (w[o + 2]! ^ Math.imul(w[o + 3]!, 0x9e3779b1) ^ Math.imul(w[o]! ^ w[o + 1]!, 0x85ebca6b)) >>> 0;
}
