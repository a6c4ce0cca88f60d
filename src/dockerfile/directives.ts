// Parser directives (`# syntax=`, `# escape=`, `# check=`) in the leading comment block,
// with BuildKit's rules: names case-insensitive, each at most once, a `#!` first line is
// skipped, and the block ends at the first line that is not a known directive.
import { TbuildError, type Range, type SourceText } from "../util/index.js";
import type { Directive } from "./ast.js";
import { directiveLexer } from "./lexer.js";

const KNOWN = new Set(["syntax", "escape", "check"]);

export interface DirectiveScan {
  readonly directives: Directive[];
  readonly escapeChar: "\\" | "`";
  /** Problems found (duplicate directive, bad escape value); the scan goes on regardless. */
  readonly errors: TbuildError[];
}

interface RawDirective {
  name: string;
  value: string;
  /** Offsets of the value in the text. */
  valueStart: number;
  valueEnd: number;
}

/** Match `#` (or `//` when `slashes`) `name = value` on one line (already left-trimmed). */
function matchDirective(line: string, base: number, slashes = false): RawDirective | undefined {
  let i: number;
  if (slashes && line.startsWith("//")) i = 2;
  else {
    if (slashes) return undefined;
    const lx = directiveLexer();
    lx.reset(line);
    const t = lx.next();
    if (!t || t.type !== "directive") return undefined;
    i = 1;
  }
  while (i < line.length && /\s/.test(line[i]!)) i++;
  const nameStart = i;
  if (!/[a-zA-Z]/.test(line[i] ?? "")) return undefined;
  while (i < line.length && /[a-zA-Z0-9]/.test(line[i]!)) i++;
  const name = line.slice(nameStart, i);
  while (i < line.length && /\s/.test(line[i]!)) i++;
  if (line[i] !== "=") return undefined;
  i++;
  while (i < line.length && /\s/.test(line[i]!)) i++;
  let end = line.length;
  while (end > i && /\s/.test(line[end - 1]!)) end--;
  if (end <= i) return undefined;
  return { name: name.toLowerCase(), value: line.slice(i, end), valueStart: base + i, valueEnd: base + end };
}

/** Physical lines of `text` from `start`, as [start, end) offsets without line breaks. */
function* physicalLines(text: string, start: number): Generator<[number, number]> {
  let pos = start;
  while (pos < text.length) {
    let nl = text.indexOf("\n", pos);
    const next = nl < 0 ? text.length : nl + 1;
    if (nl < 0) nl = text.length;
    let end = nl;
    if (end > pos && text.charCodeAt(end - 1) === 13) end--;
    yield [pos, end];
    pos = next;
  }
}

/** Scan the leading directive block of `text` (from `start`, after any BOM). */
export function scanDirectives(text: string, src: SourceText, file: string, start: number): DirectiveScan {
  const directives: Directive[] = [];
  const errors: TbuildError[] = [];
  let escapeChar: "\\" | "`" = "\\";
  let n = 0;
  for (const [s0, e] of physicalLines(text, start)) {
    n++;
    let s = s0;
    while (s < e && /\s/.test(text[s]!)) s++;
    const line = text.slice(s, e);
    if (n === 1 && line.startsWith("#!")) continue;
    const m = matchDirective(line, s);
    if (!m || !KNOWN.has(m.name)) break;
    const range: Range = src.rangeOf(s, e);
    const valueRange = src.rangeOf(m.valueStart, m.valueEnd);
    if (directives.some((d) => d.name === m.name)) {
      errors.push(new TbuildError("E_PARSE_DIRECTIVE", `only one ${m.name} parser directive can be used`, { location: { file, range } }));
      continue;
    }
    if (m.name === "escape") {
      if (m.value !== "\\" && m.value !== "`") {
        errors.push(new TbuildError("E_PARSE_DIRECTIVE", `invalid escape token '${m.value}' does not match \` or \\`, { location: { file, range: valueRange }, hint: "use # escape=\\ or # escape=`" }));
        continue;
      }
      escapeChar = m.value;
    }
    directives.push({ name: m.name as Directive["name"], value: m.value, range, valueRange });
  }
  return { directives, escapeChar, errors };
}

/** BuildKit's DetectSyntax / ParseDirective result: `ref` is the value up to the first space. */
export interface DirectiveValue {
  readonly ref: string;
  readonly cmdline: string;
  /** 1-based line of the directive (0 for the JSON form). */
  readonly line: number;
}

/**
 * Find directive `name` in the leading block of `text`. `syntax` also accepts `//` comments
 * and a whole-file JSON object (`{"syntax": "…"}`), as BuildKit's DetectSyntax does.
 */
export function findDirective(text: string, name: "syntax" | "escape" | "check"): DirectiveValue | undefined {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const allowSlashes = name === "syntax";
  let n = 0;
  const seen = new Set<string>();
  let result: DirectiveValue | undefined;
  for (const [s0, e] of physicalLines(text, start)) {
    n++;
    let s = s0;
    while (s < e && /\s/.test(text[s]!)) s++;
    const line = text.slice(s, e);
    if (n === 1 && line.startsWith("#!")) continue;
    const m = matchDirective(line, s) ?? (allowSlashes ? matchDirective(line, s, true) : undefined);
    if (!m || !KNOWN.has(m.name) || seen.has(m.name)) break;
    seen.add(m.name);
    if (m.name === name && !result) {
      const sp = m.value.search(/\s/);
      result = { ref: sp < 0 ? m.value : m.value.slice(0, sp), cmdline: m.value, line: n };
    }
  }
  if (result || !allowSlashes) return result;
  const trimmed = text.slice(start).trim();
  if (trimmed.startsWith("{")) {
    try {
      const obj: unknown = JSON.parse(trimmed);
      if (obj && typeof obj === "object" && !Array.isArray(obj)) {
        const v = (obj as Record<string, unknown>).syntax;
        if (typeof v === "string") {
          const sp = v.search(/\s/);
          return { ref: sp < 0 ? v : v.slice(0, sp), cmdline: v, line: 0 };
        }
      }
    } catch {
      return undefined;
    }
  }
  return undefined;
}
