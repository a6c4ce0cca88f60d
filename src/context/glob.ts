// Go's path and glob rules, ported for the context layer (pure): path.Clean, filepath.Dir,
// the syntax check of filepath.Match, and moby/patternmatcher's glob → regexp compiler.
// Both .dockerignore (ignore.ts) and COPY source globs (select.ts) are built on these.
// See grammar/dockerignore.md for why we port these instead of using gitignore semantics.

import { cleanPath } from "../util/index.js";

// Go's `path.Clean` lives in util (shared with the planner and the linter).
export { cleanPath };

/** Go's `filepath.Dir` (Unix): everything before the last `/`, cleaned. */
export function dirOf(p: string): string {
  const i = p.lastIndexOf("/");
  return cleanPath(p.slice(0, i + 1));
}

/** A glob is malformed (Go's filepath.ErrBadPattern). */
export class BadPatternError extends Error {
  constructor(readonly pattern: string, detail: string) {
    super(`syntax error in pattern ${JSON.stringify(pattern)}: ${detail}`);
  }
}

/**
 * Throw BadPatternError when Go's `filepath.Match` would report ErrBadPattern for `pattern`.
 * Go (≥1.16) parses every chunk of the pattern even after a mismatch, so this is a pure
 * syntax walk: `\` needs a following character; a class `[...]` needs at least one range,
 * ranges may not start with `-` or `]`, `a-` needs an end, and the class must be closed.
 */
export function validateGlob(pattern: string): void {
  const cp = Array.from(pattern);
  const bad = (d: string) => new BadPatternError(pattern, d);
  let i = 0;
  let inClass = false;
  // Outside classes every character but `\` and `[` is fine; `*` and `?` are operators.
  while (i < cp.length) {
    const c = cp[i]!;
    if (c === "\\") {
      if (i + 1 >= cp.length) throw bad("trailing backslash");
      i += 2;
      continue;
    }
    if (c !== "[") {
      i++;
      continue;
    }
    inClass = true;
    i++;
    if (cp[i] === "^") i++;
    let nrange = 0;
    for (;;) {
      if (cp[i] === "]" && nrange > 0) {
        i++;
        inClass = false;
        break;
      }
      i = classAtom(cp, i, bad);
      if (cp[i] === "-") i = classAtom(cp, i + 1, bad);
      nrange++;
    }
  }
  if (inClass) throw bad("unterminated character class");
}

/** Go's `getEsc`: one (possibly escaped) class character; something must follow it. */
function classAtom(cp: string[], i: number, bad: (d: string) => Error): number {
  const c = cp[i];
  if (c === undefined || c === "-" || c === "]") throw bad("bad character class");
  if (c === "\\") {
    i++;
    if (cp[i] === undefined) throw bad("bad escape in character class");
  }
  i++;
  if (i >= cp.length) throw bad("unterminated character class");
  return i;
}

export type MatchType = "exact" | "prefix" | "suffix" | "regexp";

/** A compiled glob: how it matches, and for `regexp` the Go regexp BuildKit builds. */
export interface CompiledGlob {
  readonly matchType: MatchType;
  /** The Go-syntax regexp string (patternmatcher's `compile`), for `regexp` only. */
  readonly goRegexp?: string;
}

const SHOULD_ESCAPE = new Set([".", "+", "(", ")", "|", "{", "}", "$"]);

/**
 * patternmatcher's `Pattern.compile` with `/` as separator: `*` becomes `[^/]*`, `?` becomes
 * `[^/]`, a double star (optionally followed by a slash) becomes an optional "any run of
 * directories" group, a trailing double star `.*`; regexp metacharacters that mean nothing to filepath.Match are escaped, a
 * backslash keeps its escape, `[` and `]` pass through. Plain strings are `exact`,
 * "X/" + double star is `prefix`, a leading double star is `suffix`.
 */
export function compileGlob(pattern: string): CompiledGlob {
  const cp = Array.from(pattern);
  let re = "^";
  let matchType: MatchType = "exact";
  for (let i = 0, n = 0; i < cp.length; n++) {
    const ch = cp[i++]!;
    if (ch === "*") {
      if (cp[i] === "*") {
        i++;
        if (cp[i] === "/") i++;
        if (i >= cp.length) {
          if (matchType === "exact") matchType = "prefix";
          else {
            re += ".*";
            matchType = "regexp";
          }
        } else {
          re += "(.*/)?";
          matchType = "regexp";
        }
        if (n === 0) matchType = "suffix";
      } else {
        re += "[^/]*";
        matchType = "regexp";
      }
    } else if (ch === "?") {
      re += "[^/]";
      matchType = "regexp";
    } else if (SHOULD_ESCAPE.has(ch)) {
      re += "\\" + ch;
    } else if (ch === "\\") {
      if (i < cp.length) {
        re += "\\" + cp[i++]!;
        matchType = "regexp";
      } else re += "\\";
    } else if (ch === "[" || ch === "]") {
      re += ch;
      matchType = "regexp";
    } else re += ch;
  }
  return matchType === "regexp" ? { matchType, goRegexp: re + "$" } : { matchType };
}

const POSIX_CLASSES: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\u{0}-\\u{7f}",
  blank: "\\t ",
  digit: "0-9",
  lower: "a-z",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};
const GO_ESCAPES: Record<string, string> = { d: "\\d", D: "\\D", s: "[\\t\\n\\f\\r ]", S: "[^\\t\\n\\f\\r ]", w: "\\w", W: "\\W", b: "\\b", B: "\\B", f: "\\f", n: "\\n", r: "\\r", t: "\\t", v: "\\v", a: "\\u{7}", A: "^", z: "$" };

/**
 * Translate the Go regexp subset that `compileGlob` emits into a JavaScript RegExp (with
 * the `u` flag, so `?` and classes work on code points as Go's do). Throws (like Go's
 * regexp.Compile) on an invalid regexp, e.g. the out-of-order range in `[Local-Only]`.
 */
export function goRegexpToJs(goRe: string): RegExp {
  const cp = Array.from(goRe);
  const hex = (c: string) => `\\u{${c.codePointAt(0)!.toString(16)}}`;
  let out = "";
  let inClass = false;
  for (let i = 0; i < cp.length; i++) {
    const c = cp[i]!;
    if (c === "\\") {
      const e = cp[++i];
      if (e === undefined) throw new SyntaxError("trailing backslash at end of expression");
      if (/[0-9A-Za-z]/.test(e)) {
        const m = GO_ESCAPES[e];
        if (m === undefined || (inClass && (e === "A" || e === "z" || e === "b" || e === "B"))) throw new SyntaxError(`invalid escape sequence: \\${e}`);
        out += m;
      } else out += hex(e);
      continue;
    }
    if (inClass) {
      if (c === "]") {
        inClass = false;
        out += c;
      } else if (c === "[" && cp[i + 1] === ":") {
        const rest = cp.slice(i + 2).join("");
        const close = rest.indexOf(":]");
        const name = close >= 0 ? rest.slice(0, close) : "";
        const cls = POSIX_CLASSES[name];
        if (cls === undefined) throw new SyntaxError(`invalid character class range: [:${name}:]`);
        out += cls;
        i += 2 + Array.from(name).length + 1;
      } else if (c === "[") out += "\\[";
      else out += c;
      continue;
    }
    if (c === "[") {
      inClass = true;
      out += "[";
      if (cp[i + 1] === "^") out += cp[++i]!;
      if (cp[i + 1] === "]") {
        out += "\\]";
        i++;
      }
    } else if (c === "]" || c === "{" || c === "}") out += hex(c);
    else out += c;
  }
  if (inClass) throw new SyntaxError("missing closing ]");
  return new RegExp(out, "u");
}
