// WORKDIR USER STOPSIGNAL MAINTAINER (one value: the rest of the line) and EXPOSE VOLUME (lists).
import type { Instruction } from "../ast.js";
import { fail, readFlags, type DecodeContext } from "../flags.js";
import type { ListCommand, SimpleCommand } from "./types.js";

export function decodeSimple(ctx: DecodeContext, node: Instruction, kind: SimpleCommand["kind"]): SimpleCommand {
  readFlags(ctx, node);
  const KW = kind.toUpperCase();
  const value = node.args[0];
  if (!value) return fail(ctx, "E_PARSE_MISSING_ARGS", `${KW} requires exactly one argument`, node.range, `write ${KW} VALUE`);
  return { kind, node, range: node.range, value };
}

export function decodeList(ctx: DecodeContext, node: Instruction, kind: ListCommand["kind"]): ListCommand {
  readFlags(ctx, node);
  const KW = kind.toUpperCase();
  if (node.args.length === 0) fail(ctx, "E_PARSE_MISSING_ARGS", `${KW} requires at least one argument`, node.range);
  if (kind === "volume") {
    for (const a of node.args) if (a.value.trim() === "") fail(ctx, "E_PARSE_BAD_ARGS", "VOLUME specified can not be an empty string", a.range);
  }
  return { kind, node, range: node.range, values: node.args };
}
