// Writes one deterministic layer tar from a change list (diff.ts) and the directory that
// holds the changed files, streaming it through tar-sink.ts (diff ID and size taken on the way).
// The build engine stores the result as a plain tar blob (DESIGN.md "Layers and the store").
import type { BigIntStats } from "node:fs";
import { lstat, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { TbuildError, type Digest } from "../util/index.js";
import { comparePaths, splitPath, WHITEOUT_OPAQUE, WHITEOUT_PREFIX, type Change } from "./changes.js";
import { encodeHeader, paddingFor, type TarEntryType, type TarHeader } from "./tar-header.js";
import { writeTarStream } from "./tar-sink.js";

export interface WriteLayerOptions {
  /**
   * SOURCE_DATE_EPOCH in seconds. When given, every mtime later than it is clamped down to
   * it and whiteouts carry it (BuildKit's `rewrite-timestamp`, which clamps rather than
   * overwrites so older files keep their times). When absent, files keep their own mtime
   * truncated to whole seconds and whiteouts carry 0.
   */
  readonly sourceDateEpoch?: number;
  /**
   * Extended attributes of an entry, written as PAX `SCHILY.xattr.*` records. Node cannot
   * read xattrs itself, so the caller supplies a reader; by default none are written. A
   * reader used on an overlay upper dir MUST drop `trusted.overlay.*` (overlay bookkeeping).
   */
  readonly readXattrs?: (absPath: string) => Promise<ReadonlyMap<string, Buffer> | undefined>;
  /** End `out` when the archive is complete and wait for it to finish (default true). */
  readonly end?: boolean;
  readonly signal?: AbortSignal;
}

export interface LayerResult {
  /** SHA-256 of the uncompressed tar: the layer's diff ID (and its blob digest in the store). */
  readonly diffId: Digest;
  /** Bytes written. */
  readonly size: number;
  /** Tar entries written (whiteouts and parent directories included). */
  readonly entries: number;
}

/** One planned tar entry: a file-system object under `root`, or a whiteout. */
type Planned = { readonly path: string; readonly source: "fs" } | { readonly path: string; readonly source: "whiteout" };

/**
 * Write the layer for `changes`, reading files from `root`, to `out`.
 *
 * The archive is deterministic: entries sorted by path (parents first, a directory's opaque
 * marker first among its children), numeric uid/gid with empty uname/gname, permission bits
 * with setuid/setgid/sticky, whole-second mtimes (clamped to `sourceDateEpoch` when set), no
 * atime/ctime, PAX records only where ustar cannot hold a value. Every changed path's parent
 * directories are included, taken from `root` (containerd's ChangeWriter does the same), so
 * the layer extracts on its own with the right owners and modes. Files with several links
 * inside the layer are written once and then as hardlinks. Sockets are skipped.
 *
 * The layer is never held in memory. On failure `out` is destroyed with the error and the
 * caller MUST discard what was written. Errors: E_IO when a changed path is missing or
 * changes size while it is read.
 */
export async function writeLayer(changes: readonly Change[], root: string, out: Writable, opts: WriteLayerOptions = {}): Promise<LayerResult> {
  let entries = 0;
  const whiteoutTime = opts.sourceDateEpoch ?? 0;
  const clamp = (sec: number): number => Math.max(0, opts.sourceDateEpoch === undefined ? sec : Math.min(sec, opts.sourceDateEpoch));

  const written = await writeTarStream(
    out,
    async ({ put, putFile }) => {
      const plan = planEntries(changes);
      const links = new Map<string, string>(); // dev:ino → first path written
      for (const p of plan) {
        opts.signal?.throwIfAborted();
        if (p.source === "whiteout") {
          await put(encodeHeader({ path: p.path, type: "file", mode: 0o644, uid: 0, gid: 0, size: 0, mtime: whiteoutTime }));
          entries++;
          continue;
        }
        const abs = join(root, p.path);
        const st = await lstat(abs, { bigint: true }).catch((e: unknown) => {
          throw new TbuildError("E_IO", `layer: cannot read ${p.path}: ${(e as Error).message}`, { cause: e });
        });
        const type = entryType(st);
        if (type === undefined) continue; // sockets cannot be archived
        const xattrs = opts.readXattrs ? await opts.readXattrs(abs) : undefined;
        const base = {
          mode: Number(st.mode & 0o7777n),
          uid: Number(st.uid),
          gid: Number(st.gid),
          mtime: clamp(Number(st.mtimeNs / 1_000_000_000n)),
          ...(xattrs && xattrs.size > 0 ? { xattrs } : {}),
        };
        if (type !== "dir" && st.nlink > 1n) {
          const key = `${st.dev}:${st.ino}`;
          const first = links.get(key);
          if (first !== undefined) {
            await put(encodeHeader({ ...base, path: p.path, type: "hardlink", size: 0, linkname: first }));
            entries++;
            continue;
          }
          links.set(key, p.path);
        }
        const header: TarHeader = {
          ...base,
          path: type === "dir" ? `${p.path}/` : p.path,
          type,
          size: type === "file" ? Number(st.size) : 0,
          ...(type === "symlink" ? { linkname: await readlink(abs) } : {}),
          ...(type === "char" || type === "block" ? devNumbers(st.rdev) : {}),
        };
        await put(encodeHeader(header));
        entries++;
        if (type !== "file") continue;
        await putFile(abs, header.size, { shrunk: (done) => new TbuildError("E_IO", `layer: ${p.path} shrank while it was read (expected ${header.size} bytes, got ${done})`) });
        await put(paddingFor(header.size));
      }
    },
    { end: opts.end ?? true, waitForFinish: true, ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  return { ...written, entries };
}

/** Turn changes into sorted tar entries: whiteouts, opaque markers and implied parents. */
function planEntries(changes: readonly Change[]): Planned[] {
  const fs = new Set<string>();
  const whiteouts = new Set<string>();
  const addParents = (p: string): void => {
    for (let { parent } = splitPath(p); parent !== ""; parent = splitPath(parent).parent) fs.add(parent);
  };
  for (const c of changes) {
    const path = c.path.replace(/^\/+|\/+$/g, "");
    if (path === "" || path === ".") continue;
    addParents(path);
    switch (c.kind) {
      case "add":
      case "modify":
        fs.add(path);
        break;
      case "opaque":
        fs.add(path);
        whiteouts.add(`${path}/${WHITEOUT_OPAQUE}`);
        break;
      case "delete": {
        const { parent, name } = splitPath(path);
        whiteouts.add(parent === "" ? `${WHITEOUT_PREFIX}${name}` : `${parent}/${WHITEOUT_PREFIX}${name}`);
        break;
      }
    }
  }
  // A path both deleted and re-added (a type change in a tree diff) needs only the add:
  // extracting an entry replaces whatever was there.
  for (const p of fs) {
    const { parent, name } = splitPath(p);
    whiteouts.delete(parent === "" ? `${WHITEOUT_PREFIX}${name}` : `${parent}/${WHITEOUT_PREFIX}${name}`);
  }
  const out: Planned[] = [...[...fs].map((path) => ({ path, source: "fs" as const })), ...[...whiteouts].map((path) => ({ path, source: "whiteout" as const }))];
  return out.sort((a, b) => comparePaths(a.path, b.path));
}

function entryType(st: BigIntStats): TarEntryType | undefined {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "dir";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isCharacterDevice()) return "char";
  if (st.isBlockDevice()) return "block";
  if (st.isFIFO()) return "fifo";
  return undefined;
}

/** Linux's dev_t split (glibc major()/minor()). */
function devNumbers(rdev: bigint): { devmajor: number; devminor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { devmajor: Number(major), devminor: Number(minor) };
}
