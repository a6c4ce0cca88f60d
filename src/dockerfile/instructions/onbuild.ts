// ONBUILD TRIGGER: the trigger is decoded like any instruction, except ONBUILD, FROM and
// MAINTAINER, which BuildKit refuses as triggers.
import type { Instruction } from "../ast.js";
import { fail, readFlags, type DecodeContext } from "../flags.js";
import type { Command, OnbuildCommand } from "./types.js";

export function decodeOnbuild(ctx: DecodeContext, node: Instruction, decode: (n: Instruction) => Command): OnbuildCommand {
  readFlags(ctx, node);
  const t = node.onbuild;
  if (!t) return fail(ctx, "E_PARSE_MISSING_ARGS", "ONBUILD requires at least one argument", node.range, "write ONBUILD INSTRUCTION");
  if (t.kind === "onbuild" || t.kind === "from" || t.kind === "maintainer") {
    fail(ctx, "E_PARSE_ONBUILD", `${t.keyword.text.toUpperCase()} isn't allowed as an ONBUILD trigger`, t.keyword.range, t.kind === "onbuild" ? "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed" : undefined);
  }
  return { kind: "onbuild", node, range: node.range, trigger: decode(t), expression: t.line };
}
