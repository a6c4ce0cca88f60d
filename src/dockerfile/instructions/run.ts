// RUN [--mount=…]… [--network=…] [--security=…] shell-form | exec-form | heredocs.
import type { Instruction } from "../ast.js";
import { fail, FLAG_SPECS, readFlags, type DecodeContext } from "../flags.js";
import { decodeMount, type Mount } from "./run-mount.js";
import type { RunCommand } from "./types.js";

export function decodeRun(ctx: DecodeContext, node: Instruction): RunCommand {
  const flags = readFlags(ctx, node, FLAG_SPECS.run);
  if (node.args.length === 0 && node.heredocs.length === 0) fail(ctx, "E_PARSE_MISSING_ARGS", "RUN requires at least one argument", node.range, "write RUN COMMAND");
  let ssh = 0;
  const mounts: Mount[] = flags.strings("mount").map((f) => {
    const m = decodeMount(ctx, f, ssh);
    if (m.type === "ssh") ssh++;
    return m;
  });
  const out: { -readonly [K in keyof RunCommand]?: RunCommand[K] } = {
    kind: "run", node, range: node.range, form: node.json ? "exec" : "shell", args: node.args, mounts, heredocs: node.heredocs,
  };
  const net = flags.string("network");
  if (net) {
    if (net.value !== "default" && net.value !== "none" && net.value !== "host") fail(ctx, "E_PARSE_BAD_FLAG", `unsupported network mode "${net.value}"`, net.range, "use default, none or host");
    out.network = net.value;
  }
  const sec = flags.string("security");
  if (sec) {
    if (sec.value !== "sandbox" && sec.value !== "insecure") fail(ctx, "E_PARSE_BAD_FLAG", `unsupported security mode "${sec.value}"`, sec.range, "use sandbox or insecure");
    out.security = sec.value;
  }
  return out as RunCommand;
}
