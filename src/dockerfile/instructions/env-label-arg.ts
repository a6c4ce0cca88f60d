// ENV and LABEL (KEY=VALUE… or legacy KEY VALUE) and ARG (NAME[=default]…). Values keep
// their quotes; the planner expands and unquotes them with src/shell.
import type { Instruction } from "../ast.js";
import { fail, readFlags, type DecodeContext } from "../flags.js";
import type { ArgCommand, EnvCommand } from "./types.js";

export function decodeEnvLabel(ctx: DecodeContext, node: Instruction, kind: "env" | "label"): EnvCommand {
  readFlags(ctx, node);
  const KW = kind.toUpperCase();
  if (node.rest.text === "") fail(ctx, "E_PARSE_MISSING_ARGS", `${KW} requires at least one argument`, node.range, `write ${KW} KEY=VALUE`);
  const words = node.pairs;
  if (words.length === 0) fail(ctx, "E_PARSE_MISSING_ARGS", `${KW} must have two arguments`, node.rest.range, `write ${KW} ${node.rest.text}=VALUE`);
  for (const p of words) {
    if (p.key === "") fail(ctx, "E_PARSE_BAD_ARGS", `${KW} names can not be blank`, p.range);
  }
  return { kind, node, range: node.range, pairs: words as EnvCommand["pairs"] };
}

export function decodeArg(ctx: DecodeContext, node: Instruction): ArgCommand {
  readFlags(ctx, node);
  if (node.pairs.length === 0) fail(ctx, "E_PARSE_MISSING_ARGS", "ARG requires at least one argument", node.range, "write ARG NAME[=DEFAULT]");
  for (const p of node.pairs) {
    if (p.key === "") fail(ctx, "E_PARSE_BAD_ARGS", "ARG names can not be blank", p.range);
  }
  return { kind: "arg", node, range: node.range, pairs: node.pairs };
}
