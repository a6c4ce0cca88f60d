// Resolving a path inside a root file system the way a chroot would (runc's securejoin):
// every symlink, absolute or relative, is followed relative to the root, and neither a link
// nor `..` can ever leave it. Pure: the file system comes in as a small port, so the same
// walk serves a snapshot on disk, a view over layer tars and a bind mount's host folder.

/** What the walk asks of a root. Paths are slash-separated and relative to it ("" is the root); no component but the last is a symlink. */
export interface RootLinks {
  /** The entry's type without following a final symlink ("symlink", "dir", anything else); undefined when missing. */
  lstat(rel: string): Promise<{ readonly type: string } | undefined>;
  readlink(rel: string): Promise<string>;
}

export interface ResolveOptions {
  /**
   * "fail": every component must exist. "keep": a missing component and everything after it
   * is kept as written (`..` still applied), for a destination a step will create.
   */
  readonly missing: "fail" | "keep";
  /**
   * "follow": a final symlink is followed like any other. "if-dir": it is followed only when
   * it leads to a directory; otherwise the link itself is the result (COPY replaces a link
   * to a file, but copies into a link to a directory).
   */
  readonly last: "follow" | "if-dir";
}

export type RootPath = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: "missing" | "loop" };

/** Links followed in one resolution before it fails as a loop (Linux's MAXSYMLINKS). */
export const MAX_SYMLINK_HOPS = 40;

const segments = (p: string): string[] => p.split("/").filter((s) => s !== "" && s !== ".");

/** `rel` resolved inside the root `fs` as `opts` say; the result is relative to the root ("" is the root itself). */
export function resolveInRoot(fs: RootLinks, rel: string, opts: ResolveOptions): Promise<RootPath> {
  return walk(fs, segments(rel), opts, { n: 0 });
}

async function walk(fs: RootLinks, queue: string[], opts: ResolveOptions, hops: { n: number }): Promise<RootPath> {
  const done: string[] = [];
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === "..") {
      done.pop();
      continue;
    }
    const here = [...done, part].join("/");
    const st = await fs.lstat(here);
    if (st === undefined) {
      if (opts.missing === "fail") return { ok: false, reason: "missing" };
      // Nothing below a missing entry can be a link: the rest is created as written.
      for (const q of [part, ...queue]) if (q === "..") done.pop(); else done.push(q);
      break;
    }
    if (st.type !== "symlink") {
      done.push(part);
      continue;
    }
    if (++hops.n > MAX_SYMLINK_HOPS) return { ok: false, reason: "loop" };
    const target = await fs.readlink(here);
    const resolved = [...(target.startsWith("/") ? [] : done), ...segments(target)];
    if (queue.length === 0 && opts.last === "if-dir") {
      const into = await walk(fs, resolved, { ...opts, last: "follow" }, hops);
      if (into.ok && (into.path === "" || (await fs.lstat(into.path))?.type === "dir")) return into;
      done.push(part);
      break;
    }
    done.length = 0;
    queue.unshift(...resolved);
  }
  return { ok: true, path: done.join("/") };
}
