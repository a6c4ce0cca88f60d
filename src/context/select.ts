// COPY/ADD source selection over the walked entry list (pure). Sources are resolved
// against the context root: globs (Go filepath.Match syntax plus `**`), directories (their
// contents are copied), symlinks copied as symlinks and only ever resolved inside the
// context. `..` that leaves the context is refused; a source that matches nothing fails.
import { MAX_SYMLINK_HOPS, TbuildError } from "../util/index.js";
import { BadPatternError, cleanPath, compileGlob, goRegexpToJs, validateGlob } from "./glob.js";
import { PatternMatcher } from "./ignore.js";
import type { ContextEntry, EntryType } from "./tree-hash.js";

export interface SelectOptions {
  /**
   * Resolve a symlink named by a source (its last component), inside the context, and
   * copy what it points to. Default true, like BuildKit's COPY. Symlinks found inside a
   * copied directory are always copied as symlinks.
   */
  readonly followSymlinks?: boolean;
  /** COPY --parents: keep each source's path below the context root in the destination. */
  readonly parents?: boolean;
  /** COPY --exclude patterns, matched against paths relative to each selected root. */
  readonly excludes?: readonly string[];
  /** A wildcard that matches nothing yields no roots instead of E_COPY_NO_SOURCE. */
  readonly allowEmptyWildcard?: boolean;
}

/** One thing a source put in the destination. */
export interface SelectedRoot {
  /** The source as written in the Dockerfile. */
  readonly source: string;
  /** Context path of what is copied ("" = the context root), after following a symlink. */
  readonly path: string;
  /** Name in the destination: a file's basename; "" for a directory (its contents are copied); the full path with --parents. */
  readonly destName: string;
  readonly type: EntryType;
  /** The root entry (absent for the context root) and every entry below it, in walk order. */
  readonly entries: readonly ContextEntry[];
}

export interface Selection {
  readonly roots: readonly SelectedRoot[];
}

/** Index an entry list (in walk order) for repeated selections. */
export class EntryIndex {
  readonly entries: readonly ContextEntry[];
  /** Path → position, built on first use (`COPY . …` never needs it). */
  private positions: Map<string, number> | undefined;

  constructor(entries: readonly ContextEntry[]) {
    this.entries = entries;
  }

  private get pos(): Map<string, number> {
    if (!this.positions) {
      const m = new Map<string, number>();
      this.entries.forEach((e, i) => m.set(e.path, i));
      this.positions = m;
    }
    return this.positions;
  }

  get(path: string): ContextEntry | undefined {
    const i = this.pos.get(path);
    return i === undefined ? undefined : this.entries[i];
  }

  /** The entry at `path` and everything below it ("" = all entries). */
  subtree(path: string): ContextEntry[] {
    if (path === "") return this.entries.slice();
    const i = this.pos.get(path);
    if (i === undefined) return [];
    const prefix = path + "/";
    let j = i + 1;
    while (j < this.entries.length && this.entries[j]!.path.startsWith(prefix)) j++;
    return this.entries.slice(i, j);
  }

  /**
   * Resolve `path` inside the context, following symlinks in intermediate components
   * (and the last one when `followLast`), scoped to the context: an absolute target or
   * `..` never climbs above the root (like BuildKit's fs.RootPath). Undefined if missing.
   */
  resolve(path: string, followLast: boolean): string | undefined {
    let todo = path === "" || path === "." ? [] : path.split("/");
    const cur: string[] = [];
    let hops = 0;
    while (todo.length > 0) {
      const part = todo.shift()!;
      if (part === "" || part === ".") continue;
      if (part === "..") {
        cur.pop();
        continue;
      }
      const cand = cur.length ? `${cur.join("/")}/${part}` : part;
      const e = this.get(cand);
      if (!e) return undefined;
      if (e.type === "symlink" && (todo.length > 0 || followLast)) {
        if (++hops > MAX_SYMLINK_HOPS) throw new TbuildError("E_CONTEXT_NOT_FOUND", `too many levels of symbolic links: ${path}`);
        const t = e.linkTarget ?? "";
        if (t.startsWith("/")) cur.length = 0;
        todo = [...t.split("/"), ...todo];
        continue;
      }
      if (todo.length > 0 && e.type !== "dir") return undefined;
      cur.push(part);
    }
    return cur.join("/");
  }
}

/**
 * Normalise a source as written into a context path: a leading `/` means the context
 * root, `./` and `a/../b` are cleaned. Throws E_CONTEXT_ESCAPE when it leaves the context.
 */
export function normalizeSource(source: string): string {
  const c = cleanPath(source.replace(/^\/+/, ""));
  if (c === ".." || c.startsWith("../")) {
    throw new TbuildError("E_CONTEXT_ESCAPE", `forbidden path outside the build context: ${source}`, { hint: "COPY and ADD can only read files inside the context directory; move the file into it or use a larger context" });
  }
  return c === "." ? "" : c;
}

/** Whether a source uses glob syntax (then it is matched, not looked up). */
export function hasWildcards(source: string): boolean {
  return /[*?[\\]/.test(source);
}

/**
 * Select what `sources` name in the entry list. Throws E_CONTEXT_ESCAPE for `..` out of
 * the context and E_COPY_NO_SOURCE for a source that matches nothing (entries excluded
 * by .dockerignore are not in the list, so they never match).
 */
export function selectSources(index: EntryIndex, sources: readonly string[], opts: SelectOptions = {}): Selection {
  const follow = opts.followSymlinks ?? true;
  const excl = opts.excludes?.length ? PatternMatcher.compile(opts.excludes, "--exclude") : undefined;
  const roots: SelectedRoot[] = [];
  for (const source of sources) {
    const norm = normalizeSource(source);
    const found: { written: string; path: string }[] = [];
    if (hasWildcards(norm)) {
      const re = globRegExp(norm, source);
      const matched = new Set<string>();
      for (const e of index.entries) {
        if (!re(e.path)) continue;
        matched.add(e.path);
        const parentMatched = ancestors(e.path).some((a) => matched.has(a));
        if (!parentMatched) found.push({ written: e.path, path: e.path });
      }
      if (found.length === 0 && !opts.allowEmptyWildcard) {
        throw new TbuildError("E_COPY_NO_SOURCE", `no source files were specified: ${source} matches nothing in the build context`, { hint: "check the pattern and .dockerignore" });
      }
    } else {
      const path = index.resolve(norm, follow);
      if (path === undefined) {
        throw new TbuildError("E_COPY_NO_SOURCE", `${source}: not found in the build context`, { hint: "check the path and whether .dockerignore excludes it" });
      }
      found.push({ written: norm, path });
    }
    for (const f of found) {
      const path = f.written === f.path || !follow ? f.path : (index.resolve(f.path, true) ?? f.path);
      const root = path === "" ? undefined : index.get(path);
      const type: EntryType = root ? root.type : "dir";
      let entries = index.subtree(path);
      if (excl) {
        const base = path === "" ? "" : path + "/";
        entries = entries.filter((e) => e.path === path || !excl.matchesOrParentMatches(e.path.slice(base.length)));
      }
      const destName = opts.parents ? f.written : type === "dir" ? "" : basename(f.written);
      roots.push({ source, path, destName, type, entries });
    }
  }
  return { roots };
}

function globRegExp(pattern: string, source: string): (p: string) => boolean {
  try {
    validateGlob(pattern);
    const g = compileGlob(pattern);
    if (g.matchType !== "regexp") {
      // `**` forms: reuse the dockerignore matcher's exact/prefix/suffix rules.
      const pm = PatternMatcher.compile([pattern], "COPY source");
      const p = pm.patterns[0]!;
      return (path) => p.match(path);
    }
    const re = goRegexpToJs(g.goRegexp!);
    return (path) => re.test(path);
  } catch (e) {
    if (e instanceof BadPatternError || e instanceof SyntaxError) {
      throw new TbuildError("E_COPY_NO_SOURCE", `invalid source pattern ${JSON.stringify(source)}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

function ancestors(p: string): string[] {
  const out: string[] = [];
  for (let i = p.indexOf("/"); i >= 0; i = p.indexOf("/", i + 1)) out.push(p.slice(0, i));
  return out;
}

function basename(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}
