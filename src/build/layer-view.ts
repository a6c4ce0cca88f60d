// build/layer-view.ts: a layer chain's merged file system read from the tar headers of its
// (plain, uncompressed) layer blobs, without unpacking: the tree, owners, modes, times and
// symlinks, and where each regular file's bytes sit in its blob. A COPY needs no more of
// its parent than that (existing parents' metadata, /etc/passwd for --chown), and a small
// COPY --from reads its files' bytes from the blobs directly. The merge follows what
// exec's safe extraction does to a snapshot: later layers replace entries, whiteouts
// (`.wh.<name>`, `.wh..wh..opq`) remove lower layers' entries, missing parents are
// 0755 root-owned, entries are written through symlinks of lower layers (inside the root),
// hardlinks share their target's inode. Anything else (gzip blobs, sparse files, a
// layer writing through its own symlink) throws LayerViewUnsupported: the caller unpacks.
import { closeSync, openSync, readSync } from "node:fs";
import type { RootStat, RootView, FileBytes } from "./root-view.js";
import type { TarEntryType } from "../exec/index.js";
import { MAX_SYMLINK_HOPS } from "../util/index.js";

/** The chain cannot be read this way; unpack a snapshot instead. */
export class LayerViewUnsupported extends Error {}

/** What one inode holds; hardlinks share it. */
interface Inode {
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  linkname?: string;
  /** A regular file's bytes: blob path and offset. */
  data?: { readonly file: string; readonly offset: number };
}

interface Node {
  inode: Inode;
  /** Children of a directory. */
  children?: Map<string, Node>;
  /** The layer that last wrote this path (whiteouts only remove lower layers' entries). */
  layer: number;
}

/** Most file bytes one view hands out as in-memory content over a build (beyond: the caller unpacks). */
const MAX_CONTENT_BYTES = 64 << 20;

interface Header {
  name: string;
  type: TarEntryType | "whiteout-ignored";
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  linkname: string;
  offset: number;
}

export class LayerView implements RootView {
  private readonly root: Node;
  private contentBytes = 0;

  private constructor(root: Node) {
    this.root = root;
  }

  /** Read the headers of `blobs` (base first). `now`: mtime of directories no layer names. */
  static open(blobs: readonly string[], now: number): LayerView {
    const root: Node = { inode: { type: "dir", mode: 0o755, uid: 0, gid: 0, mtime: now, size: 0 }, children: new Map(), layer: -1 };
    const view = new LayerView(root);
    blobs.forEach((file, layer) => {
      const created = new Set<Node>();
      for (const h of readHeaders(file)) view.apply(h, file, layer, now, created);
    });
    return view;
  }

  private apply(h: Header, file: string, layer: number, now: number, ownSymlinks: Set<Node>): void {
    const parts = splitName(h.name);
    if (parts.length === 0) return; // "./": the root keeps its own metadata
    const base = parts[parts.length - 1]!;
    if (base.startsWith(".wh.")) {
      const dir = this.resolveDir(parts.slice(0, -1), false, layer, now, ownSymlinks);
      if (!dir) return;
      if (base === ".wh..wh..opq") {
        for (const [n, c] of dir.children!) if (c.layer < layer) dir.children!.delete(n);
        return;
      }
      const victim = base.slice(4);
      if (victim === "" || victim === "." || victim === "..") throw new LayerViewUnsupported("bad whiteout");
      const c = dir.children!.get(victim);
      if (c && c.layer < layer) dir.children!.delete(victim);
      return;
    }
    const dir = this.resolveDir(parts.slice(0, -1), true, layer, now, ownSymlinks)!;
    const kids = dir.children!;
    const old = kids.get(base);
    const meta = { mode: h.mode & 0o7777, uid: h.uid, gid: h.gid, mtime: h.mtime };
    switch (h.type) {
      case "dir":
        if (old && old.inode.type === "dir") {
          Object.assign(old.inode, meta);
          old.layer = layer;
        } else kids.set(base, { inode: { type: "dir", ...meta, size: 0 }, children: new Map(), layer });
        return;
      case "hardlink": {
        const tparts = splitName(h.linkname);
        if (tparts.length === 0) throw new LayerViewUnsupported("hardlink to the root");
        const tdir = this.resolveDir(tparts.slice(0, -1), false, layer, now, ownSymlinks);
        const target = tdir?.children!.get(tparts[tparts.length - 1]!);
        if (!target || target.inode.type === "dir" || target.inode.type === "symlink") throw new LayerViewUnsupported("hardlink target");
        kids.set(base, { inode: target.inode, layer });
        return;
      }
      case "file":
        kids.set(base, { inode: { type: "file", ...meta, size: h.size, data: { file, offset: h.offset } }, layer });
        return;
      case "symlink": {
        // Linux symlinks are always 0777, whatever the header says (lstat on a snapshot agrees).
        const n: Node = { inode: { type: "symlink", ...meta, mode: 0o777, size: 0, linkname: h.linkname }, layer };
        kids.set(base, n);
        ownSymlinks.add(n);
        return;
      }
      case "char":
      case "block":
      case "fifo":
        kids.set(base, { inode: { type: h.type, ...meta, size: 0 }, layer });
        return;
      default:
        throw new LayerViewUnsupported(`entry type ${h.type}`);
    }
  }

  /**
   * The directory node for `parts`, following symlinks inside the root (safe extraction's
   * resolveDir): missing directories are created (0755, root-owned) when `create`.
   */
  private resolveDir(parts: readonly string[], create: boolean, layer: number, now: number, ownSymlinks?: Set<Node>): Node | undefined {
    const stack: Node[] = [this.root];
    const queue = [...parts];
    let hops = 0;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === "" || c === ".") continue;
      const cur = stack[stack.length - 1]!;
      if (c === "..") {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const next = cur.children!.get(c);
      if (!next) {
        if (!create) return undefined;
        const made: Node = { inode: { type: "dir", mode: 0o755, uid: 0, gid: 0, mtime: now, size: 0 }, children: new Map(), layer };
        cur.children!.set(c, made);
        stack.push(made);
        continue;
      }
      if (next.inode.type === "dir") {
        stack.push(next);
        continue;
      }
      if (next.inode.type === "symlink") {
        if (ownSymlinks?.has(next)) throw new LayerViewUnsupported("a layer writes through its own symlink");
        if (++hops > MAX_SYMLINK_HOPS) throw new LayerViewUnsupported("symlink loop");
        const target = next.inode.linkname ?? "";
        if (target.startsWith("/")) stack.length = 1;
        queue.unshift(...target.split("/"));
        continue;
      }
      if (create) throw new LayerViewUnsupported("a path goes through a non-directory");
      return undefined;
    }
    return stack[stack.length - 1]!;
  }

  /** The node at `rel`: intermediate symlinks followed inside the root; the last one too when `follow`. */
  private find(rel: string, follow: boolean): Node | undefined {
    let parts = rel.split("/").filter((p) => p !== "" && p !== ".");
    for (let hops = 0; hops <= MAX_SYMLINK_HOPS; hops++) {
      if (parts.length === 0) return this.root;
      const last = parts[parts.length - 1]!;
      let dir: Node | undefined;
      try {
        dir = this.resolveDir(parts.slice(0, -1), false, 0, 0);
      } catch {
        return undefined;
      }
      if (!dir) return undefined;
      if (last === "..") {
        // resolveDir keeps `..` inside the root; resolve it as a directory.
        try {
          return this.resolveDir(parts, false, 0, 0);
        } catch {
          return undefined;
        }
      }
      const n = dir.children!.get(last);
      if (!n || !follow || n.inode.type !== "symlink") return n;
      const target = n.inode.linkname ?? "";
      // Re-resolve the target from the link's directory (or the root for an absolute one).
      parts = target.startsWith("/") ? target.split("/") : [...parts.slice(0, -1), ...target.split("/")];
      parts = parts.filter((p) => p !== "" && p !== ".");
    }
    return undefined;
  }

  async lstat(rel: string): Promise<RootStat | undefined> {
    const n = this.find(rel, false);
    if (!n) return undefined;
    const i = n.inode;
    return { type: i.type, mode: i.mode, uid: i.uid, gid: i.gid, mtime: i.mtime, size: i.type === "file" ? i.size : 0 };
  }

  async readlink(rel: string): Promise<string> {
    const n = this.find(rel, false);
    if (!n || n.inode.type !== "symlink") throw Object.assign(new Error(`EINVAL: not a symlink: ${rel}`), { code: "EINVAL" });
    return n.inode.linkname ?? "";
  }

  async readdir(rel: string): Promise<string[]> {
    const n = this.find(rel, true);
    return n?.children ? [...n.children.keys()] : [];
  }

  async readText(rel: string): Promise<string | undefined> {
    const n = this.find(rel, true);
    if (!n || n.inode.type !== "file" || n.inode.size > 16 << 20) return undefined;
    return readData(n.inode).toString("utf8");
  }

  async fileBytes(rel: string): Promise<FileBytes> {
    const n = this.find(rel, false);
    if (!n || n.inode.type !== "file") throw new LayerViewUnsupported(`${rel} is not a file`);
    this.contentBytes += n.inode.size;
    if (this.contentBytes > MAX_CONTENT_BYTES) throw new LayerViewUnsupported("too many bytes to hold in memory");
    return { content: readData(n.inode) };
  }
}

function readData(i: Inode): Buffer {
  const buf = Buffer.allocUnsafe(i.size);
  if (i.size === 0) return buf;
  const fd = openSync(i.data!.file, "r");
  try {
    let got = 0;
    while (got < i.size) {
      const n = readSync(fd, buf, got, i.size - got, i.data!.offset + got);
      if (n === 0) throw new LayerViewUnsupported("layer blob ends early");
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  return buf;
}

/** Split an archive name as safe extraction does; `..` is not ours to judge here. */
function splitName(name: string): string[] {
  const parts = name.split("/").filter((s) => s !== "" && s !== ".");
  if (parts.includes("..") || name.includes("\0")) throw new LayerViewUnsupported("unusual entry name");
  return parts;
}

/** Every entry header of a plain tar, read with positional reads (file data is skipped). */
function* readHeaders(file: string): Generator<Header> {
  const fd = openSync(file, "r");
  try {
    const block = Buffer.alloc(512);
    let pos = 0;
    let longName: string | undefined;
    let longLink: string | undefined;
    let pax: Record<string, string> = {};
    const global: Record<string, string> = {};
    for (;;) {
      if (readSync(fd, block, 0, 512, pos) !== 512) throw new LayerViewUnsupported("truncated tar");
      if (pos === 0 && block[0] === 0x1f && block[1] === 0x8b) throw new LayerViewUnsupported("compressed layer");
      if (block.every((b) => b === 0)) return;
      if (block.toString("latin1", 257, 262) !== "ustar") throw new LayerViewUnsupported("not a ustar header");
      const flag = String.fromCharCode(block[156]!);
      let size = num(block, 124, 12);
      const dataAt = pos + 512;
      const next = dataAt + Math.ceil(size / 512) * 512;
      if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
        const data = Buffer.allocUnsafe(size);
        if (size > 1 << 20 || readSync(fd, data, 0, size, dataAt) !== size) throw new LayerViewUnsupported("bad extended header");
        if (flag === "x") pax = { ...pax, ...parsePax(data) };
        else if (flag === "g") Object.assign(global, parsePax(data));
        else if (flag === "L") longName = cstr(data, 0, size, "utf8");
        else longLink = cstr(data, 0, size, "utf8");
        pos = next;
        continue;
      }
      const ext = { ...global, ...pax };
      for (const k of Object.keys(ext)) if (k.startsWith("GNU.sparse")) throw new LayerViewUnsupported("sparse file");
      let name = longName ?? cstr(block, 0, 100, "utf8");
      const prefix = cstr(block, 345, 155, "utf8");
      if (longName === undefined && prefix !== "") name = `${prefix}/${name}`;
      if (ext.path !== undefined) name = ext.path;
      const linkname = ext.linkpath ?? longLink ?? cstr(block, 157, 100, "utf8");
      if (ext.size !== undefined) size = Number(ext.size);
      const type = typeOf(flag, name);
      const h: Header = {
        name,
        type,
        mode: num(block, 100, 8),
        uid: ext.uid !== undefined ? Number(ext.uid) : num(block, 108, 8),
        gid: ext.gid !== undefined ? Number(ext.gid) : num(block, 116, 8),
        mtime: Math.floor(ext.mtime !== undefined ? Number(ext.mtime) : num(block, 136, 12)),
        size: type === "file" ? size : 0,
        linkname,
        offset: dataAt,
      };
      yield h;
      pos = dataAt + (flag === "1" || flag === "2" || flag === "5" || flag === "3" || flag === "4" || flag === "6" ? 0 : Math.ceil(size / 512) * 512);
      longName = longLink = undefined;
      pax = {};
    }
  } finally {
    closeSync(fd);
  }
}

function typeOf(flag: string, name: string): TarEntryType {
  switch (flag) {
    case "0":
    case "\0":
    case "7":
      // Old tars mark directories with a trailing slash only.
      return name.endsWith("/") ? "dir" : "file";
    case "1": return "hardlink";
    case "2": return "symlink";
    case "3": return "char";
    case "4": return "block";
    case "5": return "dir";
    case "6": return "fifo";
    default:
      throw new LayerViewUnsupported(`tar type ${JSON.stringify(flag)}`);
  }
}

/** A NUL-terminated field. */
function cstr(b: Buffer, off: number, len: number, enc: BufferEncoding): string {
  const end = b.indexOf(0, off);
  return b.toString(enc, off, end < 0 || end > off + len ? off + len : end);
}

/** An octal number field, or GNU base-256 (high bit of the first byte set). */
function num(b: Buffer, off: number, len: number): number {
  if (b[off]! & 0x80) {
    let v = b[off]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
    return v;
  }
  const s = cstr(b, off, len, "latin1").trim();
  return s === "" ? 0 : parseInt(s, 8);
}

/** PAX records: `<len> <key>=<value>\n`. */
function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(data.toString("latin1", i, sp));
    if (!Number.isInteger(len) || len <= 0) throw new LayerViewUnsupported("bad pax record");
    const rec = data.toString("utf8", sp + 1, i + len - 1);
    const eq = rec.indexOf("=");
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}
