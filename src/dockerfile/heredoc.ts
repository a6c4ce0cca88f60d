// Heredoc openers (`<<EOF`, `<<-EOF`, `3<<"EOF"`) found in a RUN/COPY/ADD line, as BuildKit's
// heredocsFromLine + ParseHeredoc do: split the line into raw shell words (quotes and escapes
// kept, `<<` swallowing the blanks after it), then read each `[fd]<<[-]WORD` word. The
// delimiter is unquoted; any quoting means the body is not expanded.
import type { Word } from "./words.js";

export interface HeredocOpener {
  readonly name: string;
  readonly expand: boolean;
  readonly chomp: boolean;
  readonly fileDescriptor: number;
  /** Offsets of the opener word in the scanned line. */
  readonly start: number;
  readonly end: number;
}

/** Thrown (as a plain value) for an opener whose quotes do not close. */
export class HeredocSyntaxError {
  constructor(readonly message: string, readonly start: number, readonly end: number) {}
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12;
}

/** Raw shell words of `line` (RawQuotes + RawEscapes): quotes and backslashes stay in. */
function rawShellWords(line: string, start = 0, end = line.length): Word[] {
  const out: Word[] = [];
  let i = start;
  while (i < end) {
    while (i < end && isBlank(line.charCodeAt(i))) i++;
    if (i >= end) break;
    const ws = i;
    while (i < end && !isBlank(line.charCodeAt(i))) {
      const c = line[i]!;
      if (c === "\\") {
        i += 2;
      } else if (c === "'") {
        const close = line.indexOf("'", i + 1);
        i = close < 0 || close >= end ? end : close + 1;
      } else if (c === '"') {
        let j = i + 1;
        while (j < end && line[j] !== '"') j += line[j] === "\\" ? 2 : 1;
        i = Math.min(j + 1, end);
      } else if (c === "<" && line[i + 1] === "<") {
        i += 2;
        while (i < end && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
      } else i++;
    }
    if (i > end) i = end;
    out.push({ text: line.slice(ws, i), start: ws, end: i });
  }
  return out;
}

/**
 * Shell-style unquoting of a delimiter word: returns the words (split on unquoted blanks)
 * and how many quote characters acted as quotes. Throws HeredocSyntaxError on an open quote.
 */
function unquoteWords(src: string, base: number, wordEnd: number): { words: string[]; rawQuotes: number } {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let rawQuotes = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (isBlank(c.charCodeAt(0))) {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "\\") {
      if (i + 1 < src.length) cur += src[++i];
      continue;
    }
    if (c === "'" || c === '"') {
      const close = c === "'" ? src.indexOf("'", i + 1) : findDoubleClose(src, i + 1);
      if (close < 0) throw new HeredocSyntaxError(`unterminated quote in heredoc delimiter ${src}`, base, wordEnd);
      rawQuotes += 2;
      const body = src.slice(i + 1, close);
      cur += c === "'" ? body : body.replace(/\\(["\\$`])/g, "$1");
      i = close;
      continue;
    }
    cur += c;
  }
  if (inWord) words.push(cur);
  return { words, rawQuotes };
}

function findDoubleClose(src: string, from: number): number {
  for (let j = from; j < src.length; j++) {
    if (src[j] === "\\") j++;
    else if (src[j] === '"') return j;
  }
  return -1;
}

/**
 * Read one word as a heredoc opener (BuildKit's `^(\d*)<<(-?)\s*([^<]*)$`). Undefined when
 * the word is not one; throws HeredocSyntaxError when its quotes do not close.
 */
export function parseHeredocWord(word: string, start = 0): HeredocOpener | undefined {
  let i = 0;
  while (i < word.length && word.charCodeAt(i) >= 48 && word.charCodeAt(i) <= 57) i++;
  const fd = i > 0 ? Number(word.slice(0, i)) : 0;
  if (word[i] !== "<" || word[i + 1] !== "<") return undefined;
  i += 2;
  let chomp = false;
  if (word[i] === "-") {
    chomp = true;
    i++;
  }
  while (i < word.length && isBlank(word.charCodeAt(i))) i++;
  const rest = word.slice(i);
  if (rest.length === 0 || rest.includes("<")) return undefined;
  const { words, rawQuotes } = unquoteWords(rest, start, start + word.length);
  if (words.length !== 1) return undefined;
  // Only quotes that acted as quotes disable expansion (an escaped quote is a plain character).
  return { name: words[0]!, expand: rawQuotes === 0, chomp, fileDescriptor: fd, start, end: start + word.length };
}

/** All heredoc openers in `line[start, end)`, in order. */
export function heredocsFromLine(line: string, start = 0, end = line.length): HeredocOpener[] {
  const out: HeredocOpener[] = [];
  if (line.indexOf("<<", start) < 0) return out;
  for (const w of rawShellWords(line, start, end)) {
    if (w.text.indexOf("<<") < 0) continue;
    const h = parseHeredocWord(w.text, w.start);
    if (h) out.push(h);
  }
  return out;
}

/** Strip leading tabs from every line of a `<<-` body (BuildKit's ChompHeredocContent). */
export function chompHeredoc(content: string): string {
  return content.replace(/^\t+/gm, "");
}
