// Renders errors for the terminal: `FILE:LINE:COL: CODE: message`, a code frame of the
// offending lines (BuildKit's Source.Print layout) and `hint: …`. The only error renderer.
import { TbuildError, renderCodeFrame } from "../../util/index.js";

export interface RenderErrorOptions {
  /** Source texts by file name, for code frames. */
  sources: ReadonlyMap<string, string>;
  debug: boolean;
}

export function renderError(e: unknown, opts: RenderErrorOptions): string {
  if (e instanceof TbuildError) {
    const out: string[] = [];
    const loc = e.location;
    const where = loc ? (loc.range.start.line > 0 ? `${loc.file}:${loc.range.start.line}:${loc.range.start.column}: ` : `${loc.file}: `) : "";
    out.push(`error: ${where}${e.code}: ${e.message}`);
    if (loc && loc.range.start.line > 0) {
      const text = opts.sources.get(loc.file);
      if (text !== undefined) out.push(renderCodeFrame(loc.file, text, loc.range));
    }
    if (e.hint) out.push(`hint: ${e.hint}`);
    if (opts.debug && e.cause instanceof Error && e.cause.stack) out.push(`caused by: ${e.cause.stack}`);
    return out.join("\n") + "\n";
  }
  const err = e instanceof Error ? e : new Error(String(e));
  const lines = [`internal error: ${err.message}`, "This is a bug in tbuild; please report it with the command you ran."];
  if (opts.debug && err.stack) lines.push(err.stack);
  else lines.push("Run again with --debug for the stack trace.");
  return lines.join("\n") + "\n";
}
