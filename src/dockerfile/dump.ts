// BuildKit's AST dump (`Node.Dump`), one S-expression per instruction:
// `(copy ["--from=build"] "a" "/b")`, strings quoted with Go's strconv.Quote rules.
import type { DockerfileAst, Instruction } from "./ast.js";

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** Go's strconv.Quote. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"': out += '\\"'; continue;
      case "\\": out += "\\\\"; continue;
      case "\x07": out += "\\a"; continue;
      case "\b": out += "\\b"; continue;
      case "\f": out += "\\f"; continue;
      case "\n": out += "\\n"; continue;
      case "\r": out += "\\r"; continue;
      case "\t": out += "\\t"; continue;
      case "\v": out += "\\v"; continue;
    }
    if (c === 32 || (c >= 0x21 && c < 0x7f)) out += ch;
    else if (c < 0x80) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += "\\ufffd";
    else if (PRINTABLE.test(ch)) out += ch;
    else if (c <= 0xffff) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else out += `\\U${c.toString(16).padStart(8, "0")}`;
  }
  return out + '"';
}

/** The dump of one instruction, without the surrounding parentheses. */
export function dumpInstruction(i: Instruction): string {
  let str = i.keyword.text.toLowerCase();
  if (i.flags.length > 0) str += ` [${i.flags.map((f) => goQuote(f.word)).join(" ")}]`;
  if (i.onbuild) return `${str} (${dumpInstruction(i.onbuild)})`;
  for (const a of i.args) str += ` ${goQuote(a.value)}`;
  return str.trim();
}

/** BuildKit's `root.Dump()`: one `(…)` line per instruction, no trailing newline. */
export function dumpAst(ast: DockerfileAst): string {
  return ast.instructions.map((i) => `(${dumpInstruction(i)})`).join("\n");
}
