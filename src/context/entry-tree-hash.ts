// The tree hash of walked entries on bytes (edge): the digest hashTree gives for a selection
// root's records, written from the walk's EntryTable straight into per-depth byte buffers
// and hashed with node:crypto, without building a record, a preimage string or a digest
// string per file. This is the no-change rebuild's inner loop (20,000 files: a few
// milliseconds instead of tens). It covers a root's rows in walk order, which a walked
// selection root always is; for anything else it answers undefined and the caller takes
// hashTree over records (the specification; the tests hold both to the same digests).
import * as crypto from "node:crypto";
import type { Digest } from "../util/index.js";
import { typeOf, type EntryTable } from "./entry-table.js";
import { jsonString, type ContextEntry } from "./tree-hash.js";

/** Content digests of files, by entry index: 32 raw bytes at 32 i, present when `has[i]`. */
export interface EntryDigests {
  readonly bytes: Uint8Array;
  readonly has: Uint8Array;
}

const HEX = new TextEncoder().encode("0123456789abcdef");
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const DIR_TAG = ascii("tbuild.context.dir.v1\0");
const RECORD_TAG = ascii("tbuild.context.record.v1\0");
/** `["<type>",` for each entry type. */
const TYPE_OPEN: Record<string, Uint8Array> = Object.fromEntries(
  ["file", "dir", "symlink", "fifo", "socket", "char-device", "block-device"].map((t) => [t, ascii(`["${t}",`)]),
);
const F_PART = ascii(" f");
const D_PART = ascii(" dsha256:");
const OWNER_ZERO = ascii(",0,0,"); // uid, gid (context files are 0:0)
const NO_LINK = ascii(',"",');
const NO_DEVICE = ascii("0,0");
/** ` f["file",` and `,"",0,0,[],"sha256:`: what surrounds a plain file's mode and size. */
const FILE_OPEN = ascii(' f["file",');
const FILE_TAIL = ascii(',"",0,0,[],"sha256:');
/** Decimal text of every permission value (st_mode & 0o7777). */
const MODES = Array.from({ length: 0o10000 }, (_, m) => ascii(`${m}`));
/** Two hex digits per byte value. */
const HEX2 = ascii(Array.from({ length: 256 }, (_, v) => v.toString(16).padStart(2, "0")).join(""));
let HEX4: Uint32Array | undefined;
/**
 * The four hex digits of each 16-bit value (high byte first) as one little-endian word,
 * built on first use (256 KiB): a digest's 64 digits are then 16 stores, not 64.
 */
function hexQuads(): Uint32Array {
  if (HEX4) return HEX4;
  const t = new Uint32Array(65536);
  for (let v = 0; v < 65536; v++) {
    const hi = (v >> 8) << 1;
    const lo = (v & 255) << 1;
    t[v] = (HEX2[hi]! | (HEX2[hi + 1]! << 8) | (HEX2[lo]! << 16) | (HEX2[lo + 1]! << 24)) >>> 0;
  }
  return (HEX4 = t);
}
/** One-shot SHA-256 (crypto.hash, Node ≥ 20.12), else through a Hash object. */
const sha256: (data: Uint8Array) => Buffer =
  typeof (crypto as { hash?: unknown }).hash === "function"
    ? (data) => (crypto as unknown as { hash(alg: string, data: Uint8Array, enc: "buffer"): Buffer }).hash("sha256", data, "buffer")
    : (data) => crypto.createHash("sha256").update(data).digest();
const NO_XATTRS = ascii(",[],");
const DIGEST_OPEN = ascii('"sha256:');
const NO_DIGEST_CLOSE = ascii('""]');
const CLOSE = ascii('"]');

/** A growable byte buffer for one open directory's preimage. */
class Bytes {
  buf: Uint8Array = new Uint8Array(16384);
  /** `buf` as a DataView, for writing four hex digits in one store. */
  view = new DataView(this.buf.buffer);
  len = 0;

  reserve(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }

  /** Append constant bytes (the caller reserved room). */
  raw(a: Uint8Array): void {
    const b = this.buf;
    let o = this.len;
    for (let i = 0; i < a.length; i++) b[o++] = a[i]!;
    this.len = o;
  }

  byte(c: number): void {
    this.buf[this.len++] = c;
  }

  /** A non-negative integer or any number as JSON writes it. */
  number(n: number): void {
    if (!(Number.isInteger(n) && n >= 0 && n < 2 ** 53)) {
      this.text(Number.isFinite(n) ? `${n}` : "null");
      return;
    }
    const b = this.buf;
    if (n < 10) {
      b[this.len++] = 48 + n;
      return;
    }
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let o = this.len + digits;
    this.len = o;
    let x = n;
    // Below 2^31 the digits come from int32 division (a file size almost always is).
    for (; x > 0x7fffffff; x = Math.floor(x / 10)) b[--o] = 48 + (x % 10);
    do {
      const q = (x / 10) | 0;
      b[--o] = 48 + x - q * 10;
      x = q;
    } while (x > 0);
  }

  /** Any string, as UTF-8. */
  text(s: string): void {
    this.reserve(s.length * 3);
    this.len += Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.length).write(s, this.len, "utf8");
  }

  /** JSON.stringify(s): quoted as is when plain printable ASCII. */
  jsonString(s: string): void {
    this.reserve(s.length + 2);
    const b = this.buf;
    let o = this.len;
    b[o++] = 34;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 34 || c === 92) {
        this.text(jsonString(s));
        return;
      }
      b[o++] = c;
    }
    b[o++] = 34;
    this.len = o;
  }

  /** 32 raw bytes as 64 lowercase hex digits. */
  hex(src: Uint8Array, at: number): void {
    const b = this.buf;
    let o = this.len;
    for (let k = at; k < at + 32; k++) {
      const v = src[k]!;
      b[o++] = HEX[v >> 4]!;
      b[o++] = HEX[v & 15]!;
    }
    this.len = o;
  }

  sha256(): Buffer {
    return sha256(this.buf.subarray(0, this.len));
  }

  /**
   * The part of a regular file with a content digest and no link or device fields, the
   * common case, in one pass: `\n"<name>" f["file",<mode>,0,0,<size>,"",0,0,[],"sha256:<hex>"]`.
   * False (nothing written) when the name needs JSON escaping: the general path does it.
   */
  filePart(name: string, mode: number, size: number, digests: Uint8Array, at: number): boolean {
    this.reserve(name.length + 160);
    const b = this.buf;
    let o = this.len;
    b[o++] = 10;
    b[o++] = 34;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 34 || c === 92) return false;
      b[o++] = c;
    }
    b[o++] = 34;
    for (let k = 0; k < FILE_OPEN.length; k++) b[o++] = FILE_OPEN[k]!;
    const m = MODES[mode]!;
    for (let k = 0; k < m.length; k++) b[o++] = m[k]!;
    for (let k = 0; k < OWNER_ZERO.length; k++) b[o++] = OWNER_ZERO[k]!;
    this.len = o;
    this.number(size);
    o = this.len;
    for (let k = 0; k < FILE_TAIL.length; k++) b[o++] = FILE_TAIL[k]!;
    const view = this.view;
    const hex4 = hexQuads();
    for (let k = at; k < at + 32; k += 2) {
      view.setUint32(o, hex4[(digests[k]! << 8) | digests[k + 1]!]!, true);
      o += 4;
    }
    b[o++] = 34;
    b[o++] = 93;
    this.len = o;
    return true;
  }
}

/**
 * recordPreimage of the record toRecord makes for `e` (uid/gid 0, no xattrs).
 * Bump TREE_HASH_IMPL whenever this function's output changes.
 */
function writeRecord(out: Bytes, e: ContextEntry, digests: EntryDigests, i: number): void {
  out.reserve(256);
  out.raw(TYPE_OPEN[e.type]!);
  out.number(e.mode);
  out.raw(OWNER_ZERO);
  out.number(e.type === "file" ? e.size : 0);
  if (e.linkTarget === undefined) out.raw(NO_LINK);
  else {
    out.byte(44);
    out.text(jsonString(e.linkTarget));
    out.reserve(256);
    out.byte(44);
  }
  out.number(e.devMajor ?? 0);
  out.byte(44);
  out.number(e.devMinor ?? 0);
  out.raw(NO_XATTRS);
  if (e.type === "file" && digests.has[i]) {
    out.raw(DIGEST_OPEN);
    out.hex(digests.bytes, 32 * i);
    out.raw(CLOSE);
  } else out.raw(NO_DIGEST_CLOSE);
}

/** Start a directory's preimage in `out`: its tag and own record (uid/gid 0, size 0, no digest). */
function openDir(out: Bytes, mode: number): void {
  out.len = 0;
  out.reserve(256);
  out.raw(DIR_TAG);
  out.raw(TYPE_OPEN.dir!);
  out.number(mode);
  out.raw(OWNER_ZERO);
  out.byte(48);
  out.raw(NO_LINK);
  out.raw(NO_DEVICE);
  out.raw(NO_XATTRS);
  out.raw(NO_DIGEST_CLOSE);
}

/** A subdirectory's line in its parent's preimage: `\n"<name>" dsha256:<hex>`. */
function dirPart(out: Bytes, name: string, digest: Uint8Array): void {
  out.reserve(8);
  out.byte(10);
  out.jsonString(name);
  out.reserve(80);
  out.raw(D_PART);
  out.hex(digest, 0);
}

/** A non-directory's line in its parent's preimage: `\n"<name>" f<record>`. */
function entryPart(out: Bytes, name: string, e: ContextEntry, digests: EntryDigests, i: number): void {
  out.reserve(8);
  out.byte(10);
  out.jsonString(name);
  out.reserve(8);
  out.raw(F_PART);
  writeRecord(out, e, digests, i);
}

/**
 * hashTree(records, nodeStringHasher).digest for a selection root straight from a walk's
 * EntryTable. `root` is -1 for the context root, else the root folder's row. `rows` gives
 * the root's rows, in walk order: a number `end` for the run from the root's row (row 0
 * for the context root) to `end` - 1 (what a root without a mid-range --exclude is), or
 * the rows listed (the root's row first unless it is the context root). Entry k of `rows`
 * has its content digest at k in `digests`. No path is read: each row's name and parent
 * link give the tree, and the walk wrote the rows in walk order. Undefined if the rows are
 * not increasing or a row's parent is not an open folder of them (then they are not such
 * a root; the caller takes hashTree).
 * Bump TREE_HASH_IMPL whenever this function's output changes (its memo outlives a release).
 */
export function hashEntryTable(t: EntryTable, root: number, rows: number | ArrayLike<number>, digests: EntryDigests): Digest | undefined {
  const list = typeof rows === "number" ? undefined : rows;
  const base = root < 0 ? 0 : root;
  const n = list ? list.length : (rows as number) - base;
  if (n <= 0 || (list ? list[n - 1]! >= t.length : base + n > t.length)) return undefined;
  if (list && root >= 0 && list[0] !== root) return undefined;
  const bufs: Bytes[] = [];
  /** Rows of the open folders (-1: the context root). */
  const stack: number[] = [];
  const open = (row: number, mode: number): void => {
    openDir((bufs[stack.length] ??= new Bytes()), mode);
    stack.push(row);
  };
  if (root < 0) open(-1, 0o755);
  else if (t.type(root) !== "dir") return undefined;
  else open(root, t.modes[root]! & 0o7777);
  let digest: Digest | undefined;
  const close = (): void => {
    const row = stack.pop()!;
    const d = bufs[stack.length]!.sha256();
    if (stack.length === 0) digest = `sha256:${d.toString("hex")}`;
    else dirPart(bufs[stack.length - 1]!, t.names[row]!, d);
  };
  const { names, parents, modes, sizes } = t;
  let prev = root;
  for (let k = root < 0 ? 0 : 1; k < n; k++) {
    const i = list ? list[k]! : base + k;
    if (i <= prev) return undefined;
    prev = i;
    const parent = parents[i]!;
    while (stack.length > 0 && stack[stack.length - 1] !== parent) close();
    if (stack.length === 0) return undefined;
    const st = modes[i]!;
    const type = typeOf(st);
    if (type === "dir") {
      open(i, st & 0o7777);
      continue;
    }
    const out = bufs[stack.length - 1]!;
    const name = names[i]!;
    const size = sizes[i]!;
    // A regular file has no link target or device numbers.
    if (type === "file" && digests.has[k] && Number.isSafeInteger(size) && size >= 0 && out.filePart(name, st & 0o7777, size, digests.bytes, 32 * k)) continue;
    entryPart(out, name, { path: name, type, mode: st & 0o7777, size: type === "file" ? size : 0, ...t.extrasOf(i) }, digests, k);
  }
  while (stack.length > 0) close();
  return digest;
}

/**
 * The key under which the file-hash cache memoises hashEntryTable(t, root, end, digests):
 * a SHA-256 of everything that digest is computed from (the rows' names, parent links,
 * st_mode, sizes, link targets and device numbers, the digests present, the range, and the
 * tags of the preimages), so equal keys mean equal digests. It hashes ~60 bytes a file
 * where the tree hash writes and hashes ~120 as text: a third of the work. `impl` is the
 * implementation version the key names (the tests pass another).
 */
export function entryTableKey(t: EntryTable, root: number, end: number, digests: EntryDigests, impl = TREE_HASH_IMPL): Buffer {
  const base = root < 0 ? 0 : root;
  const n = end - base;
  const h = crypto.createHash("sha256");
  h.update(KEY_TAG).update(`${impl}\0`).update(DIR_TAG).update(RECORD_TAG).update(`${root < 0 ? "root" : "dir"}\0${n}\0`);
  // Names hold neither "/" nor NUL: joined by NUL they stay apart. UTF-16, since UTF-8
  // would make any lone surrogate U+FFFD, and the tree hash tells those apart.
  h.update(t.names.slice(base, end).join("\0"), "utf16le");
  // Rows counted from the root's, so a file added before the root (earlier in walk order)
  // leaves a subtree's key as it was; the root's own parent does not count.
  h.update(base === 0 ? t.parents.subarray(0, end) : relativeParents(t.parents, base, end));
  h.update(t.modes.subarray(base, end)).update(t.sizes.subarray(base, end));
  h.update(digests.has.subarray(0, n)).update(digests.bytes.subarray(0, 32 * n));
  const extras = t.extrasIn(base, end);
  h.update(JSON.stringify(base === 0 ? extras : extras.map(([i, x]) => [i - base, x])));
  return h.digest();
}
/** Parent links of rows `base` to `end` - 1 as offsets from `base` (-1 for the root row's own). */
function relativeParents(parents: Int32Array, base: number, end: number): Int32Array {
  const out = new Int32Array(end - base);
  out[0] = -1;
  for (let i = base + 1; i < end; i++) out[i - base] = parents[i]! - base;
  return out;
}
const KEY_TAG = ascii("tbuild.context.tree-key.v1\0");
/**
 * The version of this file's byte-level hashing (hashEntryTable, writeRecord), named in
 * every memo key: the memo file outlives an upgrade, and a release that fixes a bug in
 * those functions without changing the preimage tags must not be served the old, wrong
 * digests. Bump it whenever their output changes.
 */
export const TREE_HASH_IMPL = 1;
