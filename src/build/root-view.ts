// build/root-view.ts: read-only questions a COPY, ADD or WORKDIR asks of a root file system
// (is this a directory, with which owner and mode; what does this symlink say; what is
// in /etc/passwd), answered either by an unpacked snapshot on disk (HostRootView) or
// straight from the layer tars' headers without unpacking anything (layer-view.ts).
import { lstat, readFile, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { TarEntryType } from "../exec/index.js";

/** What lstat tells of one path (times in whole seconds). */
export interface RootStat {
  readonly type: TarEntryType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
  /** Bytes of a regular file, else 0. */
  readonly size: number;
}

/** Where a regular file's bytes come from when it goes into a layer. */
export type FileBytes = { readonly source: string } | { readonly content: Uint8Array };

/**
 * A root file system, read only. Paths are slash-separated and relative to the root ("" is
 * the root). Symlinks in intermediate components are followed; `lstat` and `readlink` do
 * not follow the last component, `readdir` and `readText` do.
 */
export interface RootView {
  lstat(rel: string): Promise<RootStat | undefined>;
  readlink(rel: string): Promise<string>;
  /** Names in a directory (unsorted); [] when it is missing or not a directory. */
  readdir(rel: string): Promise<string[]>;
  /** A small text file (`etc/passwd`), or undefined when missing or unreadable. */
  readText(rel: string): Promise<string | undefined>;
  /** The bytes of the regular file at `rel` (just found by lstat). */
  fileBytes(rel: string, st: RootStat): Promise<FileBytes>;
}

/** A root file system unpacked on disk (a snapshot, or a folder ADD unpacked into). */
export class HostRootView implements RootView {
  constructor(readonly root: string) {}

  async lstat(rel: string): Promise<RootStat | undefined> {
    const st = await lstat(join(this.root, rel)).catch(() => undefined);
    if (!st) return undefined;
    const type: TarEntryType | undefined = st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : st.isFIFO() ? "fifo" : st.isCharacterDevice() ? "char" : st.isBlockDevice() ? "block" : undefined;
    if (type === undefined) return undefined; // sockets cannot be archived
    return { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000), size: type === "file" ? st.size : 0 };
  }

  readlink(rel: string): Promise<string> {
    return readlink(join(this.root, rel));
  }

  readdir(rel: string): Promise<string[]> {
    return readdir(join(this.root, rel)).catch(() => [] as string[]);
  }

  readText(rel: string): Promise<string | undefined> {
    return readFile(join(this.root, rel), "utf8").catch(() => undefined);
  }

  async fileBytes(rel: string): Promise<FileBytes> {
    return { source: join(this.root, rel) };
  }
}
