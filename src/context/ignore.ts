// .dockerignore with Docker's semantics (pure): moby/patternmatcher and its ignorefile
// reader, ported. Patterns are anchored at the context root, applied in order (last match
// wins), and a pattern matches a path or any of its parent directories. This is NOT
// gitignore: `foo` excludes only `/foo`. See grammar/dockerignore.md.
import { TbuildError } from "../util/index.js";
import { BadPatternError, cleanPath, compileGlob, dirOf, goRegexpToJs, validateGlob, type MatchType } from "./glob.js";

/**
 * Read a .dockerignore text the way `ignorefile.ReadAll` does: drop a UTF-8 BOM, lines
 * starting with `#` and blank lines; trim; keep a leading `!` (trimming after it); clean
 * the rest (`a//b/../c` → `a/c`) and drop one leading `/`. A lone `!` is kept: the matcher
 * rejects it.
 */
export function readIgnoreFile(text: string | null | undefined): string[] {
  if (text === null || text === undefined) return [];
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (const raw of lines) {
    if (raw.startsWith("#")) continue;
    let line = raw.trim();
    if (line === "") continue;
    let invert = false;
    if (line.startsWith("!")) {
      invert = true;
      line = line.slice(1).trim();
    }
    if (line.length > 0) {
      line = cleanPath(line);
      if (line.length > 1 && line.startsWith("/")) line = line.slice(1);
    }
    out.push(invert ? "!" + line : line);
  }
  return out;
}

/** One compiled pattern. `exclusion` is an exception (`!pattern`) that re-includes. */
export class IgnorePattern {
  readonly exclusion: boolean;
  /** The pattern after trimming, cleaning and removing `!`. */
  readonly cleaned: string;
  private compiled?: { matchType: MatchType; re?: RegExp; error?: boolean };

  constructor(cleaned: string, exclusion: boolean) {
    this.cleaned = cleaned;
    this.exclusion = exclusion;
  }

  /** Whether the pattern contains glob operators (`*`, `?`, `[`, `\`). */
  get hasWildcards(): boolean {
    return /[*?[\\]/.test(this.cleaned);
  }

  /**
   * Match one slash-separated path (no parent logic). Throws BadPatternError when the
   * pattern's regexp does not compile (patternmatcher reports it on every match).
   */
  match(path: string): boolean {
    const c = (this.compiled ??= this.compile());
    if (c.error) throw new BadPatternError(this.cleaned, "invalid regular expression");
    const p = this.cleaned;
    switch (c.matchType) {
      case "exact":
        return path === p;
      case "prefix":
        return path.startsWith(p.slice(0, -2));
      case "suffix": {
        const suffix = p.slice(2);
        if (path.endsWith(suffix)) return true;
        return suffix.startsWith("/") && path === suffix.slice(1);
      }
      case "regexp":
        return c.re!.test(path);
    }
  }

  private compile(): { matchType: MatchType; re?: RegExp; error?: boolean } {
    const g = compileGlob(this.cleaned);
    if (g.matchType !== "regexp") return { matchType: g.matchType };
    try {
      return { matchType: "regexp", re: goRegexpToJs(g.goRegexp!) };
    } catch {
      return { matchType: "regexp", error: true };
    }
  }
}

/** Per-pattern "did this pattern match the parent (or an ancestor)" results, for the walker. */
export type MatchInfo = readonly boolean[] | undefined;

/** An ordered list of patterns: patternmatcher.PatternMatcher. */
export class PatternMatcher {
  readonly patterns: readonly IgnorePattern[];
  /** At least one `!` exception pattern. */
  readonly hasExclusions: boolean;

  private constructor(patterns: IgnorePattern[]) {
    this.patterns = patterns;
    this.hasExclusions = patterns.some((p) => p.exclusion);
  }

  /**
   * patternmatcher.New: trim, clean (a trailing `/` goes), skip empty patterns, split off
   * `!`. Throws TbuildError(E_CONTEXT_IGNORE) for a lone `!` or a malformed glob.
   */
  static compile(patterns: readonly string[], source = ".dockerignore"): PatternMatcher {
    const out: IgnorePattern[] = [];
    for (const raw of patterns) {
      let p = raw.trim();
      if (p === "") continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p.startsWith("!")) {
        if (p.length === 1) throw new TbuildError("E_CONTEXT_IGNORE", `${source}: illegal exclusion pattern: "!"`, { hint: "a line with only ! re-includes nothing; remove it or add a pattern after it" });
        exclusion = true;
        p = p.slice(1);
      }
      try {
        validateGlob(p);
      } catch (e) {
        throw new TbuildError("E_CONTEXT_IGNORE", `${source}: ${(e as Error).message}`, { cause: e, hint: "escape [ ] * ? with a backslash to match them literally" });
      }
      out.push(new IgnorePattern(p, exclusion));
    }
    return new PatternMatcher(out);
  }

  /**
   * Whether `path` (slash-separated, relative to the context root) is matched: patterns
   * in order, last match wins, each pattern tried on the path and its parent directories.
   * Throws TbuildError(E_CONTEXT_IGNORE) when a pattern cannot be evaluated.
   */
  matchesOrParentMatches(path: string): boolean {
    const parent = dirOf(path);
    const parentDirs = parent.split("/");
    let matched = false;
    for (const pattern of this.patterns) {
      if (pattern.exclusion !== matched) continue;
      let m = guard(() => pattern.match(path));
      if (!m && parent !== ".") {
        for (let i = 0; i < parentDirs.length && !m; i++) m = guard(() => pattern.match(parentDirs.slice(0, i + 1).join("/")));
      }
      if (m) matched = !pattern.exclusion;
    }
    return matched;
  }

  /** The older `Matches` helper: clean the path first; `.` never matches. */
  matches(path: string): boolean {
    const p = cleanPath(path);
    if (p === ".") return false;
    return this.matchesOrParentMatches(p);
  }

  /**
   * The walker's incremental form (MatchesUsingParentResults): given the parent
   * directory's MatchInfo, match `path` without re-testing its ancestors. Pass
   * `undefined` for a top-level path.
   */
  matchesUsingParentResults(path: string, parent: MatchInfo): { matched: boolean; info: boolean[] } {
    const info: boolean[] = new Array<boolean>(this.patterns.length).fill(false);
    let matched = false;
    for (let i = 0; i < this.patterns.length; i++) {
      const pattern = this.patterns[i]!;
      let m = parent ? parent[i]! : false;
      if (!m) {
        if (pattern.exclusion !== matched) continue;
        m = guard(() => pattern.match(path));
        if (!m && !parent) {
          const dir = dirOf(path);
          if (dir !== ".") {
            const dirs = dir.split("/");
            for (let j = 0; j < dirs.length && !m; j++) m = guard(() => pattern.match(dirs.slice(0, j + 1).join("/")));
          }
        }
      }
      info[i] = m;
      if (m) matched = !pattern.exclusion;
    }
    return { matched, info };
  }

  /**
   * Whether some exception pattern could re-include a path below directory `dir` (which
   * is matched). Exact when all exceptions are wildcard-free (fsutil's prefix check);
   * otherwise conservatively true, so the walker descends.
   */
  mayReincludeBelow(dir: string): boolean {
    if (!this.hasExclusions) return false;
    const prefix = dir + "/";
    for (const p of this.patterns) {
      if (!p.exclusion) continue;
      if (p.hasWildcards || (p.cleaned + "/").startsWith(prefix)) return true;
    }
    return false;
  }
}

function guard(f: () => boolean): boolean {
  try {
    return f();
  } catch (e) {
    if (e instanceof BadPatternError) throw new TbuildError("E_CONTEXT_IGNORE", e.message, { cause: e });
    throw e;
  }
}
