// The shell-word processor: quote removal, escapes and $VAR / ${VAR...} expansion for
// Dockerfile instruction arguments, with BuildKit's semantics (frontend/dockerfile/shell):
// one word (ProcessWord), a word split into words after expansion (ProcessWords), and the
// names a word referenced, set or not (ProcessWordWithMatches, for UndefinedVar and for
// deciding which ARGs a step depends on). RUN's shell form never comes here. Pure.
import { type SourceText, TbuildError, isSpace, type ErrorCode } from "../util/index.js";
import { type EnvSource, lookupEnv } from "./env.js";
import { type GlobToken, parseGlob, replaceGlob, trimPrefix, trimSuffix } from "./glob.js";

/** Where a word sits in a file, so errors carry a location. Valid when the word is a verbatim slice of `source`. */
export interface WordOrigin {
  readonly file: string;
  readonly source: SourceText;
  /** Offset of the word's first character in `source`. */
  readonly offset: number;
}

/** How to read a word. All fields are optional; the defaults are BuildKit's for instruction arguments. */
export interface ShellOptions {
  /** The Dockerfile's escape character: `\` (default) or the backtick (`# escape=\``). */
  readonly escapeToken?: "\\" | "`";
  /** Keep quote characters in the output (BuildKit's RawQuotes). */
  readonly rawQuotes?: boolean;
  /** Keep escape characters in the output (BuildKit's RawEscapes). */
  readonly rawEscapes?: boolean;
  /** Treat `'` and `"` as ordinary characters (BuildKit's SkipProcessQuotes). */
  readonly skipProcessQuotes?: boolean;
  /** Leave references to unset variables as written (`$X`, `${X:-y}`) instead of expanding them (BuildKit's SkipUnsetEnv). */
  readonly skipUnsetEnv?: boolean;
  /** Look names up ignoring case, as on Windows. Default false (Linux). */
  readonly caseInsensitiveNames?: boolean;
  /** Read `[...]` in `#`, `%` and `/` patterns as a bracket expression (default true; BuildKit takes `[` literally). */
  readonly globBrackets?: boolean;
  /** The deepest `${...}` nesting accepted (default 64); deeper words fail with E_SHELL_LIMIT. */
  readonly maxDepth?: number;
  /** Where the word came from, for error locations. */
  readonly origin?: WordOrigin;
}

/** A word's value and the names it referenced (expandWordMatches). */
export interface WordMatches {
  /** The word after quote removal and expansion (ProcessWord). */
  readonly value: string;
  /** Names referenced that are set (possibly empty). */
  readonly matched: ReadonlySet<string>;
  /** Names referenced that are unset. Positional and special parameters (`$1`, `$@`) are always unset. */
  readonly unmatched: ReadonlySet<string>;
}

/** What expanding one word produced. */
export interface ExpandResult extends WordMatches {
  /** The value split on unquoted whitespace after expansion (ProcessWords). */
  readonly words: readonly string[];
}

/** The default limit on `${...}` nesting. */
export const DEFAULT_MAX_DEPTH = 64;

/**
 * An error inside the scanner, with the span of the input it concerns; turned into a
 * TbuildError at the top. Not an Error: it never leaves this module, and capturing a stack
 * per malformed word was most of the time linting a file of them.
 */
class ShellFault {
  constructor(
    readonly code: ErrorCode,
    readonly message: string,
    readonly start: number,
    readonly end: number,
  ) {}
}

/** Accumulates words the way BuildKit's wordsStruct does: unquoted whitespace from literals and `$` results splits. */
interface WordSplitter {
  word: string;
  inWord: boolean;
  readonly words: string[];
}

function splitChar(w: WordSplitter, ch: string): void {
  if (isSpace(ch.charCodeAt(0))) {
    if (w.inWord && w.word.length > 0) {
      w.words.push(w.word);
      w.word = "";
      w.inWord = false;
    }
  } else {
    splitRaw(w, ch);
  }
}

function splitRaw(w: WordSplitter, s: string): void {
  w.word += s;
  w.inWord = true;
}

/** splitChar over every character of `s`, appending runs of non-space characters whole. */
function splitString(w: WordSplitter, s: string): void {
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    if (!isSpace(s.charCodeAt(i))) continue;
    if (i > run) splitRaw(w, s.slice(run, i));
    splitChar(w, s[i]!);
    run = i + 1;
  }
  if (run < s.length) splitRaw(w, run === 0 ? s : s.slice(run));
}

const SPECIAL_PARAMS = new Set(["@", "*", "#", "?", "-", "$", "!", "0"]);
const DIGIT = /^\p{Nd}$/u;
const NAME_CHAR = /^[\p{L}\p{Nd}_]$/u;

interface Scanner {
  readonly src: string;
  pos: number;
  depth: number;
  readonly esc: string;
  readonly opts: ShellOptions;
  readonly maxDepth: number;
  readonly env: EnvSource;
  readonly matched: Set<string>;
  readonly unmatched: Set<string>;
}

/** The code point at the scanner's position, or "" at the end. */
function peek(sc: Scanner): string {
  const cp = sc.src.codePointAt(sc.pos);
  return cp === undefined ? "" : String.fromCodePoint(cp);
}

function next(sc: Scanner): string {
  const ch = peek(sc);
  sc.pos += ch.length;
  return ch;
}

function getEnv(sc: Scanner, name: string): string | undefined {
  const v = lookupEnv(sc.env, name, { caseInsensitive: sc.opts.caseInsensitiveNames ?? false });
  (v === undefined ? sc.unmatched : sc.matched).add(name);
  return v;
}

/**
 * Read until `stop` (consumed) or the end of input. Returns `closed: false` when `stop`
 * was given but not found. `raw` keeps escape characters (used for patterns).
 */
function readWord(sc: Scanner, stop: string | null, raw: boolean, split?: WordSplitter): { value: string; closed: boolean } {
  let value = "";
  const quotes = !sc.opts.skipProcessQuotes;
  while (sc.pos < sc.src.length) {
    const ch = peek(sc);
    if (stop !== null && ch === stop) {
      next(sc);
      return { value, closed: true };
    }
    if (ch === "$") {
      const v = readDollar(sc);
      value += v;
      if (split) splitString(split, v);
    } else if (quotes && ch === "'") {
      const v = readSingleQuoted(sc);
      value += v;
      if (split) splitRaw(split, v);
    } else if (quotes && ch === '"') {
      const v = readDoubleQuoted(sc, raw);
      value += v;
      if (split) splitRaw(split, v);
    } else if (ch !== sc.esc) {
      // A run of ordinary characters is copied whole (expanded values can be long).
      const end = plainRun(sc, stop, quotes);
      const v = sc.src.slice(sc.pos, end);
      sc.pos = end;
      value += v;
      if (split) splitString(split, v);
    } else {
      next(sc);
      if (raw) {
        value += ch;
        if (split) splitRaw(split, ch);
      }
      if (sc.pos >= sc.src.length) break; // a trailing escape is dropped
      const c = next(sc);
      value += c;
      if (split) splitRaw(split, c);
    }
  }
  return { value, closed: stop === null };
}

/**
 * The end of the run of characters at the scanner's position that is copied as it is (long
 * expanded values make per-character work costly): up to `$`, the escape, `stop` or (when
 * `quotes`) a quote. The special
 * characters are all ASCII, so the run never splits a surrogate pair.
 */
function plainRun(sc: Scanner, stop: string | null, quotes: boolean): number {
  const src = sc.src;
  const esc = sc.esc.charCodeAt(0);
  const stopCode = stop === null ? -1 : stop.charCodeAt(0);
  let i = sc.pos;
  for (; i < src.length; i++) {
    const c = src.charCodeAt(i);
    if (c === 36 /* $ */ || c === esc || c === stopCode || (quotes && (c === 39 || c === 34))) break;
  }
  return i;
}

/** `'...'`: everything literal up to the next `'`. */
function readSingleQuoted(sc: Scanner): string {
  const start = sc.pos;
  const q = sc.opts.rawQuotes ? "'" : "";
  next(sc);
  const end = sc.src.indexOf("'", sc.pos);
  if (end < 0) {
    throw new ShellFault("E_SHELL_SYNTAX", "unexpected end of statement while looking for matching single-quote", start, sc.src.length);
  }
  const body = sc.src.slice(sc.pos, end);
  sc.pos = end + 1;
  return q + body + q;
}

/** `"..."`: `$` expands; the escape character escapes only `"`, `$` and itself. */
function readDoubleQuoted(sc: Scanner, raw: boolean): string {
  const start = sc.pos;
  const q = sc.opts.rawQuotes ? '"' : "";
  next(sc);
  let value = q;
  for (;;) {
    const ch = peek(sc);
    if (ch === "") {
      throw new ShellFault("E_SHELL_SYNTAX", "unexpected end of statement while looking for matching double-quote", start, sc.src.length);
    }
    if (ch === '"') {
      next(sc);
      return value + q;
    }
    if (ch === "$") {
      value += readDollar(sc);
      continue;
    }
    if (ch !== sc.esc) {
      const end = plainRun(sc, '"', false);
      value += sc.src.slice(sc.pos, end);
      sc.pos = end;
      continue;
    }
    next(sc);
    // Raw mode keeps the escape, and then (as BuildKit does) the escape or the escaped
    // character follows, so a pattern reads `"\t"` as a literal backslash and `t`.
    if (raw) value += ch;
    const n = peek(sc);
    if (n === "") continue;
    value += n === '"' || n === "$" || n === sc.esc ? next(sc) : ch;
  }
}

/** A name after `$` or `${`: digits (positional), one special character, or letters, digits and `_`. */
function readName(sc: Scanner): string {
  const first = peek(sc);
  if (DIGIT.test(first)) {
    let name = "";
    while (DIGIT.test(peek(sc))) name += next(sc);
    return name;
  }
  if (SPECIAL_PARAMS.has(first)) return next(sc);
  let name = "";
  while (NAME_CHAR.test(peek(sc))) name += next(sc);
  return name;
}

function missingBrace(start: number, sc: Scanner): ShellFault {
  return new ShellFault("E_SHELL_SYNTAX", "syntax error: missing '}'", start, sc.src.length);
}

/** Read a nested word up to `stop` (at ${ depth), failing with `missing` when the input ends first. */
function readNested(sc: Scanner, stop: string, raw: boolean, missing: () => ShellFault): string {
  const r = readWord(sc, stop, raw);
  if (!r.closed) throw missing();
  return r.value;
}

/** `$NAME`, `${NAME}` and `${NAME<op>word}`; a `$` not followed by a name stays literal. */
function readDollar(sc: Scanner): string {
  const start = sc.pos;
  next(sc);
  if (peek(sc) !== "{") {
    const name = readName(sc);
    if (name === "") return "$";
    const v = getEnv(sc, name);
    if (v === undefined && sc.opts.skipUnsetEnv) return "$" + name;
    return v ?? "";
  }
  next(sc);
  if (sc.depth >= sc.maxDepth) {
    throw new ShellFault("E_SHELL_LIMIT", `\${...} nested deeper than ${sc.maxDepth} levels`, start, start + 2);
  }
  sc.depth++;
  try {
    return readBraced(sc, start);
  } finally {
    sc.depth--;
  }
}

function readBraced(sc: Scanner, start: number): string {
  const first = peek(sc);
  if (first === "") throw missingBrace(start, sc);
  const name = readName(sc);
  if (name === "") {
    throw new ShellFault("E_SHELL_SYNTAX", "syntax error: bad substitution", start, Math.min(sc.pos + first.length, sc.src.length));
  }
  const opStart = sc.pos;
  const op = next(sc);
  const unsupported = (mod: string): ShellFault =>
    mod === "" ? missingBrace(start, sc) : new ShellFault("E_SHELL_SYNTAX", `unsupported modifier (${mod}) in substitution`, opStart, sc.pos);
  const skip = sc.opts.skipUnsetEnv ?? false;

  switch (op) {
    case "}": {
      const v = getEnv(sc, name);
      if (v === undefined && skip) return `\${${name}}`;
      return v ?? "";
    }
    case ":":
    case "-":
    case "+":
    case "?": {
      const nullIsUnset = op === ":";
      const mod = nullIsUnset ? next(sc) : op;
      if (mod === "") throw missingBrace(start, sc);
      if (mod !== "-" && mod !== "+" && mod !== "?") throw unsupported(op + mod);
      const word = readNested(sc, "}", false, () => missingBrace(start, sc));
      const v = getEnv(sc, name);
      if (v === undefined && skip) return `\${${name}${nullIsUnset ? ":" : ""}${mod}${word}}`;
      const empty = v === undefined || (nullIsUnset && v === "");
      if (mod === "-") return empty ? word : v!;
      if (mod === "+") return empty ? "" : word;
      if (empty) {
        const why = v === undefined ? "is not allowed to be unset" : "is not allowed to be empty";
        throw new ShellFault("E_SHELL_UNSET", `${name}: ${word === "" ? why : word}`, start, sc.pos);
      }
      return v!;
    }
    case "#":
    case "%": {
      const longest = peek(sc) === op;
      if (longest) next(sc);
      const pattern = readNested(sc, "}", true, () => missingBrace(start, sc));
      const v = getEnv(sc, name);
      if (v === undefined && skip) return `\${${name}${longest ? op + op : op}${pattern}}`;
      const tokens = compile(sc, pattern);
      return op === "#" ? trimPrefix(v ?? "", tokens, longest) : trimSuffix(v ?? "", tokens, longest);
    }
    case "/": {
      const all = peek(sc) === "/";
      if (all) next(sc);
      const pattern = readNested(sc, "/", true, () => new ShellFault("E_SHELL_SYNTAX", "syntax error: missing '/' in ${}", start, sc.src.length));
      const repl = readNested(sc, "}", true, () => missingBrace(start, sc));
      const v = getEnv(sc, name);
      if (v === undefined && skip) return `\${${name}${all ? "//" : "/"}${pattern}/${repl}}`;
      return replaceGlob(v ?? "", compile(sc, pattern), repl, all);
    }
    default:
      throw unsupported(op);
  }
}

function compile(sc: Scanner, pattern: string): GlobToken[] {
  return parseGlob(pattern, { escape: sc.esc, brackets: sc.opts.globBrackets ?? true });
}

/**
 * Expand one word: remove quotes, apply escapes and expand variables, returning the value,
 * its split into words, and the names referenced (BuildKit's ProcessWordWithMatches).
 * Throws TbuildError E_SHELL_SYNTAX (malformed; the message names the offset), E_SHELL_UNSET
 * (`${VAR:?msg}`) or E_SHELL_LIMIT (nesting deeper than `maxDepth`).
 */
export function expandWord(word: string, env: EnvSource, opts: ShellOptions = {}): ExpandResult {
  const split: WordSplitter = { word: "", inWord: false, words: [] };
  const r = scanWord(word, env, opts, split);
  if (split.word.length > 0) split.words.push(split.word);
  return { value: r.value, words: split.words, matched: r.matched, unmatched: r.unmatched };
}

/**
 * expandWord without the split into words, for callers that only want the value and the
 * names: splitting walks every character of every expanded value, and a value that grows
 * by a step per instruction (`ENV PATH=/x:$PATH` repeated) made that quadratic.
 */
export function expandWordMatches(word: string, env: EnvSource, opts: ShellOptions = {}): WordMatches {
  return scanWord(word, env, opts, undefined);
}

/**
 * expandWordMatches, or undefined when the word is malformed or nests too deeply (no error
 * is made: the linter leaves those to the planner, and a file can hold thousands of them).
 */
export function tryExpandWordMatches(word: string, env: EnvSource, opts: ShellOptions = {}): WordMatches | undefined {
  try {
    return scanWord(word, env, opts, undefined, false);
  } catch (e) {
    if (e instanceof ShellFault || e instanceof RangeError) return undefined;
    throw e;
  }
}

function scanWord(word: string, env: EnvSource, opts: ShellOptions, split: WordSplitter | undefined, located = true): WordMatches {
  const sc: Scanner = {
    src: word,
    pos: 0,
    depth: 0,
    esc: opts.escapeToken ?? "\\",
    opts,
    maxDepth: opts.maxDepth ?? DEFAULT_MAX_DEPTH,
    env,
    matched: new Set(),
    unmatched: new Set(),
  };
  try {
    const { value } = readWord(sc, null, opts.rawEscapes ?? false, split);
    return { value, matched: sc.matched, unmatched: sc.unmatched };
  } catch (e) {
    if (!located) throw e;
    if (e instanceof ShellFault) throw toError(word, e.code, e.message, e.start, e.end, opts.origin);
    if (e instanceof RangeError) {
      // A safety net for a maxDepth set beyond what the stack holds.
      throw toError(word, "E_SHELL_LIMIT", "word nested too deeply to expand", 0, word.length, opts.origin);
    }
    throw e;
  }
}

function toError(word: string, code: ErrorCode, message: string, start: number, end: number, origin?: WordOrigin): TbuildError {
  const shown = word.length > 80 ? `${word.slice(0, 77)}...` : word;
  const hint =
    code === "E_SHELL_SYNTAX"
      ? "check the ${...} braces and quotes; write \\$ for a literal dollar sign"
      : code === "E_SHELL_LIMIT"
        ? "flatten the nested ${...} expansions"
        : undefined;
  const err = new TbuildError(code, `failed to process ${JSON.stringify(shown)}: ${message} (at offset ${start})`, hint ? { hint } : {});
  if (origin) err.location = { file: origin.file, range: origin.source.rangeOf(origin.offset + start, origin.offset + end) };
  return err;
}

/** The word after quote removal and expansion (BuildKit's ProcessWord). */
export function processWord(word: string, env: EnvSource, opts: ShellOptions = {}): string {
  return scanWord(word, env, opts, undefined).value;
}

/** The word expanded and then split on unquoted whitespace (BuildKit's ProcessWords). */
export function processWords(word: string, env: EnvSource, opts: ShellOptions = {}): string[] {
  return [...expandWord(word, env, opts).words];
}
