// lstat for the context walker (edge), without a Stats object per call. Node 20's
// lstatSync(p, { bigint: true }) builds a BigIntStats (about 18 bigints) for each path:
// on a 20,000-file context that is ~30 MB of garbage and a third of the walk's time. Its
// native binding writes every stat into one shared BigInt64Array and returns that array;
// the raw reader calls the binding exactly as lstatSync does and reads the fields as
// 32-bit words in place. It is used only when the running Node's lstatSync is seen to make
// that very call; otherwise (and whenever the walker is given its own fs) lstatSync is used.
import * as nodeFs from "node:fs";
import { endianness } from "node:os";
import { fileURLToPath } from "node:url";
import { StampTable } from "./stamps.js";

/** One lstat at a time: call `lstat` or `lstatChild`, then read the other fields of that same call. */
export interface LstatReader {
  /** lstat `path` (a symlink is not followed); returns st_mode. Throws as lstatSync does. */
  lstat(path: string): number;
  /**
   * Ready the lstat of the children of one directory: `absPrefix` is its absolute path
   * and a slash. The handle stays valid while the children of its subdirectories are read.
   */
  dir(absPrefix: string): LstatDir;
  /** `lstat(absPrefix + name)` for the directory of `dir`. */
  lstatChild(dir: LstatDir, name: string): number;
  /** st_size of the last lstat. */
  size(): number;
  /** st_rdev of the last lstat. */
  rdev(): bigint;
  /** Append the last lstat's stamp (dev, ino, size, mtime and ctime in ns) to `table`; returns its row. */
  pushStamp(table: StampTable): number;
}

/** The lstat reader over `fs.lstatSync` with bigint stats: the portable one. */
export class StatsLstatReader implements LstatReader {
  private last: nodeFs.BigIntStats | undefined;
  constructor(private readonly fs: { lstatSync(path: string, opts: { bigint: true }): nodeFs.BigIntStats } = nodeFs) {}

  lstat(path: string): number {
    this.last = this.fs.lstatSync(path, BIGINT);
    return Number(this.last.mode);
  }

  dir(absPrefix: string): LstatDir {
    return { absPrefix, view: undefined, bytes: 0 };
  }

  lstatChild(dir: LstatDir, name: string): number {
    return this.lstat(dir.absPrefix + name);
  }

  size(): number {
    return Number(this.last!.size);
  }

  rdev(): bigint {
    return this.last!.rdev;
  }

  pushStamp(table: StampTable): number {
    return table.push(this.last!);
  }
}

/**
 * A directory being read: its path with a trailing slash, and for the raw reader the
 * bytes of that path at the start of the reader's path buffer, seen through `view`.
 */
export interface LstatDir {
  readonly absPrefix: string;
  readonly view: Buffer | undefined;
  readonly bytes: number;
}

const BIGINT = { bigint: true } as const;

/** Index of each field in the binding's stat array (node's src/node_file.h FsStatsOffset). */
const F = { dev: 0, mode: 1, rdev: 5, ino: 7, size: 8, mtimeSec: 12, mtimeNsec: 13, ctimeSec: 14, ctimeNsec: 15, count: 18 } as const;

/** The part of node's internal fs binding the raw reader uses. */
interface FsBinding {
  lstat(path: string | Uint8Array, bigint: true, req: undefined, throwIfNoEntry: true): unknown;
  readonly bigintStatValues: unknown;
}

/** Bytes a name can take in UTF-8 (Linux NAME_MAX), with the terminating NUL. */
const NAME_ROOM = 256;

/**
 * The reader over node's fs binding (see the file header): no allocation per lstat.
 * A child's path is not built as a string: its directory's path is written once into a
 * byte buffer, each name after it, then a NUL. The binding copies the view it is given
 * and the kernel reads the path up to that NUL (a name never holds one), which saves
 * the concatenated string and its flattened copy per entry (~2 ms of a 20,000-file walk).
 */
class RawLstatReader implements LstatReader {
  /** The binding's stat array as 32-bit words: field f is words 2f (low) and 2f + 1 (high). */
  private readonly w: Int32Array;
  /** Directory paths, nested ones after their parents', and the name being read. */
  private path = Buffer.alloc(4096);
  /** Views of `path` from its start, 512 (k + 1) bytes long at k: made once, not per directory. */
  private views: Buffer[] = [];

  constructor(
    private readonly binding: FsBinding,
    private readonly values: BigInt64Array,
  ) {
    this.w = new Int32Array(values.buffer, values.byteOffset, 2 * F.count);
  }

  lstat(path: string | Uint8Array): number {
    // lstatSync returns undefined only when told not to throw for ENOENT; it is told to.
    // lstatSync's own call: bigint stats, synchronous (no request), throw even for ENOENT.
    if (this.binding.lstat(path, true, undefined, true) !== this.values) throw new Error(`fs binding lstat returned no stats for ${String(path)}`);
    return this.w[2 * F.mode]!;
  }

  dir(absPrefix: string): LstatDir {
    // A subdirectory's prefix extends its parent's, so rewriting it leaves the parent's
    // bytes as they were and the parent's handle stays good (a grown buffer is a new one).
    const need = Buffer.byteLength(absPrefix) + NAME_ROOM;
    if (need > this.path.length) {
      this.path = Buffer.alloc(Math.max(need, 2 * this.path.length));
      this.views = [];
    }
    const bytes = this.path.write(absPrefix, 0);
    // The binding copies the view whole: it is a little longer than the longest path it
    // must hold, in steps of 512 bytes.
    const k = (need - 1) >> 9;
    return { absPrefix, view: (this.views[k] ??= this.path.subarray(0, Math.min(512 * (k + 1), this.path.length))), bytes };
  }

  lstatChild(dir: LstatDir, name: string): number {
    // Written into the directory's own view: after the buffer grew, an outer directory's
    // view still holds its path in the old buffer.
    const view = dir.view!;
    let o = dir.bytes;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c >= 0x80) {
        // Buffer.write stops short of a character that does not fit: check the room first.
        if (dir.bytes + Buffer.byteLength(name) >= view.length) return this.lstat(dir.absPrefix + name);
        o = dir.bytes + view.write(name, dir.bytes);
        break;
      }
      view[o++] = c; // past the view's end a store does nothing, and the check below sees it
    }
    if (o >= view.length) return this.lstat(dir.absPrefix + name);
    view[o] = 0;
    return this.lstat(view);
  }

  size(): number {
    return (this.w[2 * F.size]! >>> 0) + (this.w[2 * F.size + 1]! >>> 0) * 2 ** 32;
  }

  rdev(): bigint {
    return BigInt.asUintN(64, this.values[F.rdev]!);
  }

  pushStamp(table: StampTable): number {
    const w = this.w;
    const row = table.addRow();
    const s = table.i32;
    const at = 10 * row;
    s[at] = w[2 * F.dev]!;
    s[at + 1] = w[2 * F.dev + 1]!;
    s[at + 2] = w[2 * F.ino]!;
    s[at + 3] = w[2 * F.ino + 1]!;
    s[at + 4] = w[2 * F.size]!;
    s[at + 5] = w[2 * F.size + 1]!;
    this.nanoseconds(F.mtimeSec, F.mtimeNsec, s, at + 6);
    this.nanoseconds(F.ctimeSec, F.ctimeNsec, s, at + 8);
    return row;
  }

  /** sec × 10^9 + nsec of fields `sec` and `nsec`, as two words at `out[at]`, modulo 2^64. */
  private nanoseconds(sec: number, nsec: number, out: Int32Array, at: number): void {
    const w = this.w;
    const ns = w[2 * nsec]!;
    if (w[2 * sec + 1] !== 0 || ns < 0 || ns >= 1e9) {
      // Before 1970 or after 2106, or a value no kernel writes: bigint arithmetic.
      const v = BigInt.asUintN(64, this.values[sec]! * 1_000_000_000n + this.values[nsec]!);
      out[at] = Number(v & 0xffffffffn) | 0;
      out[at + 1] = Number(v >> 32n) | 0;
      return;
    }
    // 0 ≤ sec < 2^32: sec = hi16 · 2^16 + lo16, and every product below is exact in a double.
    const s = w[2 * sec]! >>> 0;
    const hi16 = Math.floor(s / 65536);
    const a = hi16 * 1e9; // < 2^46
    const b = (s - hi16 * 65536) * 1e9 + ns; // < 2^46
    const aHigh = Math.floor(a / 65536);
    const low = (a - aHigh * 65536) * 65536 + b; // < 2^47
    const carry = Math.floor(low / 2 ** 32);
    out[at] = (low - carry * 2 ** 32) | 0;
    out[at + 1] = (aHigh + carry) | 0;
  }
}

let raw: LstatReader | null | undefined;

/**
 * The raw reader when this Node's lstatSync is the binding call it replicates (checked on
 * lstatSync's own source and on one real lstat), else undefined.
 */
export function rawLstatReader(): LstatReader | undefined {
  if (raw === undefined) raw = probeRaw() ?? null;
  return raw ?? undefined;
}

function probeRaw(): LstatReader | undefined {
  try {
    // The permission model checks in lstatSync, not in the binding: never bypass it.
    if (endianness() !== "LE" || (process as { permission?: unknown }).permission !== undefined) return undefined;
    const src = Function.prototype.toString.call(nodeFs.lstatSync).replace(/\s+/g, "");
    if (!src.includes("binding.lstat(pathModule.toNamespacedPath(path),options.bigint,undefined,options.throwIfNoEntry,)")) return undefined;
    const binding = fsBinding();
    const values = binding.bigintStatValues;
    if (!(values instanceof BigInt64Array) || values.length < F.count || typeof binding.lstat !== "function") return undefined;
    const reader = new RawLstatReader(binding, values);
    return agrees(reader) ? reader : undefined;
  } catch {
    return undefined;
  }
}

/**
 * process.binding("fs"). process.binding is deprecated (DEP0111, a warning only under
 * --pending-deprecation, thrown later under --throw-deprecation too): this use is checked
 * and has a fallback, so the warning is kept from the user.
 */
function fsBinding(): FsBinding {
  const p = process as unknown as { binding(name: string): FsBinding; noDeprecation?: boolean };
  const quiet = p.noDeprecation;
  p.noDeprecation = true;
  try {
    return p.binding("fs");
  } finally {
    p.noDeprecation = quiet;
  }
}

/** Whether `reader` and lstatSync describe this module's own file alike. */
function agrees(reader: LstatReader): boolean {
  const path = fileURLToPath(import.meta.url);
  const mine = new StampTable(1);
  const mode = reader.lstat(path);
  const size = reader.size();
  reader.pushStamp(mine);
  const s = nodeFs.lstatSync(path, BIGINT);
  const theirs = new StampTable(1);
  theirs.push(s);
  return mode === Number(s.mode) && size === Number(s.size) && Buffer.compare(mine.rowBytes(0), theirs.rowBytes(0)) === 0;
}
