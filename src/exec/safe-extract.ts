// Extracts a (plain or gzip) tar into a directory without ever writing outside it: the
// defences node-tar and containerd learned from their advisories, in one place. Used to
// unpack layers into snapshots (whiteouts applied) and by ADD for local archives.
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { lchown, link, lstat, lutimes, mkdir, open, readdir, readlink, realpath, rm, symlink, unlink, chmod, chown, utimes } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { createGunzip } from "node:zlib";
import { extract, type Header } from "tar-stream";
import { MAX_PATH_BYTES, MAX_SYMLINK_HOPS, TbuildError, exceedsPathMax, isTbuildError } from "../util/index.js";
import { WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from "./changes.js";

export interface ExtractOptions {
  /**
   * `apply` (default): the archive is an OCI layer applied onto the tree in `dest`;
   * `.wh.<name>` removes `<name>` from the lower tree and `.wh..wh..opq` empties its
   * directory of lower entries (entries of this same archive are never removed, as the
   * image spec requires). `keep`: whiteout files are ordinary files (ADD of a local tar).
   */
  readonly whiteouts?: "apply" | "keep";
  /** Create character and block devices (default false: such entries are refused). */
  readonly allowDevices?: boolean;
  /** Apply the archive's uid/gid (default: when running as root). */
  readonly preserveOwners?: boolean;
  /** Largest single file accepted (default 64 GiB). */
  readonly maxFileSize?: number;
  /** Largest total of file bytes accepted (default 1 TiB). */
  readonly maxTotalSize?: number;
  /** Most entries accepted (default 4 million). */
  readonly maxEntries?: number;
  readonly signal?: AbortSignal;
}

export interface ExtractResult {
  readonly entries: number;
  /** File bytes written. */
  readonly bytes: number;
}

const execFileP = promisify(execFile);

/** An entry's content stream as tar-stream yields it. */
type EntryBody = AsyncIterable<unknown> & { resume(): unknown };

/**
 * Extract the tar read from `input` (gzip is detected by its magic bytes) into the existing
 * directory `dest`. Defences, each refusing the archive with an error naming the entry:
 * - a `..` component anywhere in a name or hardlink target: E_TAR_PATH_ESCAPE. A leading
 *   `/` is neutralised (stripped), as GNU tar and containerd do.
 * - writing through a symlink this archive created (node-tar's "cannot extract through
 *   symbolic link"): E_TAR_PATH_ESCAPE. Symlinks already in `dest` (a lower layer's
 *   `/lib -> usr/lib`) are followed, but resolved inside `dest`, like containerd's
 *   RootPath: `..` stops at `dest` and absolute targets start at `dest`.
 * - an existing entry at a file's path is unlinked first, so a write never goes through an
 *   existing symlink or hardlink (this also keeps hardlink-shared snapshots intact).
 * - hardlinks whose target is missing, a directory, or itself: E_TAR_INVALID.
 * - devices unless `allowDevices`, unknown entry types, sizes above the limits, names
 *   longer than 4096 bytes or containing NUL, and malformed or truncated archives:
 *   E_TAR_INVALID.
 * Modes (with setuid/setgid/sticky), owners, symlinks, hardlinks and mtimes are kept.
 * On error `dest` holds a partial extraction the caller MUST discard.
 */
export async function extractTar(input: Readable, dest: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const x = new Extractor(await realpath(dest), opts);
  const ex = extract();
  const source = await decompressed(input).catch((e: unknown) => {
    throw new TbuildError("E_IO", `cannot read the archive: ${(e as Error).message}`, { cause: e });
  });
  const feeding = pipeline(source, ex).catch((e: unknown) => {
    ex.destroy(e as Error);
  });
  try {
    for await (const entry of ex) {
      opts.signal?.throwIfAborted();
      await x.entry(entry.header, entry);
    }
  } catch (e) {
    input.destroy();
    if (isTbuildError(e)) throw e;
    if ((e as Error).name === "AbortError") throw e;
    throw new TbuildError("E_TAR_INVALID", `malformed tar archive: ${(e as Error).message}`, { cause: e });
  } finally {
    await feeding;
  }
  await x.finish();
  return { entries: x.entries, bytes: x.bytes };
}

/** Peek at the first bytes and gunzip when they are gzip's magic (1f 8b). */
async function decompressed(input: Readable): Promise<Readable> {
  const it = input[Symbol.asyncIterator]();
  const first = await it.next();
  const head: Buffer = first.done ? Buffer.alloc(0) : Buffer.from(first.value as Buffer);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value as Buffer;
  }
  const raw = Readable.from(all(), { objectMode: false });
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const out = new PassThrough();
    pipeline(raw, createGunzip(), out).catch((e: unknown) => out.destroy(new Error(`gzip: ${(e as Error).message}`)));
    return out;
  }
  return raw;
}

class Extractor {
  entries = 0;
  bytes = 0;
  /** Absolute paths this archive created (whiteouts never remove them). */
  private readonly written = new Set<string>();
  /** Absolute paths of symlinks this archive created (never written through). */
  private readonly ownSymlinks = new Set<string>();
  /** Directory times to set once their children are in place. */
  private readonly dirTimes: [string, number][] = [];
  private readonly owners: boolean;
  private readonly maxFile: number;
  private readonly maxTotal: number;
  private readonly maxEntries: number;

  constructor(private readonly root: string, private readonly opts: ExtractOptions) {
    this.owners = opts.preserveOwners ?? process.getuid?.() === 0;
    this.maxFile = opts.maxFileSize ?? 64 * 2 ** 30;
    this.maxTotal = opts.maxTotalSize ?? 2 ** 40;
    this.maxEntries = opts.maxEntries ?? 4_000_000;
  }

  async entry(h: Header, body: EntryBody): Promise<void> {
    const name = h.name;
    try {
      if (++this.entries > this.maxEntries) throw invalid(name, `more than ${this.maxEntries} entries`);
      await this.apply(h, body);
    } catch (e) {
      body.resume();
      if (isTbuildError(e)) throw e;
      // File-system failures carry a syscall; anything else is the archive stream breaking.
      const code = (e as NodeJS.ErrnoException).syscall !== undefined ? "E_IO" : "E_TAR_INVALID";
      throw new TbuildError(code, `tar entry ${JSON.stringify(name)}: ${(e as Error).message}`, { cause: e });
    }
    await drain(body);
  }

  async finish(): Promise<void> {
    for (const [dir, mtime] of this.dirTimes.reverse()) await utimes(dir, mtime, mtime);
  }

  private async apply(h: Header, body: EntryBody): Promise<void> {
    const name = h.name;
    const parts = splitName(name, name);
    if (parts.length === 0) return; // "./": the root itself keeps its own metadata
    const base = parts[parts.length - 1]!;
    const pax = (h as { pax?: Record<string, string> }).pax ?? {};
    const uid = pax.uid !== undefined ? Number(pax.uid) : (h.uid ?? 0);
    const gid = pax.gid !== undefined ? Number(pax.gid) : (h.gid ?? 0);
    const mtime = pax.mtime !== undefined ? Number(pax.mtime) : (h.mtime?.getTime() ?? 0) / 1000;
    const mode = (h.mode ?? 0o644) & 0o7777;

    if ((this.opts.whiteouts ?? "apply") === "apply" && base.startsWith(WHITEOUT_PREFIX)) {
      const dir = await this.resolveDir(parts.slice(0, -1), name, false);
      if (dir === undefined) return;
      if (base === WHITEOUT_OPAQUE) {
        for (const child of await readdir(dir)) if (!this.written.has(join(dir, child))) await rm(join(dir, child), { recursive: true, force: true });
        return;
      }
      const victim = base.slice(WHITEOUT_PREFIX.length);
      if (victim === "" || victim === "." || victim === "..") throw invalid(name, "whiteout names no entry");
      const abs = join(dir, victim);
      if (!this.written.has(abs)) await rm(abs, { recursive: true, force: true });
      return;
    }

    const dir = await this.resolveDir(parts.slice(0, -1), name, true);
    const abs = join(dir!, base);
    const type = h.type ?? "file";
    switch (type) {
      case "directory": {
        const st = await lstat(abs).catch(() => undefined);
        if (st && !st.isDirectory()) await this.remove(abs);
        if (!st || !st.isDirectory()) await mkdir(abs, { mode: 0o700 });
        if (this.owners) await chown(abs, uid, gid);
        await chmod(abs, mode);
        this.dirTimes.push([abs, mtime]);
        break;
      }
      case "file":
      case "contiguous-file": {
        const size = h.size ?? 0;
        if (size > this.maxFile) throw invalid(name, `size ${size} exceeds the ${this.maxFile}-byte limit`);
        if (this.bytes + size > this.maxTotal) throw invalid(name, `archive exceeds the ${this.maxTotal}-byte limit`);
        await this.remove(abs);
        const fh = await open(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          let got = 0;
          for await (const chunk of body) {
            got += (chunk as Buffer).length;
            await fh.write(chunk as Buffer);
          }
          if (got !== size) throw invalid(name, `truncated: ${got} of ${size} bytes`);
          this.bytes += size;
          if (this.owners) await fh.chown(uid, gid);
          await fh.chmod(mode); // after chown, which clears setuid/setgid
          await fh.utimes(mtime, mtime);
        } finally {
          await fh.close();
        }
        break;
      }
      case "symlink": {
        const target = h.linkname ?? "";
        if (target === "" || target.includes("\0")) throw invalid(name, "symlink without a valid target");
        await this.remove(abs);
        await symlink(target, abs);
        this.ownSymlinks.add(abs);
        if (this.owners) await lchown(abs, uid, gid);
        await lutimes(abs, mtime, mtime);
        break;
      }
      case "link": {
        const tparts = splitName(h.linkname ?? "", name);
        if (tparts.length === 0) throw invalid(name, "hardlink without a target");
        const tdir = await this.resolveDir(tparts.slice(0, -1), name, false);
        const target = tdir === undefined ? undefined : join(tdir, tparts[tparts.length - 1]!);
        const st = target === undefined ? undefined : await lstat(target).catch(() => undefined);
        if (target === undefined || !st) throw invalid(name, `hardlink target ${JSON.stringify(h.linkname)} does not exist`);
        if (st.isDirectory()) throw invalid(name, `hardlink target ${JSON.stringify(h.linkname)} is a directory`);
        if (target === abs) throw invalid(name, "hardlink to itself");
        await this.remove(abs);
        await link(target, abs);
        break;
      }
      case "character-device":
      case "block-device":
      case "fifo": {
        if (type !== "fifo" && !this.opts.allowDevices) throw invalid(name, "device nodes are not allowed here");
        await this.remove(abs);
        const args = type === "fifo" ? [abs, "p"] : [abs, type === "character-device" ? "c" : "b", String(h.devmajor ?? 0), String(h.devminor ?? 0)];
        await execFileP("mknod", ["-m", "600", "--", ...args]);
        if (this.owners) await chown(abs, uid, gid);
        await chmod(abs, mode);
        await utimes(abs, mtime, mtime);
        break;
      }
      default:
        throw invalid(name, `unsupported entry type ${String(type)}`);
    }
    this.written.add(abs);
  }

  /** Remove whatever is at `abs` (never following it). */
  private async remove(abs: string): Promise<void> {
    const st = await lstat(abs).catch(() => undefined);
    if (!st) return;
    if (st.isDirectory()) await rm(abs, { recursive: true, force: true });
    else await unlink(abs);
    this.ownSymlinks.delete(abs);
  }

  /**
   * The real directory for `parts` under the root, following symlinks that were there
   * before this archive but resolving them inside the root; creates missing directories
   * (0755, root-owned, as Docker's MkdirAll) when `create`, else returns undefined.
   */
  private async resolveDir(parts: string[], entry: string, create: boolean): Promise<string | undefined> {
    let cur = this.root;
    const queue = [...parts];
    let hops = 0;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === "" || c === ".") continue;
      if (c === "..") {
        cur = cur === this.root ? this.root : dirname(cur);
        continue;
      }
      const next = join(cur, c);
      const st = await lstat(next).catch(() => undefined);
      if (!st) {
        if (!create) return undefined;
        await mkdir(next, { mode: 0o755 });
        this.written.add(next);
        cur = next;
        continue;
      }
      if (st.isDirectory()) {
        cur = next;
        continue;
      }
      if (st.isSymbolicLink()) {
        if (this.ownSymlinks.has(next)) {
          throw new TbuildError("E_TAR_PATH_ESCAPE", `tar entry ${JSON.stringify(entry)} would be written through the symlink ${JSON.stringify(relative(this.root, next))} that the archive created`);
        }
        if (++hops > MAX_SYMLINK_HOPS) throw invalid(entry, "too many levels of symbolic links");
        const target = await readlink(next);
        if (target.startsWith("/")) cur = this.root;
        queue.unshift(...target.split("/"));
        continue;
      }
      throw invalid(entry, `${JSON.stringify(relative(this.root, next))} is not a directory`);
    }
    return cur;
  }
}

/** Split an archive name into components: leading `/` stripped, `.` dropped, `..` refused. */
function splitName(name: string, entry: string): string[] {
  if (name.includes("\0")) throw invalid(entry, "name contains NUL");
  if (exceedsPathMax(name)) throw invalid(entry, `name longer than ${MAX_PATH_BYTES} bytes`);
  const parts = name.split("/").filter((s) => s !== "" && s !== ".");
  if (parts.includes("..")) throw new TbuildError("E_TAR_PATH_ESCAPE", `tar entry ${JSON.stringify(entry)} has a ".." path component`, { hint: "the archive tries to write outside its target directory" });
  return parts;
}

function invalid(entry: string, why: string): TbuildError {
  return new TbuildError("E_TAR_INVALID", `tar entry ${JSON.stringify(entry)}: ${why}`);
}

async function drain(body: EntryBody): Promise<void> {
  for await (const _ of body) {
    // discard content of entries that carry none we use
  }
}
