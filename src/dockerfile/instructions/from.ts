// FROM image [AS name] [--platform=…].
import type { Instruction } from "../ast.js";
import { fail, FLAG_SPECS, readFlags, type DecodeContext } from "../flags.js";
import type { FromCommand } from "./types.js";

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

export function decodeFrom(ctx: DecodeContext, node: Instruction): FromCommand {
  const flags = readFlags(ctx, node, FLAG_SPECS.from);
  const a = node.args;
  if (a.length === 0) fail(ctx, "E_PARSE_MISSING_ARGS", "FROM requires either one or three arguments", node.range, "write FROM IMAGE [AS NAME]");
  if (a.length === 2 || a.length > 3 || (a.length === 3 && a[1]!.value.toLowerCase() !== "as")) {
    fail(ctx, "E_PARSE_BAD_ARGS", "FROM requires either one or three arguments", node.rest.range, "write FROM IMAGE [AS NAME]");
  }
  const out: { -readonly [K in keyof FromCommand]?: FromCommand[K] } = { kind: "from", node, range: node.range, image: a[0]! };
  if (a.length === 3) {
    const name = a[2]!;
    // Names with variables are checked after expansion by the planner.
    if (!name.value.includes("$") && !STAGE_NAME.test(name.value.toLowerCase())) {
      fail(ctx, "E_PARSE_BAD_ARGS", `invalid name for build stage: "${name.value}", name can't start with a number or contain symbols`, name.range, "stage names match [a-z][a-z0-9-_.]*");
    }
    out.stageName = name;
  }
  const platform = flags.string("platform");
  if (platform) out.platform = platform;
  return out as FromCommand;
}
