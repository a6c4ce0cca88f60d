// The tolerant parser: Dockerfile text → syntax tree + diagnostics, for any input. It follows
// BuildKit's parser (frontend/dockerfile/parser) node for node, so `dumpAst` matches BuildKit's
// dump, and records a range for the keyword, each flag, argument, pair and heredoc.
import { SourceText, groupThousands, isSpace, type Diagnostic, type ErrorCode, type Position, type Range } from "../util/index.js";
import { INSTRUCTION_KINDS, type Arg, type Comment, type DockerfileAst, type Flag, type Heredoc, type Instruction, type InstructionKind, type KeyValue, type ParseOptions, type ParseResult } from "./ast.js";
import { scanDirectives } from "./directives.js";
import { heredocsFromLine, HeredocSyntaxError, type HeredocOpener } from "./heredoc.js";
import { instructionLexer } from "./lexer.js";
import { LineReader, MAX_LINE_BYTES, segmentAt, sourceOffset, type CommentLine, type LogicalLine } from "./lines.js";
import { isSeparator, parseJsonArray, parseWords, splitWhitespace, trimBounds, unquoteFlag } from "./words.js";

/** Inputs larger than this are refused outright (E_PARSE_LIMIT). */
export const MAX_DOCKERFILE_CHARS = 16 * 1024 * 1024;
/**
 * The most top-level instructions one Dockerfile may have, counting every instruction line
 * (unknown ones too); past it the parser stops with one E_PARSE_LIMIT at the next one.
 * Docker's overlay2 caps an image at 127 layers and real Dockerfiles have at most a few
 * hundred instructions, so 10,000 is far beyond any real file while it bounds the work of
 * every later stage (decode, lint, plan) on a hostile one: without it a 3 MB file of short
 * lines is 300k instructions, each parsed, decoded, linted and planned.
 */
export const MAX_INSTRUCTIONS = 10_000;
/** ONBUILD may nest this deep in the tree (the decoder rejects ONBUILD ONBUILD anyway). */
const MAX_ONBUILD_DEPTH = 2;

const KINDS = new Set<string>(INSTRUCTION_KINDS);
const HEREDOC_KINDS = new Set(["run", "copy", "add"]);

interface Ctx {
  readonly text: string;
  readonly file: string;
  readonly src: SourceText;
  readonly escape: "\\" | "`";
  readonly diagnostics: Diagnostic[];
  /** One string per distinct keyword spelling (`RUN`, `run`, …): every instruction keeps one. */
  readonly keywords: Map<string, string>;
}

function diag(ctx: Ctx, severity: "error" | "warning", code: ErrorCode | string, message: string, range: Range, hint?: string): void {
  const d: { severity: "error" | "warning"; code: string; message: string; location: { file: string; range: Range }; hint?: string } = {
    severity, code, message, location: { file: ctx.file, range },
  };
  if (hint) d.hint = hint;
  ctx.diagnostics.push(d);
}

/** Shared by instructions without flags, args, pairs, heredocs or comments (most of them). */
const NONE: readonly never[] = Object.freeze([]);

/** How many recent positions and ranges LinePositions remembers (equal ends are near each other). */
const RECENT = 8;

/**
 * Positions and ranges on the current logical line, one object for equal source offsets (and
 * offset pairs) among the last few asked for: the tree keeps every one of them, and an
 * instruction's keyword, rest, arguments and own range mostly share their ends. A big file is
 * mostly these objects, so sharing them is what keeps parsing (and the collector) fast. One
 * per parse, with fixed-size memory: a Map per line cost more than it saved.
 */
class LinePositions {
  ll!: LogicalLine;
  private readonly positions: (Position | undefined)[] = new Array(RECENT).fill(undefined);
  private readonly ranges: (Range | undefined)[] = new Array(RECENT).fill(undefined);
  private nextPosition = 0;
  private nextRange = 0;

  constructor(private readonly src: SourceText) {}

  /** The position of logical offset `at` (an end offset maps to just past the char before). */
  at(at: number, isEnd = false): Position {
    const seg = segmentAt(this.ll, at, isEnd);
    const offset = sourceOffset(seg, at);
    for (const p of this.positions) if (p !== undefined && p.offset === offset) return p;
    const p: Position = { line: seg.line, column: offset - seg.lineStart + 1, offset };
    this.positions[this.nextPosition] = p;
    this.nextPosition = (this.nextPosition + 1) % RECENT;
    return p;
  }

  /**
   * The position of source offset `offset` (past the logical line: heredoc ends). Not shared
   * with `at`: after a BOM the first line's columns count from the BOM here, not there.
   */
  source(offset: number): Position {
    return this.src.positionAt(offset);
  }

  /** The range of logical offsets [s, e). */
  range(s: number, e: number): Range {
    return this.between(this.at(s), this.at(e, true));
  }

  between(start: Position, end: Position): Range {
    for (const r of this.ranges) if (r !== undefined && r.start === start && r.end === end) return r;
    const r: Range = { start, end };
    this.ranges[this.nextRange] = r;
    this.nextRange = (this.nextRange + 1) % RECENT;
    return r;
  }
}

/** Parse `text` into a tree and diagnostics. Never throws on any input. */
export function parseDockerfile(text: string, opts: ParseOptions = {}): ParseResult {
  const file = opts.file ?? "Dockerfile";
  const diagnostics: Diagnostic[] = [];
  const src = new SourceText(text.length > MAX_DOCKERFILE_CHARS ? "" : text);
  if (text.length > MAX_DOCKERFILE_CHARS) {
    diagnostics.push({ severity: "error", code: "E_PARSE_LIMIT", message: `Dockerfile is ${text.length} characters; the limit is ${MAX_DOCKERFILE_CHARS}`, location: { file, range: src.rangeOf(0, 0) } });
    return { ast: { file, text, escapeChar: "\\", directives: [], instructions: [], comments: [] }, diagnostics };
  }
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const scan = scanDirectives(text, src, file, start);
  for (const e of scan.errors) diagnostics.push({ severity: "error", code: e.code, message: e.message, location: e.location!, ...(e.hint ? { hint: e.hint } : {}) });
  const ctx: Ctx = { text, file, src, escape: scan.escapeChar, diagnostics, keywords: new Map() };
  const lastDirectiveLine = scan.directives.reduce((n, d) => Math.max(n, d.range.start.line), 0);

  const comments: Comment[] = [];
  let pending: Comment[] = [];
  const reader = new LineReader(text, scan.escapeChar, {
    comment(c: CommentLine) {
      if (c.line <= lastDirectiveLine) return;
      const cm: Comment = { text: text.slice(c.start + 1, c.end).trim(), range: src.rangeOf(c.start, c.end) };
      comments.push(cm);
      pending.push(cm);
    },
    tooLong(l) {
      diag(ctx, "error", "E_PARSE_LIMIT", `dockerfile line greater than max allowed size of ${MAX_LINE_BYTES}`, src.rangeOf(l.start, l.start), "split the line with a continuation (\\) or move the data into a file");
    },
  }, start);

  const instructions: Instruction[] = [];
  const lp = new LinePositions(src);
  for (let ll = reader.nextLogical(); ll; ll = reader.nextLogical()) {
    lp.ll = ll;
    if (instructions.length === MAX_INSTRUCTIONS) {
      diag(ctx, "error", "E_PARSE_LIMIT", `the Dockerfile has more than ${groupThousands(MAX_INSTRUCTIONS)} instructions`, lp.range(0, ll.text.length),
        "merge RUN steps (one RUN can run many commands) or split the build into several Dockerfiles");
      break;
    }
    const node = buildInstruction(ctx, lp, 0, 0);
    let endOffset = ll.end;
    let endLine = ll.endLine;
    const openers = node.heredocOpeners;
    const heredocs: Heredoc[] = [];
    for (const h of openers) {
      const bodyStart = reader.currentLine > 0 ? endOffsetNext(text, endOffset) : endOffset;
      let content = "";
      let terminated = false;
      let termStart = bodyStart;
      let termEnd = bodyStart;
      for (let p = reader.nextPhysical(); p; p = reader.nextPhysical()) {
        endLine = p.line;
        endOffset = p.end;
        if (!reader.checkLength(p)) continue;
        let s = p.start;
        if (h.chomp) while (s < p.end && text.charCodeAt(s) === 9) s++;
        if (p.end - s === h.name.length && text.startsWith(h.name, s)) {
          terminated = true;
          termStart = p.start;
          termEnd = p.end;
          break;
        }
        content += text.slice(p.start, p.next);
        termStart = p.next;
      }
      const markerRange: Range = lp.range(h.start, h.end);
      if (!terminated) {
        diag(ctx, "error", "E_PARSE_HEREDOC", `unterminated heredoc ${h.name}`, lp.between(lp.at(0), lp.source(endOffset)), `end the heredoc with a line holding only ${h.name}`);
        termStart = termEnd = endOffset;
      }
      heredocs.push({
        name: h.name, content, expand: h.expand, chomp: h.chomp, fileDescriptor: h.fileDescriptor,
        markerRange,
        contentRange: src.rangeOf(bodyStart, Math.max(bodyStart, Math.min(termStart, text.length))),
        range: src.rangeOf(bodyStart, terminated ? termEnd : endOffset),
      });
      if (!terminated) break;
    }
    const startPos = lp.at(0);
    const inst = finish(node, {
      range: lp.between(startPos, lp.source(endOffset)),
      raw: text.slice(startPos.offset, endOffset),
      heredocs: kept(heredocs),
      comments: kept(pending),
      startLine: ll.startLine,
      endLine,
    });
    if (pending.length) pending = [];
    if (ll.emptyContinuation) {
      diag(ctx, "warning", "NoEmptyContinuation", `Empty continuation line found in: ${ll.text}`, inst.range, "Empty continuation lines will become errors in a future release");
    }
    instructions.push(inst);
  }
  if (instructions.length === 0 && !diagnostics.some((d) => d.severity === "error")) {
    diag(ctx, "error", "E_PARSE_EMPTY", "file with no instructions", src.rangeOf(0, 0), "a Dockerfile needs at least a FROM instruction");
  }
  const ast: DockerfileAst = { file, text, escapeChar: scan.escapeChar, directives: scan.directives, instructions, comments };
  return { ast, diagnostics };
}

/** The offset where the line after the one ending at `end` starts. */
function endOffsetNext(text: string, end: number): number {
  const nl = text.indexOf("\n", end);
  return nl < 0 ? text.length : nl + 1;
}

/** An instruction before its line span and heredocs are known. */
interface Partial {
  kind: InstructionKind | "unknown";
  keyword: { text: string; range: Range };
  line: string;
  flags: Flag[];
  rest: { text: string; range: Range };
  args: Arg[];
  json: boolean;
  pairs: KeyValue[];
  subKeyword?: { text: string; range: Range };
  onbuild?: Partial;
  heredocOpeners: HeredocOpener[];
}

interface Span {
  range: Range;
  raw: string;
  heredocs: readonly Heredoc[];
  comments: readonly Comment[];
  startLine: number;
  endLine: number;
}

/** A list as the tree keeps it: NONE when empty, else an exact-size copy (push leaves spare capacity). */
function kept<T>(list: T[]): readonly T[] {
  return list.length === 0 ? NONE : list.slice();
}

function finish(p: Partial, span: Span): Instruction {
  const out: Instruction = {
    kind: p.kind, keyword: p.keyword, range: span.range, raw: span.raw, line: p.line, flags: kept(p.flags),
    rest: p.rest, args: kept(p.args), json: p.json, heredocs: p.kind === "onbuild" ? NONE : span.heredocs, pairs: kept(p.pairs),
    comments: span.comments, startLine: span.startLine, endLine: span.endLine,
  };
  if (p.subKeyword) (out as { subKeyword?: unknown }).subKeyword = p.subKeyword;
  if (p.onbuild) {
    (out as { onbuild?: Instruction }).onbuild = finish(p.onbuild, { ...span, comments: NONE });
    (out as { heredocs: readonly Heredoc[] }).heredocs = span.heredocs;
  }
  return out;
}

function keywordText(ctx: Ctx, text: string): string {
  const known = ctx.keywords.get(text);
  if (known !== undefined) return known;
  ctx.keywords.set(text, text);
  return text;
}

/** Parse the instruction on logical line `ll` starting at offset `from` (ONBUILD recurses). */
function buildInstruction(ctx: Ctx, lp: LinePositions, from: number, depth: number): Partial {
  const line = lp.ll.text;
  const rng = (s: number, e: number): Range => lp.range(s, e);
  const [s, e] = trimBounds(line, from);
  let kwEnd = s;
  while (kwEnd < e && !isSeparator(line.charCodeAt(kwEnd))) kwEnd++;
  const kwText = keywordText(ctx, line.slice(s, kwEnd));
  const lower = kwText.toLowerCase();
  const kind = (KINDS.has(lower) ? lower : "unknown") as InstructionKind | "unknown";

  // Flags: leading `--` words after the keyword (BuildKit's extractBuilderFlags).
  const flags: Flag[] = [];
  let restStart = e;
  // Most instructions have no flags: when the first word after the keyword does not start
  // with `--`, the rest starts there and the lexer is not needed (it would stop there too).
  let first = kwEnd;
  while (first < e && isSeparator(line.charCodeAt(first))) first++;
  if (first < e && !line.startsWith("--", first)) restStart = first;
  else if (first < e) {
    const lx = instructionLexer(ctx.escape);
    const sub = line.slice(kwEnd, e);
    lx.reset(sub);
    let t = lx.next();
    let done = false;
    while (t && !done) {
      if (t.type === "ws") {
        t = lx.next();
        continue;
      }
      if (t.type !== "flag") {
        restStart = kwEnd + t.offset;
        break;
      }
      const ws = t.offset;
      let we = t.offset + t.text.length;
      for (t = lx.next(); t && t.type !== "ws"; t = lx.next()) we = t.offset + t.text.length;
      const raw = sub.slice(ws, we);
      if (raw === "--") {
        restStart = kwEnd + we;
        done = true;
        break;
      }
      const word = unquoteFlag(raw);
      const eq = word.indexOf("=");
      const rawEq = raw.indexOf("=");
      const fs = kwEnd + ws;
      const fe = kwEnd + we;
      const flag: Flag = eq < 0
        ? { name: word.slice(2), value: undefined, word, range: rng(fs, fe), nameRange: rng(fs + 2, fe) }
        : { name: word.slice(2, eq), value: word.slice(eq + 1), word, range: rng(fs, fe), nameRange: rng(fs + 2, fs + (rawEq < 0 ? eq : rawEq)), valueRange: rng(fs + (rawEq < 0 ? eq : rawEq) + 1, fe) };
      flags.push(flag);
    }
  }
  const [rs, re] = trimBounds(line, restStart, e);
  const node: Partial = {
    kind, keyword: { text: kwText, range: rng(s, kwEnd) }, line: line.slice(s, e), flags,
    rest: { text: line.slice(rs, re), range: rng(rs, re) }, args: [], json: false, pairs: [], heredocOpeners: [],
  };
  const args = node.args;
  const restText = node.rest.text;
  const arg = (a: number, b: number, value = a === rs && b === re ? restText : line.slice(a, b)): void => {
    args.push({ value, range: rng(a, b) });
  };

  /** Exec form (JSON array) or undefined for shell form; reports non-string arrays. */
  const tryJson = (): boolean => {
    const r = parseJsonArray(line.slice(rs, re));
    if (r.kind === "not-json") return false;
    if (r.kind === "not-strings") {
      diag(ctx, "error", "E_PARSE_BAD_JSON", "when using JSON array syntax, arrays must be comprised of strings only", rng(rs, re), 'write every element as a "string"');
      return true;
    }
    node.json = true;
    // Element ranges come from the lexer's string tokens (a valid array has one per element).
    const lx = instructionLexer(ctx.escape);
    lx.reset(line.slice(rs, re));
    const strings: [number, number][] = [];
    for (let t = lx.next(); t; t = lx.next()) if (t.type === "string") strings.push([rs + t.offset, rs + t.offset + t.text.length]);
    r.values.forEach((v, i) => {
      const sp = strings.length === r.values.length ? strings[i]! : [rs, re];
      arg(sp[0]!, sp[1]!, v);
    });
    return true;
  };
  const maybeJson = (): void => {
    if (rs === re) return;
    if (!tryJson()) arg(rs, re);
  };
  const whitespaceList = (): void => {
    if (rs === re) return;
    for (const w of splitWhitespace(line, rs, re)) arg(w.start, w.end, w.text);
  };

  switch (kind) {
    case "run":
    case "cmd":
    case "entrypoint":
    case "shell":
      maybeJson();
      break;
    case "copy":
    case "add":
    case "volume":
      if (rs !== re && !tryJson()) whitespaceList();
      break;
    case "from":
    case "expose":
      whitespaceList();
      break;
    case "maintainer":
    case "user":
    case "workdir":
    case "stopsignal":
      if (rs !== re) arg(rs, re);
      break;
    case "env":
    case "label":
      nameVal(ctx, node, line, rs, re, rng);
      break;
    case "arg":
      for (const w of parseWords(line, ctx.escape, rs, re)) {
        arg(w.start, w.end, w.text);
        const eq = w.text.indexOf("=");
        node.pairs.push(eq < 0
          ? { key: w.text, value: undefined, separator: "", range: rng(w.start, w.end), keyRange: rng(w.start, w.end) }
          : { key: w.text.slice(0, eq), value: w.text.slice(eq + 1), separator: "=", range: rng(w.start, w.end), keyRange: rng(w.start, w.start + eq), valueRange: rng(w.start + eq + 1, w.end) });
      }
      break;
    case "healthcheck": {
      let sep = rs;
      while (sep < re && !isSpace(line.charCodeAt(sep))) sep++;
      if (sep === rs) break;
      node.subKeyword = { text: line.slice(rs, sep), range: rng(rs, sep) };
      arg(rs, sep);
      let next = sep;
      while (next < re && isSpace(line.charCodeAt(next))) next++;
      if (next < re) {
        const saved = [rs, re];
        const sub = line.slice(next, re);
        const r = parseJsonArray(sub);
        if (r.kind === "array") {
          node.json = true;
          const lx = instructionLexer(ctx.escape);
          lx.reset(sub);
          const strings: [number, number][] = [];
          for (let t = lx.next(); t; t = lx.next()) if (t.type === "string") strings.push([next + t.offset, next + t.offset + t.text.length]);
          r.values.forEach((v, i) => {
            const sp = strings.length === r.values.length ? strings[i]! : [next, re];
            arg(sp[0]!, sp[1]!, v);
          });
        } else if (r.kind === "not-strings") {
          diag(ctx, "error", "E_PARSE_BAD_JSON", "when using JSON array syntax, arrays must be comprised of strings only", rng(next, re), 'write every element as a "string"');
        } else arg(next, re);
        void saved;
      }
      break;
    }
    case "onbuild":
      if (rs === re) break;
      if (depth >= MAX_ONBUILD_DEPTH) {
        diag(ctx, "error", "E_PARSE_LIMIT", "ONBUILD nested too deeply", rng(rs, re));
        break;
      }
      node.onbuild = buildInstruction(ctx, lp, rs, depth + 1);
      break;
    case "unknown":
      args.push({ value: "", range: rng(rs, re) });
      break;
  }

  // Heredocs: RUN/COPY/ADD (directly or under ONBUILD), never in exec form.
  const target = node.onbuild ?? node;
  if (HEREDOC_KINDS.has(target.kind) && !target.json && line.indexOf("<<", kwEnd) >= 0) {
    try {
      node.heredocOpeners = heredocsFromLine(line, target === node ? kwEnd : rs, e);
    } catch (err) {
      if (!(err instanceof HeredocSyntaxError)) throw err;
      diag(ctx, "error", "E_PARSE_HEREDOC", err.message, rng(err.start, err.end), "close the quotes around the heredoc delimiter");
    }
  }
  return node;
}

function nameVal(ctx: Ctx, node: Partial, line: string, rs: number, re: number, rng: (s: number, e: number) => Range): void {
  const words = parseWords(line, ctx.escape, rs, re);
  if (words.length === 0) return;
  const key = node.kind.toUpperCase();
  const first = words[0]!;
  if (!first.text.includes("=")) {
    const parts = splitWhitespace(line, rs, re, 2);
    if (parts.length < 2) {
      diag(ctx, "error", "E_PARSE_MISSING_ARGS", `${key} must have two arguments`, rng(rs, re), `write ${key} ${first.text}=VALUE`);
      return;
    }
    const k = parts[0]!;
    const v = parts[1]!;
    node.args.push({ value: k.text, range: rng(k.start, k.end) }, { value: v.text, range: rng(v.start, re) }, { value: "", range: rng(v.start, v.start) });
    node.pairs.push({ key: k.text, value: line.slice(v.start, re), separator: "", range: rng(rs, re), keyRange: rng(k.start, k.end), valueRange: rng(v.start, re) });
    return;
  }
  for (const w of words) {
    const eq = w.text.indexOf("=");
    if (eq < 0) {
      diag(ctx, "error", "E_PARSE_BAD_ARGS", `Syntax error - can't find = in ${JSON.stringify(w.text)}. Must be of the form: name=value`, rng(w.start, w.end), `write ${w.text}=VALUE`);
      continue;
    }
    const k = w.text.slice(0, eq);
    const v = w.text.slice(eq + 1);
    const keyRange = rng(w.start, w.start + eq);
    const valueRange = rng(w.start + eq + 1, w.end);
    node.args.push({ value: k, range: keyRange }, { value: v, range: valueRange }, { value: "=", range: rng(w.start + eq, w.start + eq + 1) });
    node.pairs.push({ key: k, value: v, separator: "=", range: rng(w.start, w.end), keyRange, valueRange });
  }
}
