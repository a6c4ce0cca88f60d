// Small word scanners that reproduce BuildKit's line parsers exactly: quote-aware word
// splitting for ARG/ENV/LABEL (parseWords), flag-word unquoting (extractBuilderFlags),
// whitespace splitting, and exec-form (JSON array) detection. Every word keeps its offsets.
// Not the shell-word processor: nothing here expands variables (that is src/shell).
import { isSpace } from "../util/index.js";

/** A word and its [start, end) offsets in the scanned string. */
export interface Word {
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

/** BuildKit's separator class `[\t\v\f\r ]`. */
export function isSeparator(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || c === 13;
}

/** [start, end) of `s` with Go's TrimSpace applied. */
export function trimBounds(s: string, start = 0, end = s.length): [number, number] {
  while (start < end && isSpace(s.charCodeAt(start))) start++;
  while (end > start && isSpace(s.charCodeAt(end - 1))) end--;
  return [start, end];
}

/** Split `s[start, end)` on runs of `[\t\v\f\r ]` (BuildKit's reWhitespace.Split(rest, -1)). */
export function splitWhitespace(s: string, start: number, end: number, limit = Infinity): Word[] {
  const out: Word[] = [];
  let i = start;
  let wordStart = start;
  while (i < end) {
    if (isSeparator(s.charCodeAt(i))) {
      if (out.length + 1 >= limit) break;
      out.push({ text: s.slice(wordStart, i), start: wordStart, end: i });
      while (i < end && isSeparator(s.charCodeAt(i))) i++;
      wordStart = i;
      continue;
    }
    i++;
  }
  out.push({ text: s.slice(wordStart, end), start: wordStart, end });
  return out;
}

/**
 * BuildKit's parseWords: split on unquoted whitespace, keeping quotes and escapes in the
 * words. The escape character escapes the next character outside single quotes.
 */
export function parseWords(s: string, escape: string, start = 0, end = s.length): Word[] {
  const words: Word[] = [];
  const esc = escape.charCodeAt(0);
  let inWord = false;
  let quote = 0;
  let blankOK = false;
  let wordStart = start;
  let word = "";
  let i = start;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (!inWord && quote === 0) {
      if (isSpace(c)) {
        i++;
        continue;
      }
      inWord = true;
      wordStart = i;
    }
    if (quote === 0) {
      if (isSpace(c)) {
        if (blankOK || word.length > 0) words.push({ text: word, start: wordStart, end: i });
        word = "";
        blankOK = false;
        inWord = false;
        i++;
        continue;
      }
      if (c === 39 || c === 34) {
        quote = c;
        blankOK = true;
        word += s[i];
        i++;
        continue;
      }
      if (c === esc) {
        if (i + 1 === end) {
          i++;
          continue;
        }
        word += s[i]! + s[i + 1]!;
        i += 2;
        continue;
      }
      word += s[i];
      i++;
      continue;
    }
    // inside quotes
    if (c === quote) quote = 0;
    if (c === esc && quote !== 39 && quote !== 0) {
      if (i + 1 === end) {
        quote = 0;
        i++;
        continue;
      }
      word += s[i]! + s[i + 1]!;
      i += 2;
      continue;
    }
    word += s[i];
    i++;
  }
  if ((inWord || quote !== 0) && (blankOK || word.length > 0)) words.push({ text: word, start: wordStart, end });
  return words;
}

/**
 * A flag word as BuildKit's extractBuilderFlags reads it: quotes removed, `\` escapes the
 * next character (always backslash, whatever the escape directive).
 */
export function unquoteFlag(word: string): string {
  let out = "";
  let quote = "";
  for (let i = 0; i < word.length; i++) {
    const ch = word[i]!;
    if (quote === "") {
      if (ch === "'" || ch === '"') {
        quote = ch;
        continue;
      }
    } else if (ch === quote) {
      quote = "";
      continue;
    }
    if (ch === "\\") {
      if (i + 1 === word.length) continue;
      i++;
      out += word[i];
      continue;
    }
    out += ch;
  }
  return out;
}

/** The result of exec-form detection. */
export type JsonArrayResult =
  | { readonly kind: "array"; readonly values: readonly string[] }
  | { readonly kind: "not-json" }
  | { readonly kind: "not-strings" };

/**
 * BuildKit's parseJSON: a JSON array of strings is exec form; an array with any non-string
 * element is an error; anything else (not JSON at all) is shell form.
 */
export function parseJsonArray(rest: string): JsonArrayResult {
  let i = 0;
  while (i < rest.length && isSpace(rest.charCodeAt(i))) i++;
  if (rest.charCodeAt(i) !== 91 /* [ */) return { kind: "not-json" };
  let v: unknown;
  try {
    v = JSON.parse(rest);
  } catch {
    return { kind: "not-json" };
  }
  if (!Array.isArray(v)) return { kind: "not-json" };
  for (const x of v) if (typeof x !== "string") return { kind: "not-strings" };
  return { kind: "array", values: v as string[] };
}
