// Finds what a step changed, as a change list for layer.ts: (a) from an overlayfs upper
// directory (the kernel already recorded the diff) or (b) by comparing two trees (the
// copy-based fallback when overlay cannot be mounted).
import type { BigIntStats } from "node:fs";
import { lstat, open, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { comparePaths, type Change } from "./changes.js";

export interface OverlayDiffInput {
  /** The overlay upper directory. */
  readonly upper: string;
  /** The lower directories, topmost first (tbuild's snapshotter gives exactly one). */
  readonly lowers: readonly string[];
  /**
   * The mounted merged view (the overlay mount point, still mounted). Used to detect opaque
   * directories without reading xattrs, which Node cannot do: a directory in `upper` is
   * opaque exactly when some lower child that `upper` neither replaces nor whites out is
   * missing from the merged view.
   */
  readonly merged: string;
  /**
   * Relative paths the runtime may have created as mount points (`proc`, `etc/hosts`…)
   * that were not in the image: skipped when they are an empty directory or empty file.
   */
  readonly stubs?: ReadonlySet<string>;
}

/**
 * The changes recorded in an overlay upper directory. A 0/0 character device is an
 * overlay whiteout and becomes a `delete`; an opaque directory becomes `opaque`; every other
 * non-directory in `upper` is an `add` (`modify` when a lower has the path). A directory is
 * reported only when it is new, opaque, or its mode or owner differ from the lower one;
 * layer.ts adds the parents of changed children by itself.
 *
 * The overlay MUST have been mounted with `redirect_dir=off` and `metacopy=off` (tbuild's
 * mountOverlay does), else renamed directories and metadata-only copy-ups are not
 * self-contained in `upper`.
 */
export async function diffOverlay(input: OverlayDiffInput): Promise<Change[]> {
  const out: Change[] = [];
  const stubs = input.stubs ?? new Set<string>();

  async function walk(rel: string): Promise<void> {
    const dir = join(input.upper, rel);
    for (const name of (await readdir(dir)).sort()) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const st = await lstat(join(dir, name), { bigint: true });
      if (st.isCharacterDevice() && st.rdev === 0n) {
        out.push({ kind: "delete", path });
        continue;
      }
      if (stubs.has(path) && (await isStub(join(dir, name), path, stubs))) continue;
      const below = await lowerStat(input.lowers, path);
      if (!st.isDirectory()) {
        out.push({ kind: below ? "modify" : "add", path });
        continue;
      }
      if (!below || !below.isDirectory()) out.push({ kind: "add", path });
      else if (await isOpaque(input, path)) out.push({ kind: "opaque", path });
      else if (!sameOwnerAndMode(st, below)) out.push({ kind: "modify", path });
      await walk(path);
    }
  }
  await walk("");
  return out.sort((a, b) => comparePaths(a.path, b.path));
}

export interface TreeDiffOptions {
  /** Compare file bytes when size and mtime agree (default false: rsync's quick check). */
  readonly compareContent?: boolean;
  /** As in OverlayDiffInput: runtime-created mount points to ignore when empty. */
  readonly stubs?: ReadonlySet<string>;
}

/**
 * The changes that turn the tree `lower` into the tree `upper`: entries only in `upper`
 * are `add`ed (with all their descendants), entries only in `lower` are `delete`d (just
 * the top one), entries of another type are re-`add`ed, and entries whose type, mode, uid,
 * gid, size, mtime (to the nanosecond), symlink target or device number differ are
 * `modify`d. Directories are compared by mode and owner only (their mtime moves with every
 * child). Used by the copy fallback, where `upper` is a `cp -a` of `lower` that ran the step.
 */
export async function diffTrees(lower: string, upper: string, opts: TreeDiffOptions = {}): Promise<Change[]> {
  const out: Change[] = [];
  const stubs = opts.stubs ?? new Set<string>();

  async function addAll(rel: string): Promise<void> {
    for (const name of (await readdir(join(upper, rel))).sort()) {
      const path = `${rel}/${name}`;
      out.push({ kind: "add", path });
      if ((await lstat(join(upper, path))).isDirectory()) await addAll(path);
    }
  }

  async function walk(rel: string): Promise<void> {
    const lo = new Set(await readdir(join(lower, rel)));
    const up = new Set(await readdir(join(upper, rel)));
    for (const name of [...new Set([...lo, ...up])].sort()) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const a = lo.has(name) ? await lstat(join(lower, path), { bigint: true }) : undefined;
      const b = up.has(name) ? await lstat(join(upper, path), { bigint: true }) : undefined;
      if (!b) {
        out.push({ kind: "delete", path });
        continue;
      }
      if (!a) {
        if (stubs.has(path) && (await isStub(join(upper, path), path, stubs))) continue;
        out.push({ kind: "add", path });
        if (b.isDirectory()) await addAll(path);
        continue;
      }
      if ((a.mode & 0o170000n) !== (b.mode & 0o170000n)) {
        out.push({ kind: "add", path });
        if (b.isDirectory()) await addAll(path);
        continue;
      }
      if (b.isDirectory()) {
        if (!sameOwnerAndMode(a, b)) out.push({ kind: "modify", path });
        await walk(path);
        continue;
      }
      if (!(await sameEntry(join(lower, path), a, join(upper, path), b, opts.compareContent ?? false))) out.push({ kind: "modify", path });
    }
  }
  await walk("");
  return out.sort((a, b) => comparePaths(a.path, b.path));
}

/** lstat of `path` in the topmost lower that has it; undefined when absent or whited out. */
async function lowerStat(lowers: readonly string[], path: string): Promise<BigIntStats | undefined> {
  for (const l of lowers) {
    const st = await lstat(join(l, path), { bigint: true }).catch(() => undefined);
    if (!st) continue;
    if (st.isCharacterDevice() && st.rdev === 0n) return undefined;
    return st;
  }
  return undefined;
}

async function isOpaque(input: OverlayDiffInput, path: string): Promise<boolean> {
  const upperNames = new Set(await readdir(join(input.upper, path)));
  for (const l of input.lowers) {
    const names = await readdir(join(l, path)).catch(() => [] as string[]);
    for (const n of names) {
      if (upperNames.has(n)) continue;
      // Hidden by a whiteout in a higher lower: its absence proves nothing.
      if (!(await lowerStat(input.lowers, `${path}/${n}`))) continue;
      const visible = await lstat(join(input.merged, path, n)).then(
        () => true,
        () => false,
      );
      if (!visible) return true;
    }
  }
  return false;
}

function sameOwnerAndMode(a: BigIntStats, b: BigIntStats): boolean {
  return a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;
}

async function sameEntry(pa: string, a: BigIntStats, pb: string, b: BigIntStats, content: boolean): Promise<boolean> {
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.size !== b.size || a.rdev !== b.rdev) return false;
  if (a.isSymbolicLink()) return (await readlink(pa)) === (await readlink(pb));
  if (a.mtimeNs !== b.mtimeNs) return false;
  if (!content || !a.isFile()) return true;
  return sameBytes(pa, pb);
}

async function sameBytes(pa: string, pb: string): Promise<boolean> {
  const [fa, fb] = [await open(pa, "r"), await open(pb, "r")];
  try {
    const ba = Buffer.alloc(1 << 20);
    const bb = Buffer.alloc(1 << 20);
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, ba.length, null), fb.read(bb, 0, bb.length, null)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await fa.close();
    await fb.close();
  }
}

/** An empty file, or a directory holding only stubs: what a runtime leaves for a mount point. */
async function isStub(abs: string, path: string, stubs: ReadonlySet<string>): Promise<boolean> {
  const st = await lstat(abs);
  if (st.isFile()) return st.size === 0;
  if (!st.isDirectory()) return false;
  for (const c of await readdir(abs)) {
    if (!stubs.has(`${path}/${c}`) || !(await isStub(join(abs, c), `${path}/${c}`, stubs))) return false;
  }
  return true;
}
