// Renders the lines around a range as BuildKit's Source.Print does:
//   Dockerfile:3
//   --------------------
//      2 |     FROM alpine
//      3 | >>> RUN exit 1
//   --------------------
import type { Range } from "./range.js";

export interface CodeFrameOptions {
  /** Lines of context shown before and after the marked lines. */
  context?: number;
}

/** A code frame for `range` in `text`, headed by `file:line`. Pure: returns a string. */
export function renderCodeFrame(file: string, text: string, range: Range, opts: CodeFrameOptions = {}): string {
  const ctx = opts.context ?? 2;
  const lines = text.split(/\r?\n/);
  // A final line break ends the last line; it does not start an empty one.
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  const first = Math.max(1, range.start.line);
  // A range ending at column 1 of a later line covers only up to the end of the line before.
  let last = Math.max(first, range.end.line);
  if (range.end.line > range.start.line && range.end.column === 1 && range.end.offset >= 0) last--;
  last = Math.min(last, Math.max(lines.length, first));
  const from = Math.max(1, first - ctx);
  const to = Math.min(lines.length, last + ctx);
  const width = Math.max(4, String(to).length);
  const rule = "-".repeat(20);
  const out = [first === last ? `${file}:${first}` : `${file}:${first}-${last}`, rule];
  for (let n = from; n <= to; n++) {
    const marked = n >= first && n <= last;
    out.push(`${String(n).padStart(width)} | ${marked ? ">>> " : "    "}${(lines[n - 1] ?? "").replace(/\t/g, "    ")}`);
  }
  out.push(rule);
  return out.join("\n");
}
