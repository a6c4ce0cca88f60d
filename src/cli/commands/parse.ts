// `tbuild parse [--format json|dump] [-f FILE | FILE]`: parse and strictly decode a
// Dockerfile; print the syntax tree as JSON or BuildKit's S-expression dump. Errors exit 1
// with a located, framed message; warnings go to stderr.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { decodeDockerfile, dumpAst, parseDockerfile } from "../../dockerfile/index.js";
import { TbuildError } from "../../util/index.js";
import type { CommandSpec } from "../args.js";
import { readText, type CommandContext } from "../io.js";

export const spec: CommandSpec = {
  name: "parse",
  summary: "Parse a Dockerfile and print its syntax tree",
  usage: "parse [--format json|dump] [-f FILE | FILE]",
  options: {
    file: { type: "string", short: "f", valueName: "FILE", description: "the Dockerfile (default ./Dockerfile; - reads stdin)" },
    format: { type: "string", valueName: "FORMAT", default: "json", description: "json (the tree with ranges) or dump (BuildKit's AST dump)" },
  },
  details: "The JSON form lists every instruction with the ranges of its keyword, flags, arguments\nand heredocs (lines and columns 1-based). Values are shown unexpanded.",
  maxPositionals: 1,
};

export async function run(ctx: CommandContext): Promise<number> {
  const format = String(ctx.values.format ?? "json");
  if (format !== "json" && format !== "dump") throw new TbuildError("E_USAGE", `unknown format: ${format}`, { hint: "use --format json or --format dump" });
  const flagFile = typeof ctx.values.file === "string" ? ctx.values.file : undefined;
  if (flagFile !== undefined && ctx.positionals.length > 0) throw new TbuildError("E_USAGE", "give the Dockerfile either with -f or as an argument, not both");
  const arg = flagFile ?? ctx.positionals[0] ?? "Dockerfile";
  let text: string;
  if (arg === "-") text = await readText(ctx.io.stdin);
  else {
    try {
      text = await readFile(resolve(ctx.io.cwd, arg), "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new TbuildError(code === "ENOENT" ? "E_CONTEXT_NOT_FOUND" : "E_IO", `cannot read ${arg}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`, { cause: e });
    }
  }
  const file = arg === "-" ? "-" : arg;
  ctx.registerSource(file, text);
  const result = parseDockerfile(text, { file });
  for (const d of result.diagnostics) {
    if (d.severity === "error") continue;
    const at = d.location ? `${d.location.file}:${d.location.range.start.line}:${d.location.range.start.column}: ` : "";
    ctx.io.stderr.write(`${at}warning: ${d.code}: ${d.message}${d.hint ? ` (${d.hint})` : ""}\n`);
  }
  const decoded = decodeDockerfile(result);
  if (decoded.errors.length > 0) throw decoded.errors[0]!;
  if (format === "dump") {
    ctx.io.stdout.write(dumpAst(result.ast) + "\n");
  } else {
    const { text: _text, ...ast } = result.ast;
    ctx.io.stdout.write(JSON.stringify({ ...ast, diagnostics: result.diagnostics }, null, 2) + "\n");
  }
  return 0;
}
