// Content hashing of a selection as a tree (pure): per-file records (BuildKit's rule: path,
// type, mode incl. setuid/setgid/sticky, uid/gid, size, link target, device numbers,
// xattrs, SHA-256 of the bytes — never times), directories hashed over their children's
// names and hashes, and a structural diff of two record lists for cache-miss explanations.
import { sha256Digest, type Digest } from "../util/index.js";

export type EntryType = "file" | "dir" | "symlink" | "fifo" | "socket" | "char-device" | "block-device";

/** What the cache key of a COPY/ADD sees of one file. Times are deliberately absent. */
export interface FileRecord {
  /** Slash-separated path inside the selection root ("" = the root itself). */
  readonly path: string;
  readonly type: EntryType;
  /** Permission bits including setuid, setgid and sticky (st_mode & 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Byte size for regular files, 0 otherwise. */
  readonly size: number;
  readonly linkTarget?: string;
  readonly devMajor?: number;
  readonly devMinor?: number;
  /** Extended attributes, name → base64 value (empty: Node cannot read xattrs). */
  readonly xattrs?: Readonly<Record<string, string>>;
  /** SHA-256 of the bytes, for regular files. */
  readonly contentDigest?: Digest;
}

/** Hash a small UTF-8 string to a Digest. Edges pass node:crypto; the default is @noble. */
export type StringHasher = (text: string) => Digest;

/** What the walker found at one context path (plain data; the edge fills `stamp`). */
export interface ContextEntry {
  /** Slash-separated, relative to the context root, no leading `./` or `/`. */
  readonly path: string;
  readonly type: EntryType;
  /** st_mode & 0o7777. */
  readonly mode: number;
  /** Bytes, for regular files; 0 otherwise. */
  readonly size: number;
  readonly linkTarget?: string;
  readonly devMajor?: number;
  readonly devMinor?: number;
  /** Identity and change stamp for the file-hash cache (never part of a key). */
  readonly stamp?: FileStamp;
}

/** lstat fields that tell whether a file may have changed since it was hashed. */
export interface FileStamp {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

/** The record's own fields (no path, no children) as a canonical one-line preimage. */
export function recordPreimage(r: FileRecord): string {
  // Byte-for-byte JSON.stringify([type, mode, uid, gid, size, linkTarget, devMajor,
  // devMinor, xattrs, contentDigest]), built by concatenation: it runs once per selected
  // file, and the array plus the generic serialiser cost more than the hashing.
  const x = r.xattrs ? JSON.stringify(Object.keys(r.xattrs).sort().map((k) => [k, r.xattrs![k]!])) : "[]";
  return `[${jsonString(r.type)},${jsonNumber(r.mode)},${jsonNumber(r.uid)},${jsonNumber(r.gid)},${jsonNumber(r.size)},${r.linkTarget === undefined ? '""' : jsonString(r.linkTarget)},${jsonNumber(r.devMajor ?? 0)},${jsonNumber(r.devMinor ?? 0)},${x},${r.contentDigest === undefined ? '""' : jsonString(r.contentDigest)}]`;
}

/** JSON.stringify of a string: quoted as is unless it needs escaping. */
export function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}
// What JSON.stringify escapes: quote, backslash, control characters, lone surrogates (a
// surrogate pair is kept as is, but the slow path handles every surrogate to be exact).
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify of a number (integers print the same either way; NaN and ±Infinity are null). */
function jsonNumber(n: number): string {
  return Number.isFinite(n) ? `${n}` : "null";
}

/** The digest of one record's metadata and content (independent of where it lives). */
export function recordDigest(r: FileRecord, hash: StringHasher = sha256Digest): Digest {
  return hash(`tbuild.context.record.v1\0${recordPreimage(r)}`);
}

/** Code-point order of path components (Go's byte order on UTF-8), then depth-first. */
export function comparePaths(a: string, b: string): number {
  const as = a.split("/");
  const bs = b.split("/");
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const c = compareNames(as[i]!, bs[i]!);
    if (c !== 0) return c;
  }
  return as.length - bs.length;
}

/** Compare two names by code point (equals UTF-8 byte order, unlike JS's UTF-16 `<`). */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx === sy) return x - y;
    return sx ? 1 : -1; // a surrogate (astral code point) sorts after every BMP char above it
  }
  return a.length - b.length;
}

export interface TreeHash {
  /** The digest of the whole tree rooted at "" (a lone file: its record digest). */
  readonly digest: Digest;
  /** Digest of every directory in the tree, by path. */
  readonly dirs: ReadonlyMap<string, Digest>;
}

/**
 * Hash a tree given as records whose paths are relative to its root. A directory's digest
 * covers its own record and, for each child in name order, the child's name and digest;
 * a lone file's digest is its record digest. Records for missing parent directories are
 * treated as plain 0755 directories. Only the given records count.
 */
export function hashTree(records: readonly FileRecord[], hash: StringHasher = sha256Digest): TreeHash {
  return hashTreeInOrder(records, hash) ?? hashTreeAnyOrder(records, hash);
}

const IMPLICIT_DIR: FileRecord = { path: "", type: "dir", mode: 0o755, uid: 0, gid: 0, size: 0 };

interface DirFrame {
  readonly path: string;
  readonly name: string;
  readonly parts: string[];
  /** The last child name seen, to check the order. */
  last: string | undefined;
}

/**
 * hashTree in one pass with a stack of open directories, for records in walk order (each
 * directory before its contents, names sorted per directory, no gaps, no duplicates): what
 * a selection of walked entries always is. No maps of paths or children, no sorting.
 * Returns undefined as soon as the order is not that, and the caller takes the general way;
 * both give the same digests.
 */
function hashTreeInOrder(records: readonly FileRecord[], hash: StringHasher): TreeHash | undefined {
  if (records.length === 0) return undefined;
  const dirs = new Map<string, Digest>();
  const first = records[0]!;
  let i = 0;
  let root = IMPLICIT_DIR;
  if (first.path === "") {
    if (first.type !== "dir") return records.length === 1 ? { digest: recordDigest(first, hash), dirs } : undefined;
    root = first;
    i = 1;
  }
  const stack: DirFrame[] = [{ path: "", name: "", parts: [`tbuild.context.dir.v1\0${recordPreimage(root)}`], last: undefined }];
  let digest: Digest | undefined;
  const close = (): void => {
    const f = stack.pop()!;
    const d = hash(f.parts.join("\n"));
    dirs.set(f.path, d);
    const parent = stack[stack.length - 1];
    if (parent) parent.parts.push(`${jsonString(f.name)} d${d}`);
    else digest = d;
  };
  for (; i < records.length; i++) {
    const r = records[i]!;
    const p = r.path;
    const cut = p.lastIndexOf("/");
    const name = p.slice(cut + 1);
    if (name === "") return undefined;
    const parent = cut < 0 ? "" : p.slice(0, cut);
    while (stack.length > 0 && stack[stack.length - 1]!.path !== parent) close();
    const top = stack[stack.length - 1];
    if (!top || (top.last !== undefined && compareNames(top.last, name) >= 0)) return undefined;
    top.last = name;
    if (r.type === "dir") stack.push({ path: p, name, parts: [`tbuild.context.dir.v1\0${recordPreimage(r)}`], last: undefined });
    else top.parts.push(`${jsonString(name)} f${recordPreimage(r)}`);
  }
  while (stack.length > 0) close();
  return { digest: digest!, dirs };
}

/** hashTree for records in any order (duplicates: the first wins). */
function hashTreeAnyOrder(records: readonly FileRecord[], hash: StringHasher): TreeHash {
  const byPath = new Map<string, FileRecord>();
  const children = new Map<string, string[]>();
  const linked = new Set<string>();
  const addChild = (p: string) => {
    if (p === "" || linked.has(p)) return;
    linked.add(p);
    const i = p.lastIndexOf("/");
    const parent = i < 0 ? "" : p.slice(0, i);
    let list = children.get(parent);
    if (!list) {
      list = [];
      children.set(parent, list);
      addChild(parent);
    }
    list.push(p);
  };
  for (const r of records) {
    if (byPath.has(r.path)) continue;
    byPath.set(r.path, r);
    addChild(r.path);
  }
  const dirs = new Map<string, Digest>();
  const implicitDir: FileRecord = { path: "", type: "dir", mode: 0o755, uid: 0, gid: 0, size: 0 };
  const digestOf = (p: string): Digest => {
    const r = byPath.get(p) ?? implicitDir;
    const kids = children.get(p);
    if (r.type !== "dir") return recordDigest(r, hash);
    // A file child contributes its record preimage inline (one hash per directory, not
    // per file: 20,000 files cost ~400 hash calls); a directory child its digest.
    const parts: string[] = [`tbuild.context.dir.v1\0${recordPreimage(r)}`];
    const names = (kids ?? []).map((k) => [k.slice(k.lastIndexOf("/") + 1), k] as const).sort((a, b) => compareNames(a[0], b[0]));
    for (const [name, k] of names) {
      const c = byPath.get(k);
      parts.push(c && c.type !== "dir" ? `${JSON.stringify(name)} f${recordPreimage(c)}` : `${JSON.stringify(name)} d${digestOf(k)}`);
    }
    const d = hash(parts.join("\n"));
    dirs.set(p, d);
    return d;
  };
  if (!byPath.has("") && !children.has("")) return { digest: hash("tbuild.context.empty.v1"), dirs };
  return { digest: digestOf(""), dirs };
}

/** Why one record differs from another. */
export type RecordChange = "content" | "mode" | "type" | "size" | "owner" | "link" | "device" | "xattrs";

export interface RecordDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly { readonly path: string; readonly what: readonly RecordChange[] }[];
}

/** Compare two record lists by path: the planner's "src/index.ts changed (content)". */
export function diffRecords(before: readonly FileRecord[], after: readonly FileRecord[]): RecordDiff {
  const a = new Map(before.map((r) => [r.path, r]));
  const b = new Map(after.map((r) => [r.path, r]));
  const added: string[] = [];
  const removed: string[] = [];
  const changed: { path: string; what: RecordChange[] }[] = [];
  for (const [p, r] of b) {
    const o = a.get(p);
    if (!o) {
      added.push(p);
      continue;
    }
    const what: RecordChange[] = [];
    if (o.type !== r.type) what.push("type");
    if (o.mode !== r.mode) what.push("mode");
    if (o.uid !== r.uid || o.gid !== r.gid) what.push("owner");
    if (o.size !== r.size) what.push("size");
    if ((o.contentDigest ?? "") !== (r.contentDigest ?? "")) what.push("content");
    if ((o.linkTarget ?? "") !== (r.linkTarget ?? "")) what.push("link");
    if ((o.devMajor ?? 0) !== (r.devMajor ?? 0) || (o.devMinor ?? 0) !== (r.devMinor ?? 0)) what.push("device");
    if (JSON.stringify(o.xattrs ?? {}) !== JSON.stringify(r.xattrs ?? {})) what.push("xattrs");
    if (what.length) changed.push({ path: p, what });
  }
  for (const p of a.keys()) if (!b.has(p)) removed.push(p);
  const byPath = (x: string, y: string) => comparePaths(x, y);
  return { added: added.sort(byPath), removed: removed.sort(byPath), changed: changed.sort((x, y) => byPath(x.path, y.path)) };
}
