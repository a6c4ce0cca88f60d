// Shell glob patterns for ${VAR#pat} ${VAR%pat} ${VAR/pat/repl}: `*`, `?`, `[...]` and the
// escape character. Patterns compile to a token list that is run as an NFA over code points,
// so every match is linear in the value (no backtracking blow-up on hostile patterns), and
// "shortest" and "longest" mean exactly that, as in POSIX sh.
//
// Differences from BuildKit, which turns the pattern into a Go regexp: BuildKit treats `[`
// as a literal (set `brackets: false` for that), rejects `\x` for x other than `*?\`
// (tbuild takes x literally, as sh does), and always escapes with `\` even when the
// Dockerfile's escape character is the backtick (tbuild uses the configured one).

/** One element of a compiled pattern. */
export type GlobToken =
  | { readonly kind: "star" }
  | { readonly kind: "any" }
  | { readonly kind: "char"; readonly ch: string }
  | { readonly kind: "class"; readonly negated: boolean; readonly items: readonly ClassItem[] };

/** A member of a bracket expression: a code point range or a POSIX class such as `alpha`. */
export type ClassItem = { readonly lo: number; readonly hi: number } | { readonly named: RegExp };

/** How to read a pattern. */
export interface GlobOptions {
  /** The escape character (the Dockerfile's, `\` by default). */
  readonly escape?: string;
  /** Treat `[...]` as a bracket expression (default true); false makes `[` literal, as BuildKit does. */
  readonly brackets?: boolean;
}

const NAMED_CLASSES: Readonly<Record<string, RegExp>> = {
  alpha: /^\p{L}$/u,
  digit: /^[0-9]$/u,
  alnum: /^[\p{L}\p{Nd}]$/u,
  upper: /^\p{Lu}$/u,
  lower: /^\p{Ll}$/u,
  space: /^\s$/u,
  blank: /^[ \t]$/u,
  punct: /^[!-/:-@[-`{-~]$/u,
  xdigit: /^[0-9A-Fa-f]$/u,
  cntrl: /^\p{Cc}$/u,
  print: /^[^\p{C}]$/u,
  graph: /^[^\p{C}\p{Z}]$/u,
  word: /^[\p{L}\p{Nd}_]$/u,
};

/** Compile a glob pattern into tokens. Never throws: anything unusual is taken literally. */
export function parseGlob(pattern: string, opts: GlobOptions = {}): GlobToken[] {
  const esc = opts.escape ?? "\\";
  const chars = Array.from(pattern);
  const out: GlobToken[] = [];
  for (let i = 0; i < chars.length; ) {
    const c = chars[i]!;
    if (c === esc) {
      const n = chars[i + 1];
      out.push({ kind: "char", ch: n ?? esc });
      i += n === undefined ? 1 : 2;
    } else if (c === "*") {
      if (out[out.length - 1]?.kind !== "star") out.push({ kind: "star" });
      i++;
    } else if (c === "?") {
      out.push({ kind: "any" });
      i++;
    } else if (c === "[" && opts.brackets !== false) {
      const parsed = parseBracket(chars, i, esc);
      if (parsed) {
        out.push(parsed.token);
        i = parsed.next;
      } else {
        out.push({ kind: "char", ch: c });
        i++;
      }
    } else {
      out.push({ kind: "char", ch: c });
      i++;
    }
  }
  return out;
}

/** Read `[...]` starting at `chars[start] === "["`, or null when it is not closed. */
function parseBracket(chars: readonly string[], start: number, esc: string): { token: GlobToken; next: number } | null {
  let j = start + 1;
  let negated = false;
  if (chars[j] === "!" || chars[j] === "^") {
    negated = true;
    j++;
  }
  const items: ClassItem[] = [];
  let first = true;
  while (j < chars.length) {
    let c = chars[j]!;
    if (c === "]" && !first) return { token: { kind: "class", negated, items }, next: j + 1 };
    first = false;
    if (c === "[" && chars[j + 1] === ":") {
      const close = chars.indexOf(":", j + 2);
      if (close > 0 && chars[close + 1] === "]") {
        const name = chars.slice(j + 2, close).join("");
        const re = NAMED_CLASSES[name];
        // An unknown class name matches nothing, as in bash.
        items.push(re ? { named: re } : { lo: 1, hi: 0 });
        j = close + 2;
        continue;
      }
    }
    if (c === esc && j + 1 < chars.length) c = chars[++j]!;
    j++;
    const lo = c.codePointAt(0)!;
    if (chars[j] === "-" && j + 1 < chars.length && chars[j + 1] !== "]") {
      let h = chars[j + 1]!;
      j += 2;
      if (h === esc && j < chars.length) h = chars[j++]!;
      items.push({ lo, hi: h.codePointAt(0)! });
    } else {
      items.push({ lo, hi: lo });
    }
  }
  return null;
}

function matchOne(t: GlobToken, c: string): boolean {
  switch (t.kind) {
    case "star":
    case "any":
      return true;
    case "char":
      return t.ch === c;
    case "class": {
      const cp = c.codePointAt(0)!;
      const hit = t.items.some((it) => ("named" in it ? it.named.test(c) : cp >= it.lo && cp <= it.hi));
      return hit !== t.negated;
    }
  }
}

/** Add the states reachable without consuming a character (a star may match nothing). */
function close(tokens: readonly GlobToken[], state: number, into: (s: number) => void): void {
  let s = state;
  into(s);
  while (tokens[s]?.kind === "star") into(++s);
}

/** The states after consuming `c` from `state`. */
function step(tokens: readonly GlobToken[], state: number, c: string, into: (s: number) => void): void {
  const t = tokens[state];
  if (!t || !matchOne(t, c)) return;
  close(tokens, t.kind === "star" ? state : state + 1, into);
}

/**
 * The length (in code points) of the shortest or longest prefix of `chars` that the whole
 * pattern matches, or -1 when none does.
 */
export function matchPrefix(tokens: readonly GlobToken[], chars: readonly string[], longest: boolean): number {
  const accept = tokens.length;
  let states = new Set<number>();
  close(tokens, 0, (s) => states.add(s));
  let found = states.has(accept) ? 0 : -1;
  if (found === 0 && !longest) return 0;
  for (let i = 0; i < chars.length && states.size > 0; i++) {
    const next = new Set<number>();
    for (const s of states) step(tokens, s, chars[i]!, (n) => next.add(n));
    states = next;
    if (states.has(accept)) {
      found = i + 1;
      if (!longest) return found;
    }
  }
  return found;
}

/** `${VAR#pat}` / `${VAR##pat}`: `value` without the shortest / longest matching prefix. */
export function trimPrefix(value: string, tokens: readonly GlobToken[], longest: boolean): string {
  const chars = Array.from(value);
  const n = matchPrefix(tokens, chars, longest);
  return n <= 0 ? value : chars.slice(n).join("");
}

/** `${VAR%pat}` / `${VAR%%pat}`: `value` without the shortest / longest matching suffix. */
export function trimSuffix(value: string, tokens: readonly GlobToken[], longest: boolean): string {
  const chars = Array.from(value);
  const n = matchPrefix([...tokens].reverse(), [...chars].reverse(), longest);
  return n <= 0 ? value : chars.slice(0, chars.length - n).join("");
}

/**
 * The leftmost match starting at or after `from`, longest at that start (POSIX rules),
 * found in one pass: each NFA state keeps the earliest start that reaches it.
 */
export function searchGlob(
  tokens: readonly GlobToken[],
  chars: readonly string[],
  from: number,
): { start: number; end: number } | null {
  const accept = tokens.length;
  let cur = new Map<number, number>();
  let best: { start: number; end: number } | null = null;
  for (let i = from; i <= chars.length; i++) {
    if (best === null) close(tokens, 0, (s) => { if (!cur.has(s)) cur.set(s, i); });
    const acc = cur.get(accept);
    if (acc !== undefined && (best === null || acc < best.start || (acc === best.start && i > best.end))) {
      best = { start: acc, end: i };
    }
    if (i === chars.length) break;
    const next = new Map<number, number>();
    for (const [s, start] of cur) {
      if (best !== null && start > best.start) continue;
      step(tokens, s, chars[i]!, (n) => {
        const have = next.get(n);
        if (have === undefined || start < have) next.set(n, start);
      });
    }
    cur = next;
    if (best !== null && cur.size === 0) break;
  }
  return best;
}

/**
 * `${VAR/pat/repl}` and `${VAR//pat/repl}`. The replacement is inserted literally. Empty
 * matches follow Go's regexp (which BuildKit uses): an empty pattern inserts `repl` before
 * the first character, or between all characters with `all`; an empty match right after
 * a previous match is skipped.
 */
export function replaceGlob(value: string, tokens: readonly GlobToken[], repl: string, all: boolean): string {
  const chars = Array.from(value);
  if (!all) {
    const m = searchGlob(tokens, chars, 0);
    return m ? chars.slice(0, m.start).join("") + repl + chars.slice(m.end).join("") : value;
  }
  let out = "";
  let lastEnd = 0;
  let pos = 0;
  while (pos <= chars.length) {
    const m = searchGlob(tokens, chars, pos);
    if (!m) break;
    out += chars.slice(lastEnd, m.start).join("");
    if (m.end > lastEnd || m.start === 0) out += repl;
    lastEnd = m.end;
    pos = m.end > pos ? m.end : pos + 1;
  }
  return out + chars.slice(lastEnd).join("");
}
