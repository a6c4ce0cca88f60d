// Physical → logical lines (BuildKit's parser loop): continuation lines are joined without a
// separator, comment lines inside a continuation are dropped, empty ones are skipped with a
// warning, a continuation at end of file is accepted. An offset map takes every character of
// a logical line back to its place in the original text. Heredoc bodies are read raw by the
// parser through `nextPhysical`, because their terminators are only known after parsing.

/** BuildKit reads lines through a 64 KiB buffer; a longer physical line is an error. */
export const MAX_LINE_BYTES = 65535;

export interface PhysicalLine {
  /** 1-based line number. */
  readonly line: number;
  /** Offset of the first character. */
  readonly start: number;
  /** Offset just past the content (before `\r\n` / `\n`). */
  readonly end: number;
  /** Offset of the next line (after the line break), or the text length. */
  readonly next: number;
}

/** A slice of the source copied into a logical line. */
export interface Segment {
  /** Offset in the logical line. */
  readonly at: number;
  /** Offset in the source text. */
  readonly source: number;
  readonly length: number;
  /** Physical line number and the offset where that line starts. */
  readonly line: number;
  readonly lineStart: number;
}

export interface LogicalLine {
  readonly text: string;
  readonly segments: readonly Segment[];
  readonly startLine: number;
  readonly endLine: number;
  /** Source offset of the first character of the first line (after leading whitespace). */
  readonly start: number;
  /** Source offset just past the last consumed physical line's content. */
  readonly end: number;
  /** An empty line was skipped inside the continuation (BuildKit warns). */
  readonly emptyContinuation: boolean;
}

export interface CommentLine {
  readonly line: number;
  /** Offsets of `#` and of the end of the line content. */
  readonly start: number;
  readonly end: number;
}

export interface LineEvents {
  comment(c: CommentLine): void;
  tooLong(l: PhysicalLine): void;
}

function isSpaceCode(c: number): boolean {
  // unicode.IsSpace for the Latin-1 range: \t \n \v \f \r, space, U+0085, U+00A0
  return c === 32 || (c >= 9 && c <= 13) || c === 0x85 || c === 0xa0;
}

function utf8Length(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Reads physical and logical lines from one text, in order. */
export class LineReader {
  private pos: number;
  private lineNo = 0;

  constructor(
    readonly text: string,
    readonly escape: "\\" | "`",
    readonly events: LineEvents,
    startOffset = 0,
  ) {
    this.pos = startOffset;
  }

  /** The number of the last physical line read (0 before any). */
  get currentLine(): number {
    return this.lineNo;
  }

  /** The next raw physical line, or undefined at end of text. */
  nextPhysical(): PhysicalLine | undefined {
    const text = this.text;
    if (this.pos >= text.length) return undefined;
    const start = this.pos;
    let nl = text.indexOf("\n", start);
    let next: number;
    if (nl < 0) {
      nl = text.length;
      next = nl;
    } else next = nl + 1;
    let end = nl;
    if (end > start && text.charCodeAt(end - 1) === 13) end--;
    this.pos = next;
    this.lineNo++;
    return { line: this.lineNo, start, end, next };
  }

  /** False (and reports it) when `p` is longer than BuildKit's line buffer. */
  checkLength(p: PhysicalLine): boolean {
    const len = p.end - p.start;
    if (len * 3 < MAX_LINE_BYTES) return true;
    if (len > MAX_LINE_BYTES || utf8Length(this.text, p.start, p.end) > MAX_LINE_BYTES) {
      this.events.tooLong(p);
      return false;
    }
    return true;
  }

  /** Offset of the first non-space character in [start, end), or end. */
  private skipSpace(start: number, end: number): number {
    const t = this.text;
    while (start < end && isSpaceCode(t.charCodeAt(start))) start++;
    return start;
  }

  /**
   * Strip a trailing continuation (the escape character, then only spaces/tabs) from
   * [start, end). Returns the new end, or -1 when the line does not continue. An escape
   * preceded by another escape is an escaped escape, not a continuation.
   */
  private continuation(start: number, end: number): number {
    const t = this.text;
    let e = end;
    while (e > start && (t.charCodeAt(e - 1) === 32 || t.charCodeAt(e - 1) === 9)) e--;
    if (e > start && t[e - 1] === this.escape && (e - 1 === start || t[e - 2] !== this.escape)) return e - 1;
    return -1;
  }

  /** The next logical line, or undefined at end of text. */
  nextLogical(): LogicalLine | undefined {
    const t = this.text;
    for (;;) {
      const p = this.nextPhysical();
      if (!p) return undefined;
      if (!this.checkLength(p)) continue;
      const s = this.skipSpace(p.start, p.end);
      if (s < p.end && t.charCodeAt(s) === 35 /* # */) {
        this.events.comment({ line: p.line, start: s, end: p.end });
        continue;
      }
      let cont = this.continuation(s, p.end);
      const firstEnd = cont < 0 ? p.end : cont;
      if (cont < 0 && s === p.end) continue;
      const segments: Segment[] = [{ at: 0, source: s, length: firstEnd - s, line: p.line, lineStart: p.start }];
      let text = t.slice(s, firstEnd);
      let endLine = p.line;
      let end = p.end;
      let empty = false;
      while (cont >= 0) {
        const q = this.nextPhysical();
        if (!q) break;
        endLine = q.line;
        end = q.end;
        if (!this.checkLength(q)) continue;
        const qs = this.skipSpace(q.start, q.end);
        if (qs < q.end && t.charCodeAt(qs) === 35) {
          this.events.comment({ line: q.line, start: qs, end: q.end });
          continue;
        }
        if (qs === q.end) {
          empty = true;
          continue;
        }
        cont = this.continuation(q.start, q.end);
        const qe = cont < 0 ? q.end : cont;
        if (qe > q.start) {
          segments.push({ at: text.length, source: q.start, length: qe - q.start, line: q.line, lineStart: q.start });
          text += t.slice(q.start, qe);
        }
      }
      return { text, segments, startLine: p.line, endLine, start: s, end, emptyContinuation: empty };
    }
  }
}

/**
 * The segment holding offset `at` of a logical line (an end offset at a segment boundary
 * belongs to the segment before it). Binary search: a line continued over thousands of
 * physical lines has as many segments, and every token of it asks.
 */
export function segmentAt(l: LogicalLine, at: number, isEnd = false): Segment {
  const segs = l.segments;
  let lo = 0;
  let hi = segs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    const sg = segs[mid]!;
    if (sg.at < at || (sg.at === at && !isEnd)) lo = mid;
    else hi = mid - 1;
  }
  return segs[lo]!;
}

/** The source offset of offset `at` of a logical line. */
export function sourceOffset(seg: Segment, at: number): number {
  return seg.source + Math.min(at - seg.at, seg.length);
}
