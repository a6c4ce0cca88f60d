// CMD and ENTRYPOINT (shell or exec form) and SHELL (exec form only).
import type { Instruction } from "../ast.js";
import { fail, readFlags, type DecodeContext } from "../flags.js";
import type { CmdCommand, ShellCommand } from "./types.js";

export function decodeCmd(ctx: DecodeContext, node: Instruction, kind: "cmd" | "entrypoint"): CmdCommand {
  readFlags(ctx, node);
  return { kind, node, range: node.range, form: node.json ? "exec" : "shell", args: node.args };
}

export function decodeShell(ctx: DecodeContext, node: Instruction): ShellCommand {
  readFlags(ctx, node);
  if (!node.json) fail(ctx, "E_PARSE_BAD_ARGS", "SHELL requires the arguments to be in JSON form", node.rest.range, 'write SHELL ["/bin/sh", "-c"]');
  if (node.args.length === 0) fail(ctx, "E_PARSE_MISSING_ARGS", "SHELL requires at least one argument", node.range, 'write SHELL ["/bin/sh", "-c"]');
  return { kind: "shell", node, range: node.range, args: node.args };
}
